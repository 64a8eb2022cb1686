"""Data sets: MovieLens readers and downloader, and a MovieLens-like generator.

- :func:`read_movielens_frame` / :func:`load_movielens` read the three rating
  file formats GroupLens has shipped (``u.data``, ``ratings.dat``,
  ``ratings.csv``), detected from the file's first line.
- :func:`fetch_movielens` downloads, verifies (SHA-256) and caches the
  official zips.
- :func:`make_ratings` draws a synthetic explicit data set of any size from a
  planted biased matrix-factorisation model, with Zipf item popularity and
  log-normal user activity, in a parallel Numba kernel.
"""

import hashlib
import logging
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._config import DATA_HOME_ENV
from ._parallel import numba_threads, resolve_n_threads
from ._validation import check_float, check_int, check_random_state, check_value_dtype
from .data import Interactions, index_dtype_for
from .kernels import synthetic_nb

logger = logging.getLogger(__name__)

__all__ = [
    "MOVIELENS_DATASETS",
    "DownloadError",
    "fetch_movielens",
    "get_data_home",
    "load_movielens",
    "make_ratings",
    "max_user_ratings",
    "read_movielens_frame",
]

# =============================================================== MovieLens files

#: Rating file names looked for, in this order, when ``path`` is a directory.
RATINGS_FILES = ("u.data", "ratings.dat", "ratings.csv")
_COLUMNS = ["user", "item", "rating", "timestamp"]
_DTYPES = {"user": np.int64, "item": np.int64, "rating": np.float64, "timestamp": np.int64}
_CSV_HEADER = ["userid", "movieid", "rating", "timestamp"]
_EXPECTED = ("tab-separated 'user item rating timestamp' lines (u.data, u1.base, ...), "
             "'user::item::rating::timestamp' lines (ratings.dat) or CSV with the header "
             "'userId,movieId,rating,timestamp' (ratings.csv)")


def _is_int(text):
    text = text.strip()
    return text.isdigit() or (text[:1] in "+-" and text[1:].isdigit())


def _first_line(path):
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
            if line:
                return line
    raise ValueError(f"{path} is empty; expected {_EXPECTED}.")


def _detect_format(path):
    """``"tab"``, ``"dat"``, ``"csv"`` or ``"csv-noheader"`` from the first line."""
    line = _first_line(path)
    if "::" in line:
        fields = line.split("::")
        if len(fields) == 4 and _is_int(fields[0]) and _is_int(fields[1]):
            return "dat"
    elif "\t" in line:
        fields = line.split("\t")
        if len(fields) == 4 and _is_int(fields[0]) and _is_int(fields[1]):
            return "tab"
    elif "," in line:
        fields = [f.strip() for f in line.split(",")]
        if [f.lower() for f in fields] == _CSV_HEADER:
            return "csv"
        if len(fields) == 4 and _is_int(fields[0]) and _is_int(fields[1]):
            return "csv-noheader"
        missing = [name for name in _CSV_HEADER if name not in [f.lower() for f in fields]]
        if not _is_int(fields[0]) and 0 < len(missing) < len(_CSV_HEADER):  # a header
            raise ValueError(f"{path} is not a MovieLens ratings file: its CSV header {fields} "
                             f"lacks the column(s) {missing}; expected {_EXPECTED}.")
    raise ValueError(f"{path} is not a MovieLens ratings file: its first line is {line[:80]!r}; "
                     f"expected {_EXPECTED}.")


