"""Looking at the first lines of a text file (plain or gzip) before parsing it."""

import csv
import gzip

#: The first bytes of a gzip stream.
GZIP_MAGIC = b"\x1f\x8b"
#: The separator that stands for runs of whitespace (pandas' spelling).
WHITESPACE = r"\s+"
#: Separators tried, in this order, when none is given.
SEPARATORS = ("\t", ",", ";", "|", "::", WHITESPACE)


def is_int(text):
    """True if ``text`` is an optionally signed run of decimal digits."""
    text = text.strip()
    return text.isdigit() or (text[:1] in "+-" and text[1:].isdigit())


def is_number(text):
    """True if ``text`` parses as a finite or infinite float (ints included)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def is_gzip(path):
    """True if ``path`` starts with gzip's magic bytes."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def head_lines(path, n, *, compressed=False):
    """Up to ``n`` non-blank lines from the start of ``path``, stripped, BOM removed.

    Lines are decoded as UTF-8 (undecodable bytes replaced), which is enough
    to recognise separators, headers and numbers.
    """
    opener = gzip.open if compressed else open
    lines = []
    with opener(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
            if line:
                lines.append(line)
                if len(lines) == n:
                    break
    return lines


def show_sep(sep):
    """``sep`` for a message: tab, space, whitespace, or its repr."""
    return {"\t": "tab", " ": "space", WHITESPACE: "whitespace"}.get(sep, repr(sep))


def split_fields(line, sep):
    """The fields of ``line`` (quotes respected for one-character separators)."""
    if sep == WHITESPACE:
        return line.split()
    if len(sep) > 1:
        return line.split(sep)
    return next(csv.reader([line], delimiter=sep))


def sniff_sep(lines, path):
    """The first separator that splits every line alike, else the first that splits the
    first line as at least half the lines (a malformed line is then reported by the parser)."""
    counts = {sep: [len(split_fields(line, sep)) for line in lines] for sep in SEPARATORS}
    for sep, found in counts.items():
        if found[0] >= 2 and len(set(found)) == 1:
            return sep
    for sep, found in counts.items():
        if found[0] >= 2 and 2 * found.count(found[0]) >= len(found):
            return sep
    raise ValueError(f"{path}: no separator splits its first lines into the same number "
                     f"(>= 2) of fields (tried {', '.join(show_sep(s) for s in SEPARATORS)}); "
                     "pass sep=.")
