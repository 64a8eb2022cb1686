"""Reader, Dataset, Trainset and the built-in data sets of fastcf.compat.surprise."""

import hashlib
import io
import os
import zipfile

import numpy as np
import pandas as pd
import pytest

from fastcf.compat.surprise import Dataset, Reader, Trainset, builtin_datasets
from fastcf.compat.surprise.builtin_datasets import get_dataset_dir
from fastcf.compat.surprise.dataset import DatasetAutoFolds, DatasetUserFolds


# ------------------------------------------------------------------- Reader
def test_reader_builtin_names():
    assert Reader("ml-100k").sep == "\t"
    assert Reader("ml-1m").sep == "::"
    assert Reader("jester").rating_scale == (-10, 10)
    assert Reader("ml-100k").with_timestamp and not Reader("jester").with_timestamp


@pytest.mark.parametrize("line_format, match", [
    ("user itemm rating", "unknown field"),
    ("user item", "no rating field"),
    ("item rating", "no user field"),
    ("user item rating user", "more than once"),
])
def test_reader_bad_line_format(line_format, match):
    with pytest.raises(ValueError, match=match):
        Reader(line_format=line_format)


def test_reader_bad_params():
    with pytest.raises(ValueError, match="unknown reader nope"):
        Reader(name="nope")
    with pytest.raises(ValueError, match="rating_scale == \\(5, 1\\)"):
        Reader(rating_scale=(5, 1))
    with pytest.raises(ValueError, match="rating_scale == 3"):
        Reader(rating_scale=3)
    with pytest.raises(ValueError, match="skip_lines == -1"):
        Reader(skip_lines=-1)
    with pytest.raises(TypeError, match="line_format must be a str"):
        Reader(line_format=None)


def test_parse_line():
    reader = Reader(line_format="timestamp rating item user", sep=",")
    assert reader.parse_line("25, 4.5 ,movie,me\n") == ("me", "movie", 4.5, "25")
    with pytest.raises(ValueError, match="Impossible to parse line"):
        reader.parse_line("25,4.5")
    with pytest.raises(ValueError, match="could not read the rating 'x'"):
        reader.parse_line("25,x,movie,me")


# ------------------------------------------------------------------ Dataset
@pytest.mark.parametrize("sep, reader_sep", [("\t", "\t"), ("::", "::"), (" ", None),
                                             (";", ";"), (" ", " ")])
def test_load_from_file_matches_parse_line(tmp_path, sep, reader_sep):
    lines = ["header to skip", "u1{s}i1{s}4{s}100", "u2{s}i1{s}2.5{s}101", "u1{s}i 2{s}1{s}102"]
    if reader_sep is None:
        lines[3] = "u1  i2   1 102"  # runs of whitespace split as str.split() does
    path = tmp_path / "ratings.txt"
    path.write_text("\n".join(line.format(s=sep) for line in lines) + "\n")
    reader = Reader(line_format="user item rating timestamp", sep=reader_sep, skip_lines=1)
    data = Dataset.load_from_file(str(path), reader)
    expected = [reader.parse_line(line.format(s=sep)) for line in lines[1:]]
    assert data.raw_ratings == expected
    assert all(isinstance(r, float) for (_, _, r, _) in data.raw_ratings)