def _ratings_file(path):
    """The ratings file ``path`` names: itself, or a known file in it or one level down."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; expected a MovieLens ratings file "
                                f"or a directory containing one of {RATINGS_FILES}.")
    if not path.is_dir():
        return path
    # Extracted zips put the files one level down (ml-100k/ml-100k/u.data).
    for folder in [path, *sorted(p for p in path.iterdir() if p.is_dir())]:
        for name in RATINGS_FILES:
            if (folder / name).is_file():
                return folder / name
    raise ValueError(f"directory {path} contains none of {RATINGS_FILES} (nor do its "
                     "subdirectories); pass the ratings file itself.")


def read_movielens_frame(path):
    """Read a MovieLens ratings file into a DataFrame.

    The format is detected from the first line, so renamed files and the
    ML-100K splits (``u1.base``, ``ua.test``, ...) work:

    - ``u.data`` (ML-100K): ``user<TAB>item<TAB>rating<TAB>timestamp``, no header;
    - ``ratings.dat`` (ML-1M, ML-10M): ``user::item::rating::timestamp``;
    - ``ratings.csv`` (ML-20M, ML-25M, ml-latest): header
      ``userId,movieId,rating,timestamp``.

    Parameters
    ----------
    path : str or os.PathLike
        A ratings file, or a directory holding ``u.data``, ``ratings.dat`` or
        ``ratings.csv`` (in that order of preference), directly or in a
        subdirectory.

    Returns
    -------
    pandas.DataFrame
        Columns ``user`` (int64), ``item`` (int64), ``rating`` (float64) and
        ``timestamp`` (int64 seconds since the epoch), one row per rating, in
        file order.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        A directory without a ratings file, an unrecognised format, or a line
        that does not parse.
    """
    path = _ratings_file(path)
    fmt = _detect_format(path)
    # The C parser only: engine="python" is ~10x slower on ML-25M. "::" is
    # read as ":" with an empty column between fields, dropped by usecols.
    if fmt == "dat":
        kwargs = {"sep": ":", "header": None, "usecols": [0, 2, 4, 6],
                  "names": ["user", "_a", "item", "_b", "rating", "_c", "timestamp"]}
    elif fmt == "tab":
        kwargs = {"sep": "\t", "header": None, "names": _COLUMNS}
    else:
        kwargs = {"sep": ",", "header": 0 if fmt == "csv" else None, "names": _COLUMNS}
    try:
        frame = pd.read_csv(path, engine="c", dtype=_DTYPES, **kwargs)
    except (ValueError, OverflowError) as exc:  # pandas' ParserError is a ValueError
        raise ValueError(f"{path} looks like a MovieLens {fmt!r} file but does not parse: "
                         f"{exc}") from exc
    if frame.empty:
        raise ValueError(f"{path} has a header but no ratings.")
    return frame[_COLUMNS]


def load_movielens(path, *, dtype=np.float64):
    """Load a MovieLens ratings file as :class:`~fastcf.data.Interactions`.

    Parameters
    ----------
    path : str or os.PathLike
        A ratings file or a directory holding one (see
        :func:`read_movielens_frame` for the formats).
    dtype : {numpy.float32, numpy.float64}
        Dtype of the stored ratings.

    Returns
    -------
    Interactions
        Explicit ratings with timestamps; user and item ids are MovieLens'
        integer ids (sorted).

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`read_movielens_frame`; ValueError also for duplicate
        (user, item) pairs.
    TypeError
        ``dtype`` is not float32 or float64.
    """
    dtype = check_value_dtype(dtype)
    frame = read_movielens_frame(path)
    return Interactions.from_frame(frame, user="user", item="item", rating="rating",
                                   timestamp="timestamp", dtype=dtype)


# ============================================================ MovieLens download

_URL = "https://files.grouplens.org/datasets/movielens/{name}.zip"


class _MovieLensZip(NamedTuple):
    folder: str  # top-level folder inside the zip
    ratings: str  # ratings file inside that folder
    sha256: str | None  # None: only check that the zip opens


#: The downloadable MovieLens data sets. SHA-256 of the official zips as
#: recorded by TensorFlow Datasets' url_checksums/movielens.txt (ml-10m: as
#: pinned by several independent projects next to GroupLens' published MD5).
MOVIELENS_DATASETS = {
    "ml-100k": _MovieLensZip(
        "ml-100k", "u.data",
        "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"),
    "ml-1m": _MovieLensZip(
        "ml-1m", "ratings.dat",
        "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20"),
    "ml-10m": _MovieLensZip(
        "ml-10M100K", "ratings.dat",
        "813c411ccb6122564edfe752e7f80c4dcc5aa25fa94c93622f6877a7ba252862"),
    "ml-20m": _MovieLensZip(
        "ml-20m", "ratings.csv",
        "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3"),
    "ml-25m": _MovieLensZip(
        "ml-25m", "ratings.csv",
        "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa"),
    "ml-latest-small": _MovieLensZip(
        "ml-latest-small", "ratings.csv",
        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436"),
}


class DownloadError(OSError):
    """A data set could not be downloaded (offline, server down, HTTP error)."""


def get_data_home(data_home=None):
    """The cache directory of :func:`fetch_movielens` (created if missing).

    ``data_home`` if given, else the environment variable ``FASTCF_DATA``,
    else ``~/fastcf_data``.
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or Path("~") / "fastcf_data"
    home = Path(data_home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def _download(url, dest):
    """Stream ``url`` into the file ``dest`` (tests replace this function)."""
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=Path(dest).name,
                  disable=None) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_zip(zip_path, expected):
    """Check ``zip_path`` against ``expected`` (or that it opens); remove it if bad."""
    if expected is not None:
        actual = _sha256(zip_path)
        if actual != expected:
            zip_path.unlink()
            raise ValueError(
                f"{zip_path} has SHA-256 {actual}, expected {expected}; the file was corrupt "
                "or is not the official one and has been removed. Call fetch_movielens again "
                f"to download it anew, or put a good copy at {zip_path}."
            )
    if not zipfile.is_zipfile(zip_path):
        zip_path.unlink()
        raise ValueError(f"{zip_path} is not a zip file; it has been removed.")


