"""Tests of fastcf.datasets: MovieLens readers, the downloader (never on the
network) and the synthetic generator (Numba kernel held to its reference twin).
The general reader has its own file, test_reader.py."""

import hashlib
import urllib.error
import zipfile

import numpy as np
import pandas as pd
import pytest

from fastcf import datasets as ds
from fastcf._config import DATA_HOME_ENV
from fastcf.data import Interactions
from fastcf.datasets import movielens, synthetic
from fastcf.kernels import synthetic_nb
from fastcf.reference import synthetic as synthetic_ref

# ------------------------------------------------------------------ fixtures

ROWS = [  # user, item, rating, timestamp
    (1, 10, 5.0, 881250949),
    (1, 20, 3.0, 881250950),
    (2, 10, 4.0, 891717742),
    (3, 30, 1.0, 878887116),
    (3, 10, 2.0, 880606923),
]
HALF_STARS = [(u, i, r - 0.5 if k % 2 else r, t) for k, (u, i, r, t) in enumerate(ROWS)]


def tab_text(rows=ROWS):
    return "".join(f"{u}\t{i}\t{int(r)}\t{t}\n" for u, i, r, t in rows)


def dat_text(rows=HALF_STARS):
    return "".join(f"{u}::{i}::{r:g}::{t}\n" for u, i, r, t in rows)


def csv_text(rows=HALF_STARS):
    return "userId,movieId,rating,timestamp\n" + "".join(
        f"{u},{i},{r:.1f},{t}\n" for u, i, r, t in rows)