def test_load_from_file_ragged_lines_parse_as_surprise(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("u1,i1,4\nu2,i2,3,extra,fields\n")
    data = Dataset.load_from_file(path, Reader(sep=","))
    assert data.raw_ratings == [("u1", "i1", 4.0, None), ("u2", "i2", 3.0, None)]


def test_load_from_file_bad_lines(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("u1,i1,4\nu2,i2\n")
    with pytest.raises(ValueError, match="Impossible to parse line"):
        Dataset.load_from_file(path, Reader(sep=","))
    path.write_text("u1,i1,4\nu2,i2,good\n")
    with pytest.raises(ValueError, match="could not read the rating 'good'"):
        Dataset.load_from_file(path, Reader(sep=","))
    path.write_text("u1,i1,4,100\nu2,i2,3\n")  # no timestamp on the second line
    with pytest.raises(ValueError, match="Impossible to parse line.*'u2,i2,3"):
        Dataset.load_from_file(path, Reader(line_format="user item rating timestamp", sep=","))


def test_load_from_file_empty_fields_and_stand_in(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_text("u1,,4\nu\x1f2,i2,3\n")  # an empty item id is an id, as in Surprise
    assert Dataset.load_from_file(path, Reader(sep=",")).raw_ratings == [
        ("u1", "", 4.0, None), ("u\x1f2", "i2", 3.0, None)]
    path.write_text("u\x1f1::i1::4\n")
    assert Dataset.load_from_file(path, Reader(sep="::")).raw_ratings == [
        ("u\x1f1", "i1", 4.0, None)]


def test_load_from_file_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Dataset.load_from_file(str(tmp_path / "nope.csv"), Reader())


def test_rating_outside_scale_warns(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("u1,i1,4\nu2,i1,7\n")
    with pytest.warns(UserWarning, match="1 ratings of file .* outside rating_scale \\(1, 5\\)"):
        Dataset.load_from_file(path, Reader(sep=","))
    frame = pd.DataFrame({"u": [1, 2], "i": [1, 1], "r": [0.0, 3.0]})
    with pytest.warns(UserWarning, match="1 ratings of df are outside"):
        Dataset.load_from_df(frame, Reader())


def test_load_from_folds(tmp_path):
    train, test = tmp_path / "a.base", tmp_path / "a.test"
    train.write_text("u1 i1 4\nu2 i1 2\n")
    test.write_text("u1 i2 3\n")
    data = Dataset.load_from_folds([(str(train), str(test))], Reader())
    assert isinstance(data, DatasetUserFolds)
    assert data.read_ratings(str(test)) == [("u1", "i2", 3.0, None)]
    with pytest.raises(ValueError, match="File .*nope does not exist"):
        Dataset.load_from_folds([(str(train), str(tmp_path / "nope"))], Reader())
    with pytest.raises(ValueError, match="folds_files\\[1\\] == .*must be a \\(train_file, "):
        Dataset.load_from_folds([(str(train), str(test)), (str(train),)], Reader())
    with pytest.raises(ValueError, match="folds_files\\[0\\] == .*must be a"):
        Dataset.load_from_folds([str(train)], Reader())
    with pytest.raises(ValueError, match="folds_files must list"):
        DatasetUserFolds(None, Reader())


def test_load_from_df_bad_input():
    frame = pd.DataFrame({"u": [1], "i": [2], "r": [3.0], "t": [4]})
    with pytest.raises(ValueError, match="df has 4 columns, must have 3"):
        Dataset.load_from_df(frame, Reader())
    with pytest.raises(ValueError, match="third column of df \\('r'\\) must hold the ratings"):
        Dataset.load_from_df(pd.DataFrame({"u": [1], "i": [2], "r": ["x"]}), Reader())
    with pytest.raises(TypeError, match="df must be a pandas DataFrame"):
        Dataset.load_from_df([(1, 2, 3)], Reader())
    with pytest.raises(ValueError, match="Must specify ratings file or dataframe"):
        DatasetAutoFolds(reader=Reader())


def test_construct_testset_and_empty_trainset(tiny_data):
    assert tiny_data.construct_testset([("a", "b", 3.0, None)]) == [("a", "b", 3.0)]
    with pytest.raises(ValueError, match="no ratings"):
        tiny_data.construct_trainset([])


# ----------------------------------------------------------------- Trainset
def test_trainset_hand_worked(tiny_trainset):
    t = tiny_trainset
    assert (t.n_users, t.n_items, t.n_ratings, t.rating_scale) == (3, 3, 5, (1, 5))
    assert dict(t.ur) == {0: [(0, 4.0), (1, 5.0)], 1: [(0, 3.0), (2, 2.5)], 2: [(2, 1.0)]}
    assert dict(t.ir) == {0: [(0, 4.0), (1, 3.0)], 1: [(0, 5.0)], 2: [(2, 1.0), (1, 2.5)]}
    assert list(t.all_ratings()) == [(0, 0, 4.0), (0, 1, 5.0), (1, 0, 3.0), (1, 2, 2.5),
                                     (2, 2, 1.0)]
    assert t.global_mean == pytest.approx(3.1, abs=1e-15)
    assert [t.to_inner_uid(u) for u in ("u2", "u1", "u3")] == [0, 1, 2]
    assert [t.to_raw_iid(i) for i in range(3)] == ["i1", "i3", "i2"]
    assert t.knows_user(2) and not t.knows_user(3) and not t.knows_user("UKN__x")
    assert t.knows_item(0) and not t.knows_item(-1)
    assert list(t.all_users()) == [0, 1, 2] and list(t.all_items()) == [0, 1, 2]
    assert t.build_testset() == [("u2", "i1", 4.0), ("u2", "i3", 5.0), ("u1", "i1", 3.0),
                                 ("u1", "i2", 2.5), ("u3", "i2", 1.0)]
    assert t.build_anti_testset() == [("u2", "i2", t.global_mean), ("u1", "i3", t.global_mean),
                                      ("u3", "i1", t.global_mean), ("u3", "i3", t.global_mean)]
    assert t.build_anti_testset(fill=0)[0] == ("u2", "i2", 0.0)
    assert t.ur[7] == []  # a defaultdict, as Surprise's


def test_trainset_unknown_ids(tiny_trainset):
    with pytest.raises(ValueError, match="User nobody is not part of the trainset"):
        tiny_trainset.to_inner_uid("nobody")
    with pytest.raises(ValueError, match="Item \\[1\\] is not part of the trainset"):
        tiny_trainset.to_inner_iid([1])
    with pytest.raises(ValueError, match="9 is not a valid inner id"):
        tiny_trainset.to_raw_uid(9)
    with pytest.raises(ValueError, match="-1 is not a valid inner id"):
        tiny_trainset.to_raw_iid(-1)


def test_trainset_interactions_use_inner_ids(tiny_trainset):
    data = tiny_trainset.interactions
    assert data.user_ids.tolist() == [0, 1, 2] and data.item_ids.tolist() == [0, 1, 2]
    assert data.ratings.dtype == np.float64
    # by_user entries back in load order: the order Surprise visits
    assert data.ratings[np.argsort(data.input_order)].tolist() == [4.0, 3.0, 5.0, 1.0, 2.5]


def test_trainset_mixed_ids_and_surprise_constructor():
    frame = pd.DataFrame({"u": [9, 32, "10000", 9], "i": [1, 1, 2, 2], "r": [3, 2, 4, 5]})
    t = Dataset.load_from_df(frame, Reader()).build_full_trainset()
    assert (t.to_inner_uid(9), t.to_inner_uid("10000"), t.to_inner_iid(2)) == (0, 2, 1)
    built = Trainset(t.ur, t.ir, t.n_users, t.n_items, t.n_ratings, t.rating_scale,
                     t._raw2inner_id_users, t._raw2inner_id_items)
    assert list(built.all_ratings()) == list(t.all_ratings())
    assert built.build_testset() == t.build_testset()
    assert built.global_mean == t.global_mean


def test_trainset_repeated_pairs_warn():
    frame = pd.DataFrame({"u": ["a", "a", "b"], "i": ["x", "x", "x"], "r": [1.0, 3.0, 2.0]})
    t = Dataset.load_from_df(frame, Reader()).build_full_trainset()
    assert t.ur[0] == [(0, 1.0), (0, 3.0)]  # Surprise keeps both
    with pytest.warns(UserWarning, match="1 repeated \\(user, item\\) ratings"):
        data = t.interactions
    assert data.nnz == 2 and data.ratings.tolist() == [3.0, 2.0]


def test_trainset_missing_ids():
    frame = pd.DataFrame({"u": ["a", None], "i": ["x", "y"], "r": [1.0, 3.0]})
    with pytest.raises(ValueError, match="user ids contain 1 missing values"):
        Dataset.load_from_df(frame, Reader()).build_full_trainset()


# --------------------------------------------------------- built-in data sets
def test_get_dataset_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SURPRISE_DATA_FOLDER", str(tmp_path / "data"))
    assert get_dataset_dir() == str(tmp_path / "data")
    assert os.path.isdir(tmp_path / "data")
    monkeypatch.delenv("SURPRISE_DATA_FOLDER")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_dataset_dir() == str(tmp_path) + "/.surprise_data/"


def _ml100k_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ml-100k/u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
                                      "22\t377\t1\t878887116\n")
    return buffer.getvalue()


@pytest.fixture
def fake_download(tmp_path, monkeypatch):
    """The ml-100k download replaced by a local zip pinned to its own checksum."""
    payload = _ml100k_zip()
    calls = []

    def download(url, dest):
        calls.append(url)
        with open(dest, "wb") as f:
            f.write(payload)

    monkeypatch.setenv("SURPRISE_DATA_FOLDER", str(tmp_path / "data"))
    monkeypatch.setattr(builtin_datasets, "_download", download)
    spec = builtin_datasets.BUILTIN_DATASETS["ml-100k"]
    monkeypatch.setitem(builtin_datasets.BUILTIN_DATASETS, "ml-100k",
                        spec._replace(sha256=hashlib.sha256(payload).hexdigest()))
    return calls


def test_load_builtin_downloads_once(fake_download):
    data = Dataset.load_builtin("ml-100k", prompt=False)
    assert data.raw_ratings[0] == ("196", "242", 3.0, "881250949")
    assert fake_download == ["https://files.grouplens.org/datasets/movielens/ml-100k.zip"]
    again = Dataset.load_builtin("ml-100k", prompt=False)  # the local copy, no download
    assert again.raw_ratings == data.raw_ratings and len(fake_download) == 1


def test_load_builtin_prompt(fake_download, monkeypatch):
    answers = iter(["maybe", "y"])
    monkeypatch.setattr("builtins.input", lambda: next(answers))
    assert len(Dataset.load_builtin("ml-100k").raw_ratings) == 3


def test_load_builtin_bad_checksum(fake_download, monkeypatch, tmp_path):
    spec = builtin_datasets.BUILTIN_DATASETS["ml-100k"]
    monkeypatch.setitem(builtin_datasets.BUILTIN_DATASETS, "ml-100k",
                        spec._replace(sha256="0" * 64))
    with pytest.raises(ValueError, match="has SHA-256 .*, expected 0000"):
        Dataset.load_builtin("ml-100k", prompt=False)
    assert not os.path.exists(spec.path)


def test_load_builtin_unknown_and_offline(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="unknown dataset ml-7. Accepted values are ml-100k"):
        Dataset.load_builtin("ml-7")

    def offline(url, dest):
        raise OSError("network unreachable")

    monkeypatch.setenv("SURPRISE_DATA_FOLDER", str(tmp_path))
    monkeypatch.setattr(builtin_datasets, "_download", offline)
    with pytest.raises(OSError, match="could not download .*jester.* \\(network unreachable\\)"):
        Dataset.load_builtin("jester", prompt=False)


def test_gc_paused_restores_the_collector():
    import gc

    from fastcf.compat.surprise.utils import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), gc_paused():
        raise KeyError("x")
    assert gc.isenabled()
