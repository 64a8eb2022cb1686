"""Looking at the first lines of a text file (plain or gzip) before parsing it."""

import gzip

#: The first bytes of a gzip stream.
GZIP_MAGIC = b"\x1f\x8b"


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