def expected_frame(rows):
    return pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"]).astype(
        {"user": np.int64, "item": np.int64, "rating": np.float64, "timestamp": np.int64})


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test runs offline: a real download attempt fails the test."""
    def refuse(url, dest):
        raise AssertionError(f"test tried to download {url}")
    monkeypatch.setattr(movielens, "_download", refuse)


# ------------------------------------------------------------ MovieLens files

@pytest.mark.parametrize("name, text, rows", [
    ("u.data", tab_text(), ROWS),
    ("u1.base", tab_text(), ROWS),
    ("ratings.dat", dat_text(), HALF_STARS),
    ("ratings.csv", csv_text(), HALF_STARS),
    ("no_suffix", csv_text(), HALF_STARS),
    ("ratings.csv", tab_text(), ROWS),  # content wins over the name
])
def test_read_movielens_frame_formats(tmp_path, name, text, rows):
    frame = ds.read_movielens_frame(write(tmp_path / name, text))
    pd.testing.assert_frame_equal(frame, expected_frame(rows))


def test_read_headerless_csv(tmp_path):
    text = "".join(f"{u},{i},{r},{t}\n" for u, i, r, t in ROWS)
    frame = ds.read_movielens_frame(write(tmp_path / "x.csv", text))
    pd.testing.assert_frame_equal(frame, expected_frame(ROWS))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_load_movielens(tmp_path, dtype):
    data = ds.load_movielens(write(tmp_path / "ratings.dat", dat_text()), dtype=dtype)
    assert isinstance(data, Interactions)
    assert (data.n_users, data.n_items, data.nnz) == (3, 3, 5)
    assert data.dtype == dtype and not data.implicit
    frame = data.to_frame().sort_values(["user", "item"]).reset_index(drop=True)
    want = expected_frame(HALF_STARS).sort_values(["user", "item"]).reset_index(drop=True)
    np.testing.assert_array_equal(frame["user"], want["user"])
    np.testing.assert_array_equal(frame["item"], want["item"])
    np.testing.assert_array_equal(frame["rating"], want["rating"])
    np.testing.assert_array_equal(frame["timestamp"], want["timestamp"])


def test_directory_and_preference(tmp_path):
    write(tmp_path / "ratings.csv", csv_text())
    write(tmp_path / "u.data", tab_text())
    frame = ds.read_movielens_frame(tmp_path)  # u.data comes first
    pd.testing.assert_frame_equal(frame, expected_frame(ROWS))


def test_directory_one_level_down(tmp_path):
    write(tmp_path / "ml-10M100K" / "ratings.dat", dat_text())
    data = ds.load_movielens(tmp_path)
    assert data.nnz == len(HALF_STARS)


def test_file_not_mutated(tmp_path):
    path = write(tmp_path / "u.data", tab_text())
    before = path.read_bytes()
    ds.load_movielens(path)
    assert path.read_bytes() == before


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ds.load_movielens(tmp_path / "nope.data")


def test_directory_without_ratings(tmp_path):
    write(tmp_path / "sub" / "u.item", "1|Toy Story\n")
    with pytest.raises(ValueError, match=r"contains none of \('u.data'"):
        ds.load_movielens(tmp_path)


@pytest.mark.parametrize("text", [
    "1|Toy Story (1995)|01-Jan-1995\n",  # u.item, not ratings
    "user item rating timestamp\n",
    "1\t2\t3\n",  # three tab fields
    "userId,movieId,tag,timestamp\n",  # tags.csv
])
def test_unrecognised_format(tmp_path, text):
    path = write(tmp_path / "u.data", text)
    with pytest.raises(ValueError, match=r"u\.data is not a MovieLens ratings file.*expected"):
        ds.read_movielens_frame(path)


@pytest.mark.parametrize("name, text", [
    ("u.data", tab_text() + "4\t40\tfive\t881250949\n"),
    ("ratings.dat", dat_text() + "4::40::5\n"),
    ("ratings.csv", csv_text() + "4,40,5.0,1,extra\n"),
])
def test_malformed_line(tmp_path, name, text):
    with pytest.raises(ValueError, match="does not parse"):
        ds.read_movielens_frame(write(tmp_path / name, text))


def test_empty_files(tmp_path):
    with pytest.raises(ValueError, match="is empty"):
        ds.read_movielens_frame(write(tmp_path / "u.data", "\n\n"))
    with pytest.raises(ValueError, match="no ratings"):
        ds.read_movielens_frame(write(tmp_path / "ratings.csv", csv_text(rows=[])))


def test_load_movielens_bad_dtype(tmp_path):
    with pytest.raises(TypeError, match="dtype == int32, must be float32 or float64"):
        ds.load_movielens(write(tmp_path / "u.data", tab_text()), dtype=np.int32)


# ------------------------------------------------------------ fetch_movielens

def make_zip(path, folder, name, text):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{folder}/{name}", text)
        zf.writestr(f"{folder}/README", "research use only\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_100k(tmp_path, monkeypatch):
    """A fake ml-100k zip with its real checksum put in the table."""
    source = tmp_path / "source.zip"
    digest = make_zip(source, "ml-100k", "u.data", tab_text())
    monkeypatch.setitem(ds.MOVIELENS_DATASETS, "ml-100k",
                        movielens._MovieLensZip("ml-100k", "u.data", digest))
    return source


def serve(monkeypatch, source, calls):
    def fake_download(url, dest):
        calls.append(url)
        with open(dest, "wb") as out:
            out.write(source.read_bytes())
    monkeypatch.setattr(movielens, "_download", fake_download)


def test_fetch_downloads_verifies_extracts_then_caches(tmp_path, monkeypatch, fake_100k):
    calls = []
    serve(monkeypatch, fake_100k, calls)
    home = tmp_path / "home"
    data = ds.fetch_movielens("ml-100k", data_home=home)
    assert calls == ["https://files.grouplens.org/datasets/movielens/ml-100k.zip"]
    assert data.nnz == len(ROWS) and data.timestamps is not None
    assert (home / "ml-100k" / "u.data").is_file()
    assert (home / "ml-100k" / "README").is_file()
    assert not (home / "ml-100k.zip").exists() and not (home / "ml-100k.zip.part").exists()
    again = ds.fetch_movielens("ml-100k", data_home=home)  # cached: no second download
    assert calls == calls[:1]
    np.testing.assert_array_equal(again.ratings, data.ratings)


def test_fetch_uses_cached_files(tmp_path):
    write(tmp_path / "ml-1m" / "ratings.dat", dat_text())
    data = ds.fetch_movielens("ml-1m", data_home=tmp_path, dtype=np.float32)
    assert data.nnz == len(HALF_STARS) and data.dtype == np.float32


def test_fetch_data_home_from_environment(tmp_path, monkeypatch):
    write(tmp_path / "env" / "ml-25m" / "ratings.csv", csv_text())
    monkeypatch.setenv(DATA_HOME_ENV, str(tmp_path / "env"))
    assert ds.fetch_movielens("ml-25m").nnz == len(HALF_STARS)


def test_fetch_uses_zip_put_by_hand(tmp_path, fake_100k):
    (tmp_path / "ml-100k.zip").write_bytes(fake_100k.read_bytes())
    assert ds.fetch_movielens("ml-100k", data_home=tmp_path).nnz == len(ROWS)


def test_fetch_folder_differs_from_name(tmp_path, monkeypatch):
    source = tmp_path / "source.zip"
    digest = make_zip(source, "ml-10M100K", "ratings.dat", dat_text())
    monkeypatch.setitem(ds.MOVIELENS_DATASETS, "ml-10m",
                        movielens._MovieLensZip("ml-10M100K", "ratings.dat", digest))
    serve(monkeypatch, source, [])
    data = ds.fetch_movielens("ml-10m", data_home=tmp_path / "home")
    assert data.nnz == len(HALF_STARS)


def test_fetch_checksum_mismatch_removes_file(tmp_path, monkeypatch, fake_100k):
    good = ds.MOVIELENS_DATASETS["ml-100k"].sha256
    actual = hashlib.sha256(fake_100k.read_bytes()).hexdigest()
    monkeypatch.setitem(ds.MOVIELENS_DATASETS, "ml-100k",
                        movielens._MovieLensZip("ml-100k", "u.data", "0" * 64))
    serve(monkeypatch, fake_100k, [])
    with pytest.raises(ValueError, match=f"SHA-256 {actual}, expected {'0' * 64}.*removed"):
        ds.fetch_movielens("ml-100k", data_home=tmp_path)
    assert good == actual
    assert not (tmp_path / "ml-100k.zip").exists()
    assert not (tmp_path / "ml-100k").exists()


def test_fetch_without_checksum_checks_the_zip_opens(tmp_path, monkeypatch):
    monkeypatch.setitem(ds.MOVIELENS_DATASETS, "ml-100k",
                        movielens._MovieLensZip("ml-100k", "u.data", None))
    bad = write(tmp_path / "bad.zip", "<html>not found</html>")
    serve(monkeypatch, bad, [])
    with pytest.raises(ValueError, match="not a zip file"):
        ds.fetch_movielens("ml-100k", data_home=tmp_path / "home")
    assert not (tmp_path / "home" / "ml-100k.zip").exists()


def test_fetch_offline(tmp_path, monkeypatch):
    def offline(url, dest):
        with open(dest, "wb") as f:
            f.write(b"partial")
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(movielens, "_download", offline)
    zip_path = tmp_path / "ml-20m.zip"
    with pytest.raises(ds.DownloadError, match="could not download https://files.grouplens"
                       r".*ml-20m\.zip.*offline.*put it at") as info:
        ds.fetch_movielens("ml-20m", data_home=tmp_path)
    assert isinstance(info.value, OSError) and str(zip_path) in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_fetch_bad_name():
    with pytest.raises(ValueError, match=r"name == 'ml-5m', must be one of \('ml-100k'"):
        ds.fetch_movielens("ml-5m")
    with pytest.raises(TypeError, match="name must be a str"):
        ds.fetch_movielens(100)


def test_checksum_table_is_complete():
    for name, spec in ds.MOVIELENS_DATASETS.items():
        assert name.startswith("ml-") and spec.ratings in ds.RATINGS_FILES
        assert spec.sha256 is None or len(spec.sha256) == 64


# ------------------------------------------------------------- make_ratings

def check_canonical(data, n_users, n_items, n_ratings):
    indptr, indices, values, shape = data.by_user
    assert shape == (n_users, n_items) and data.nnz == n_ratings
    assert indptr[0] == 0 and indptr[-1] == n_ratings and np.all(np.diff(indptr) >= 1)
    assert indices.min() >= 0 and indices.max() < n_items
    users = data.entry_users()
    keys = users.astype(np.int64) * n_items + indices
    assert np.all(np.diff(keys) > 0)  # sorted by user then item, no duplicate pair
    assert np.all(np.diff(indptr) <= ds.max_user_ratings(n_items))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_make_ratings_shape_and_values(dtype):
    data = ds.make_ratings(300, 120, 4_000, dtype=dtype, seed=3)
    check_canonical(data, 300, 120, 4_000)
    assert data.dtype == dtype and data.by_user.indices.dtype == np.int32
    assert data.by_user.indptr.dtype == np.int32
    assert data.timestamps is None and not data.implicit
    np.testing.assert_array_equal(data.user_ids, np.arange(300))
    np.testing.assert_array_equal(data.item_ids, np.arange(120))
    ratings = data.ratings
    assert np.all(ratings == np.round(ratings)) and set(np.unique(ratings)) == {1, 2, 3, 4, 5}
    # The canonical builder agrees: the constructor was handed canonical arrays.
    rebuilt = Interactions.from_arrays(data.entry_users(), data.by_user.indices, ratings,
                                       dtype=dtype)
    np.testing.assert_array_equal(rebuilt.by_user.indptr, data.by_user.indptr)
    np.testing.assert_array_equal(rebuilt.by_user.indices, data.by_user.indices)
    np.testing.assert_array_equal(rebuilt.by_user.data, ratings)


def test_make_ratings_looks_like_movielens():
    data = ds.make_ratings(2_000, 1_000, 60_000, seed=0)
    shares = np.bincount(data.ratings.astype(int), minlength=6)[1:] / data.nnz
    assert np.all(shares > 0.02) and shares.argmax() in (2, 3, 4)
    assert 3.3 < data.global_mean < 3.8 and 0.9 < data.ratings.std() < 1.3
    counts = np.sort(data.item_counts())[::-1]
    top = counts[: len(counts) // 10].sum() / data.nnz
    assert top > 0.35  # Zipf: the top 10 % of items hold a large share
    flat = ds.make_ratings(2_000, 1_000, 60_000, zipf=0.0, seed=0)
    flat_counts = np.sort(flat.item_counts())[::-1]
    assert flat_counts[:100].sum() / flat.nnz < 0.15
    # Popularity is not the id order.
    assert set(np.argsort(data.item_counts())[-10:]) != set(range(10))
    users = data.user_counts()
    assert users.min() >= 1 and users.max() > 4 * np.median(users)  # log-normal activity


def test_make_ratings_timestamps():
    plain = ds.make_ratings(200, 80, 2_500, seed=5)
    timed = ds.make_ratings(200, 80, 2_500, seed=5, timestamps=True)
    assert timed.timestamps.dtype == np.int64 and timed.timestamps.shape == (2_500,)
    lo, hi = ds.TIME_WINDOW
    assert timed.timestamps.min() >= lo and timed.timestamps.max() <= hi
    assert len(np.unique(timed.timestamps)) > 2_000
    np.testing.assert_array_equal(plain.by_user.indices, timed.by_user.indices)
    np.testing.assert_array_equal(plain.ratings, timed.ratings)


def test_make_ratings_reproducible_and_seeded():
    a = ds.make_ratings(100, 50, 1_000, seed=11, timestamps=True)
    b = ds.make_ratings(100, 50, 1_000, seed=11, timestamps=True)
    c = ds.make_ratings(100, 50, 1_000, seed=12, timestamps=True)
    g = ds.make_ratings(100, 50, 1_000, seed=np.random.default_rng(11), timestamps=True)
    for x in (b, g):
        np.testing.assert_array_equal(a.by_user.indptr, x.by_user.indptr)
        np.testing.assert_array_equal(a.by_user.indices, x.by_user.indices)
        np.testing.assert_array_equal(a.ratings, x.ratings)
        np.testing.assert_array_equal(a.timestamps, x.timestamps)
    assert not np.array_equal(a.by_user.indices, c.by_user.indices)
    assert not np.array_equal(a.ratings, c.ratings)


def test_make_ratings_same_for_any_thread_count():
    one = ds.make_ratings(500, 200, 12_000, seed=2, timestamps=True, n_threads=1)
    two = ds.make_ratings(500, 200, 12_000, seed=2, timestamps=True, n_threads=2)
    np.testing.assert_array_equal(one.by_user.indptr, two.by_user.indptr)
    np.testing.assert_array_equal(one.by_user.indices, two.by_user.indices)
    np.testing.assert_array_equal(one.ratings, two.ratings)
    np.testing.assert_array_equal(one.timestamps, two.timestamps)


def run_both(n_users, n_items, n_ratings, n_blocks, **kwargs):
    args = {"rank": 4, "noise": 0.5, "zipf": 1.0, "timestamps": True, "dtype": np.float64,
            "seed": 7, **kwargs}
    plan = synthetic._plan_ratings(n_users, n_items, n_ratings, args["rank"], args["noise"],
                            args["zipf"], args["timestamps"], args["dtype"], args["seed"])
    return (synthetic._fill(plan, synthetic_nb.generate_ratings, n_blocks),
            synthetic._fill(plan, synthetic_ref.generate_ratings, 1))


@pytest.mark.parametrize("n_users, n_items, n_ratings, n_blocks, kwargs", [
    (40, 30, 300, 1, {}),
    (40, 30, 300, 3, {"dtype": np.float32, "timestamps": False}),
    (6, 10, 30, 2, {"zipf": 4.0}),  # every user at the cap: the fallback runs
    (50, 200, 1_500, 2, {"zipf": 0.0, "noise": 0.0, "rank": 1}),
    (5, 1, 5, 2, {}),  # a single item
])
def test_kernel_matches_reference(n_users, n_items, n_ratings, n_blocks, kwargs):
    fast, slow = run_both(n_users, n_items, n_ratings, n_blocks, **kwargs)
    for got, want in zip(fast, slow):
        if want is None:
            assert got is None
        else:
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_fallback_keeps_items_distinct():
    # zipf=6 puts nearly all mass on a few items, so heavy users need the fallback.
    data = ds.make_ratings(20, 40, 400, zipf=6.0, seed=4)
    check_canonical(data, 20, 40, 400)
    assert np.all(data.user_counts() == 20)


def test_kernel_does_not_mutate_plan():
    plan = synthetic._plan_ratings(30, 20, 200, 3, 0.5, 1.0, True, np.float64, 0)
    copies = [np.copy(x) if isinstance(x, np.ndarray) else x for x in plan]
    synthetic._fill(plan, synthetic_nb.generate_ratings, 2)
    for before, after in zip(copies, plan):
        if isinstance(before, np.ndarray):
            np.testing.assert_array_equal(before, after)


def test_make_ratings_outputs_read_only():
    data = ds.make_ratings(20, 10, 50, seed=0)
    with pytest.raises(ValueError, match="read-only"):
        data.by_user.data[0] = 0.0


def test_user_counts_exact_and_capped():
    rng = np.random.default_rng(0)
    for n_users, n_ratings, cap in [(100, 100, 5), (100, 500, 5), (100, 321, 50), (7, 7, 1),
                                    (1000, 50_000, 60)]:
        counts = synthetic._user_counts(rng, n_users, n_ratings, cap)
        assert counts.sum() == n_ratings and counts.min() >= 1 and counts.max() <= cap


@pytest.mark.parametrize("kwargs, error, message", [
    ({"n_users": 0}, ValueError, "n_users == 0, must be >= 1."),
    ({"n_items": -3}, ValueError, "n_items == -3, must be >= 1."),
    ({"n_ratings": 0}, ValueError, "n_ratings == 0, must be >= 1."),
    ({"n_users": 10, "n_ratings": 9}, ValueError,
     r"n_ratings == 9, must be >= n_users == 10"),
    ({"n_users": 10, "n_items": 8, "n_ratings": 41}, ValueError,
     r"n_ratings == 41, must be <= n_users \* max\(1, n_items // 2\) == 40"),
    ({"rank": 0}, ValueError, "rank == 0, must be >= 1."),
    ({"noise": -0.1}, ValueError, "noise == -0.1, must be >= 0.0."),
    ({"noise": float("nan")}, ValueError, "noise == nan, must be finite."),
    ({"zipf": -1}, ValueError, "zipf == -1.0, must be >= 0.0."),
    ({"seed": -1}, ValueError, "seed == -1, must be >= 0."),
    ({"n_threads": 0}, ValueError, "n_threads == 0, must be >= 1, -1 or None."),
    ({"n_users": 10.0}, TypeError, "n_users must be an int, got float."),
    ({"n_ratings": "20"}, TypeError, "n_ratings must be an int, got str."),
    ({"rank": True}, TypeError, "rank must be an int, got bool."),
    ({"noise": "0.5"}, TypeError, "noise must be a real number, got str."),
    ({"zipf": None}, TypeError, "zipf must be a real number, got NoneType."),
    ({"timestamps": 1}, TypeError, "timestamps must be a bool, got int."),
    ({"dtype": np.int64}, TypeError, "dtype == int64, must be float32 or float64."),
    ({"seed": 1.5}, TypeError, "seed must be an int, None or a numpy Generator, got float."),
    ({"n_threads": 2.0}, TypeError, "n_threads must be an int or None, got float."),
])
def test_make_ratings_validation(kwargs, error, message):
    args = {"n_users": 20, "n_items": 10, "n_ratings": 60, **kwargs}
    with pytest.raises(error, match=message):
        ds.make_ratings(**args)


@pytest.mark.parametrize("kwargs, blamed", [
    ({"n_users": 10**7, "n_items": 10**7, "n_ratings": 10**13}, "n_ratings == 10000000000000"),
    ({"n_users": 10**11, "n_items": 2, "n_ratings": 10**11}, "n_users == 100000000000"),
    ({"n_users": 20, "n_items": 10**11, "n_ratings": 40}, "n_items == 100000000000"),
    ({"n_users": 20, "n_items": 10, "n_ratings": 60, "rank": 10**10}, "rank == 10000000000"),
])
def test_make_ratings_refuses_what_does_not_fit(monkeypatch, kwargs, blamed):
    from fastcf import _config

    monkeypatch.setattr(_config, "MEMORY_LIMIT", 1 << 30)
    with pytest.raises(ValueError, match=f"{blamed}: the ratings and the planted model would "
                                         r"need .* more than the 1\.0 GiB of memory here"):
        ds.make_ratings(**kwargs)


def test_make_ratings_within_the_limit_is_unchanged(monkeypatch):
    from fastcf import _config

    want = ds.make_ratings(50, 20, 300, seed=3)
    monkeypatch.setattr(_config, "MEMORY_LIMIT", 1 << 20)  # 300 ratings need far less
    got = ds.make_ratings(50, 20, 300, seed=3)
    np.testing.assert_array_equal(got.ratings, want.ratings)


def test_is_movielens(tmp_path):
    assert ds.is_movielens(write(tmp_path / "a" / "u.data", tab_text()))
    assert ds.is_movielens(tmp_path / "a")
    assert ds.is_movielens(write(tmp_path / "b.csv", csv_text()))
    assert not ds.is_movielens(write(tmp_path / "c.csv", "user_id,item_id,score\n1,2,3\n"))
    assert not ds.is_movielens(write(tmp_path / "d.tsv", "1\t2\t3\n"))
    assert not ds.is_movielens(write(tmp_path / "e.csv", ""))
    assert not ds.is_movielens(tmp_path / "missing")