def fetch_movielens(name="ml-100k", data_home=None, *, dtype=np.float64):
    """Download (once) a MovieLens data set from GroupLens and load its ratings.

    The zip ``https://files.grouplens.org/datasets/movielens/{name}.zip`` is
    downloaded into the cache directory, its SHA-256 checked against the
    value pinned in :data:`MOVIELENS_DATASETS`, extracted there, and removed.
    Later calls find the extracted ratings file and do not download again. A
    zip put in the cache directory by hand (``<data_home>/<name>.zip``) is
    verified and used instead of downloading. Every known data set has a
    pinned checksum; a data set registered with ``sha256=None`` would only be
    checked to open as a zip.

    Please respect the GroupLens licence (research use, no redistribution),
    given in the README of each zip.

    Parameters
    ----------
    name : {"ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-latest-small"}
    data_home : str or os.PathLike, optional
        Cache directory; default ``$FASTCF_DATA``, else ``~/fastcf_data``.
    dtype : {numpy.float32, numpy.float64}
        Dtype of the stored ratings.

    Returns
    -------
    Interactions
        As :func:`load_movielens` of the extracted ratings file.

    Raises
    ------
    ValueError
        Unknown ``name``; checksum mismatch (the bad zip is removed).
    DownloadError
        The download failed (for example offline); the message says where to
        put a zip fetched by other means. A subclass of OSError.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    if name not in MOVIELENS_DATASETS:
        raise ValueError(f"name == {name!r}, must be one of {tuple(MOVIELENS_DATASETS)}.")
    dtype = check_value_dtype(dtype)
    spec = MOVIELENS_DATASETS[name]
    home = get_data_home(data_home)
    ratings = home / spec.folder / spec.ratings
    if not ratings.is_file():
        zip_path = home / f"{name}.zip"
        if not zip_path.is_file():
            url = _URL.format(name=name)
            partial = home / f"{name}.zip.part"
            logger.info("downloading %s to %s", url, zip_path)
            try:
                _download(url, partial)
            except (urllib.error.URLError, OSError) as exc:
                partial.unlink(missing_ok=True)
                raise DownloadError(
                    f"could not download {url} ({exc}). You seem to be offline or the server "
                    f"is unreachable: download the zip by other means and put it at {zip_path}, "
                    "then call fetch_movielens again."
                ) from exc
            partial.replace(zip_path)
        _verify_zip(zip_path, spec.sha256)
        _extract(zip_path, home, spec.folder)
        zip_path.unlink()
        if not ratings.is_file():
            raise ValueError(f"{zip_path} did not contain {spec.folder}/{spec.ratings}.")
    return load_movielens(ratings, dtype=dtype)


def _extract(zip_path, home, folder):
    """Extract into a scratch directory first, so a half-extracted folder never
    passes for a cached one."""
    scratch = home / f".{folder}.extracting"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(scratch)  # extractall drops absolute paths and ".." parts
        target = home / folder
        if (scratch / folder).is_dir():
            shutil.rmtree(target, ignore_errors=True)
            (scratch / folder).replace(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ======================================================== synthetic ratings

# Planted model, tuned so the rating histogram resembles MovieLens 100K
# (about 6/11/27/34/21 % of 1..5 stars, mean 3.53, std 1.13); these give
# about 4/14/29/31/22 %, mean 3.52, std 1.11 at noise=0.5, for any shape.
RATING_MEAN = 3.65
USER_BIAS_SD = 0.5
ITEM_BIAS_SD = 0.5
#: Item bias added per standard deviation of log-popularity (under the
#: popularity distribution): popular items are rated higher, as in MovieLens.
POPULARITY_BIAS = 0.15
#: Variance of the interaction term ``p_u . q_i`` (split evenly over factors).
FACTOR_VARIANCE = 0.7
#: sigma of the log-normal user activity.
ACTIVITY_SIGMA = 1.0
#: Popularity draws per entry before the uniform fallback.
MAX_TRIES = 16
#: Timestamps: users start between these (1996-01-01 .. 2019-01-01 UTC) and
#: stay active for a log-normal time (median 30 days), clipped to the window.
TIME_WINDOW = (820_454_400, 1_546_300_800)
ACTIVE_MEDIAN_SECONDS = 30 * 86_400
ACTIVE_SIGMA = 2.0


class _RatingsPlan(NamedTuple):
    """Everything the kernel needs, drawn from the Generator in a fixed order."""

    key: np.uint64
    indptr: np.ndarray
    cdf: np.ndarray
    guide: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    user_bias: np.ndarray
    item_bias: np.ndarray
    mu: float
    noise: float
    t_start: np.ndarray
    t_active: np.ndarray
    with_times: bool
    dtype: np.dtype


def max_user_ratings(n_items):
    """Most ratings one user may get from :func:`make_ratings`: ``max(1, n_items // 2)``."""
    return max(1, n_items // 2)


def _user_counts(rng, n_users, n_ratings, cap):
    """Log-normal activity scaled to sum to ``n_ratings``, each in ``[1, cap]``.

    Every user gets 1, and the rest is shared in proportion to the weights
    (water-filling: users whose share would pass the cap are set to it and the
    rest re-shared), rounded by largest remainder so the sum is exact.
    """
    weights = rng.lognormal(0.0, ACTIVITY_SIGMA, n_users)
    counts = np.ones(n_users, dtype=np.int64)
    room = cap - 1
    remaining = n_ratings - n_users
    free = np.ones(n_users, dtype=bool)
    share = np.zeros(0)
    while remaining > 0:
        w = weights[free]
        share = remaining * (w / w.sum())
        over = share >= room
        if not over.any():
            break
        capped = np.flatnonzero(free)[over]
        counts[capped] += room
        remaining -= room * len(capped)
        free[capped] = False
    if remaining > 0:
        whole = np.floor(share).astype(np.int64)
        left = remaining - int(whole.sum())
        order = np.argsort(-(share - whole), kind="stable")[:left]
        whole[order] += 1
        counts[free] += whole
    return counts


def _plan_ratings(n_users, n_items, n_ratings, rank, noise, zipf, timestamps, dtype, seed):
    """Validate the arguments of :func:`make_ratings` and draw the planted model."""
    n_users = check_int("n_users", n_users, min_value=1)
    n_items = check_int("n_items", n_items, min_value=1)
    n_ratings = check_int("n_ratings", n_ratings, min_value=1)
    cap = max_user_ratings(n_items)
    if n_ratings < n_users:
        raise ValueError(f"n_ratings == {n_ratings}, must be >= n_users == {n_users} "
                         "(every user rates at least one item).")
    if n_ratings > n_users * cap:
        raise ValueError(f"n_ratings == {n_ratings}, must be <= n_users * max(1, n_items // 2)"
                         f" == {n_users * cap} (a user rates at most half the items).")
    rank = check_int("rank", rank, min_value=1)
    noise = check_float("noise", noise, min_value=0.0)
    zipf = check_float("zipf", zipf, min_value=0.0)
    if not isinstance(timestamps, bool | np.bool_):
        raise TypeError(f"timestamps must be a bool, got {type(timestamps).__name__}.")
    timestamps = bool(timestamps)
    dtype = check_value_dtype(dtype)
    rng = check_random_state(seed)

    # Fixed draw order: the ratings do not depend on ``timestamps``.
    key = rng.integers(np.iinfo(np.uint64).max, dtype=np.uint64, endpoint=True)
    counts = _user_counts(rng, n_users, n_ratings, cap)
    index_dtype = index_dtype_for(n_users, n_items, n_ratings)
    indptr = np.zeros(n_users + 1, dtype=index_dtype)
    np.cumsum(counts, out=indptr[1:])

    # Popularity rank r (1 = most popular) is a random permutation of the
    # item ids, so popularity is not the id order.
    pop_rank = rng.permutation(n_items) + 1.0
    log_weight = -zipf * np.log(pop_rank)
    weights = np.exp(log_weight - log_weight.max())
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    cdf[-1] = 1.0  # so every uniform draw in [0, 1) lands on an item
    guide = np.searchsorted(cdf, np.arange(n_items) / n_items, side="right").astype(np.int64)

    user_bias = rng.normal(0.0, USER_BIAS_SD, n_users)
    item_bias = rng.normal(0.0, ITEM_BIAS_SD, n_items)
    # Standardised under the popularity distribution itself, so that the
    # shift of the *rated* items averages 0 whatever n_items and zipf are.
    p = weights / weights.sum()
    centred = log_weight - p @ log_weight
    spread = np.sqrt(p @ centred**2)
    if spread > 0:
        item_bias += POPULARITY_BIAS * centred / spread
    scale = (FACTOR_VARIANCE / rank) ** 0.25
    user_factors = rng.normal(0.0, scale, (n_users, rank))
    item_factors = rng.normal(0.0, scale, (n_items, rank))

    lo, hi = TIME_WINDOW
    t_start = rng.integers(lo, hi, n_users, dtype=np.int64)
    t_active = rng.lognormal(np.log(ACTIVE_MEDIAN_SECONDS), ACTIVE_SIGMA, n_users)
    t_active = np.minimum(t_active, (hi - t_start).astype(np.float64))
    return _RatingsPlan(key, indptr, cdf, guide, user_factors, item_factors, user_bias,
                        item_bias, RATING_MEAN, noise, t_start, t_active, bool(timestamps), dtype)


def _fill(plan, kernel, n_blocks):
    """Run ``kernel`` (Numba or reference) on ``plan``; return indices, values, times."""
    nnz = int(plan.indptr[-1])
    n_items = len(plan.cdf)
    indices = np.empty(nnz, dtype=plan.indptr.dtype)
    values = np.empty(nnz, dtype=plan.dtype)
    times = np.empty(nnz if plan.with_times else 0, dtype=np.int64)
    stamps = np.full((n_blocks, n_items), -1, dtype=plan.indptr.dtype)  # user ids fit
    kernel(plan.key, plan.indptr, plan.cdf, plan.guide, MAX_TRIES, plan.user_factors,
           plan.item_factors, plan.user_bias, plan.item_bias, plan.mu, plan.noise,
           plan.t_start, plan.t_active, plan.with_times, stamps, indices, values, times)
    return indices, values, (times if plan.with_times else None)


def make_ratings(n_users=1000, n_items=500, n_ratings=20_000, *, rank=10, noise=0.5, zipf=1.0,
                 timestamps=False, dtype=np.float64, seed=0, n_threads=None):
    r"""A MovieLens-like synthetic explicit data set with a planted model.

    Each user :math:`u` rates :math:`n_u` distinct items. The activities
    :math:`n_u` are log-normal (:math:`\sigma = 1`), scaled to sum to
    ``n_ratings``, each between 1 and ``max(1, n_items // 2)``. Items are
    drawn without replacement with probability proportional to
    :math:`1 / r_i^{s}`, where :math:`r_i` is the item's popularity rank (a
    random permutation of the ids) and :math:`s` is ``zipf``; after 16 draws
    that hit items the user already has, the next free item after a uniform
    draw is taken instead, which bounds the work of heavy users. The rating is

    .. math::

        r_{ui} = \operatorname{clip}_{[1, 5]} \operatorname{round}\left(
            \mu + b_u + b_i + p_u^\top q_i + \text{noise} \cdot \varepsilon_{ui}
        \right), \qquad \varepsilon_{ui} \sim N(0, 1)

    with :math:`\mu = 3.65`, :math:`b_u \sim N(0, 0.5^2)`,
    :math:`b_i \sim N(0, 0.5^2)` plus 0.15 times the item's log-popularity
    standardised under the popularity distribution (popular items are rated
    higher, yet the mean rating does not move with ``n_items``), and
    :math:`p_u, q_i \sim N(0, \sqrt{0.7 / k}\, I_k)` (so
    :math:`\operatorname{Var}(p_u^\top q_i) \approx 0.7`). With the default
    noise about 4/14/29/31/22 % of the ratings are 1..5 stars (mean 3.52,
    std 1.11); MovieLens 100K has 6/11/27/34/21 % (mean 3.53, std 1.13).

    The biases, factors, activities and popularity ranks are drawn with
    ``numpy.random.default_rng(seed)``; the per-rating draws use a
    counter-based generator keyed by (seed, user), so the result is the same
    for every ``n_threads``.

    Parameters
    ----------
    n_users, n_items : int
        At least 1. Every user has at least one rating; items may have none.
    n_ratings : int
        Exact number of distinct (user, item) pairs, between ``n_users`` and
        ``n_users * max(1, n_items // 2)``.
    rank : int
        Number of latent factors :math:`k`, at least 1.
    noise : float
        Standard deviation of the Gaussian noise before rounding, >= 0.
    zipf : float
        Popularity exponent :math:`s >= 0`; 0 is uniform, 1 is MovieLens-like.
    timestamps : bool
        Also draw timestamps: int64 seconds between 1996 and 2019; each user
        starts at a uniform time and stays active for a log-normal period
        (median 30 days), most ratings falling early in it.
    dtype : {numpy.float32, numpy.float64}
        Dtype of the ratings.
    seed : int, numpy.random.Generator or None
        Same seed, same data set (on any machine with the same numpy).
    n_threads : int or None
        scikit-learn's meaning; the result does not depend on it.

    Returns
    -------
    Interactions
        ``n_users`` x ``n_items``, ``n_ratings`` explicit ratings, integers
        1..5 in ``dtype``; ids are ``arange(n_users)`` and ``arange(n_items)``;
        ``timestamps`` of shape (n_ratings,) int64 or None.

    Raises
    ------
    TypeError
        A count, ``rank``, ``noise`` or ``zipf`` of the wrong type, ``timestamps``
        not a bool, ``dtype`` not float32/float64, a bad ``seed`` or ``n_threads``.
    ValueError
        Counts below 1, ``n_ratings`` out of its range, ``noise`` or ``zipf``
        negative or not finite, ``n_threads`` 0 or below -1.

    Examples
    --------
    >>> data = make_ratings(200, 100, 2_000, seed=1)
    >>> data.nnz, data.n_users, data.n_items
    (2000, 200, 100)
    """
    plan = _plan_ratings(n_users, n_items, n_ratings, rank, noise, zipf, timestamps, dtype, seed)
    n_threads = resolve_n_threads(n_threads)
    with numba_threads(n_threads) as n:
        n_blocks = max(1, min(n, len(plan.indptr) - 1))
        indices, values, times = _fill(plan, synthetic_nb.generate_ratings, n_blocks)
    n_users, n_items = len(plan.indptr) - 1, len(plan.cdf)
    return Interactions(plan.indptr, indices, values, np.arange(n_users), np.arange(n_items),
                        times, implicit=False)

