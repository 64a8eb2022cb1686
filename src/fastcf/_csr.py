"""Small CSR helpers of the models (rows gathered, restricted to columns, emptied)."""

import numpy as np


def _empty_csr(n_rows):
    return np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)


def _is_range(rows):
    """Whether ``rows`` is ``first, first + 1, ..., last`` (all >= 0, at least one)."""
    return (len(rows) > 0 and rows[0] >= 0 and rows[-1] - rows[0] == len(rows) - 1
            and bool(np.all(np.diff(rows) == 1)))


def take_rows(indptr, rows, *arrays, valid=None):
    """Rows of a CSR: ``(new indptr, *each per-entry array gathered)``, all indices int64.

    ``valid`` (bool per row asked): rows where it is False come out empty.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    rows = np.asarray(rows) if valid is None else np.where(valid, rows, 0)
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    if valid is not None:
        counts = np.where(valid, counts, 0)
    out = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    positions = np.repeat(starts - out[:-1], counts) + np.arange(out[-1])
    gathered = [np.asarray(a)[positions] for a in arrays]
    return (out, *(g.astype(np.int64) if g.dtype.kind in "iu" else g for g in gathered))


def kept_indptr(indptr, keep):
    """The indptr of a CSR after dropping the entries where ``keep`` (per entry) is False."""
    kept = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept[1:])
    return kept[indptr]


def within_columns(indptr, indices, columns, *arrays):
    """A CSR restricted to ``columns`` (sorted): ``(indptr, indices as positions in
    columns, *each per-entry array of arrays kept)``; rows keep their entries' order."""
    at = np.searchsorted(columns, indices)
    hit = at < len(columns)
    hit[hit] = columns[at[hit]] == indices[hit]
    return (kept_indptr(indptr, hit), at[hit].astype(np.int64),
            *(np.asarray(a)[hit] for a in arrays))
