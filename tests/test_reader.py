"""Tests of fastcf.read_interactions: a user's own csv / tsv / parquet file."""

import gzip
import logging
import sys

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf.datasets import load_movielens, read_interactions, sniff_interactions

ROWS = [  # user, item, rating, timestamp
    (1, 10, 5.0, 881250949),
    (1, 20, 3.5, 881250950),
    (2, 10, 4.0, 891717742),
    (3, 30, 1.0, 878887116),
]


def write(path, text):
    path.write_text(text)
    return path


def lines(rows, sep, width=3):
    return "".join(sep.join(f"{v:g}" if isinstance(v, float) else str(v) for v in row[:width])
                   + "\n" for row in rows)


def check(data, rows=ROWS, *, rating=True, timestamp=False):
    """``data`` holds exactly ``rows`` (sorted by user, item)."""
    frame = data.to_frame()
    want = sorted(rows)
    assert frame["user"].tolist() == [r[0] for r in want]
    assert frame["item"].tolist() == [r[1] for r in want]
    assert data.implicit == (not rating)
    if rating:
        assert frame["rating"].tolist() == [r[2] for r in want]
    else:
        assert "rating" not in frame and np.all(data.ratings == 1)
    if timestamp:
        assert frame["timestamp"].tolist() == [r[3] for r in want]
    else:
        assert data.timestamps is None


# ---------------------------------------------------------------- layouts read

def test_tsv_without_timestamps(tmp_path):
    data = fastcf.read_interactions(write(tmp_path / "ratings.tsv", lines(ROWS, "\t")))
    check(data)
    assert data.user_ids.dtype == np.int64


def test_csv_with_user_id_item_id_score(tmp_path):
    path = write(tmp_path / "mine.csv", "user_id,item_id,score\n" + lines(ROWS, ","))
    check(read_interactions(path))
    layout = sniff_interactions(path)
    assert layout.columns == {"user": "user_id", "item": "item_id", "rating": "score"}
    assert layout.header and layout.sep == "," and layout.format == "csv"


@pytest.mark.parametrize("header, sep", [
    ("userId,movieId,rating,timestamp", ","),
    ("uid;iid;value;ts", ";"),
    ("User ID|Item ID|Rating|Time", "|"),
    ("user::item::stars::date", "::"),
    ("user item rating timestamp", " "),
])
def test_header_names_and_separators(tmp_path, header, sep):
    path = write(tmp_path / "x.txt", header + "\n" + lines(ROWS, sep, width=4))
    check(read_interactions(path), timestamp=True)


@pytest.mark.parametrize("name, sep, width", [
    ("u.data", "\t", 4), ("plain.csv", ",", 4), ("spaces", "  ", 3), ("pairs.csv", ",", 2),
])
def test_no_header_by_position(tmp_path, name, sep, width):
    data = read_interactions(write(tmp_path / name, lines(ROWS, sep, width)))
    check(data, rating=width >= 3, timestamp=width == 4)


def test_movielens_files_read_as_load_movielens_does(tmp_path):
    for name, text in [("u.data", lines(ROWS, "\t", 4)),
                       ("ratings.csv", "userId,movieId,rating,timestamp\n"
                        + lines(ROWS, ",", 4))]:
        path = write(tmp_path / name, text)
        got, want = read_interactions(path), load_movielens(path)
        for a, b in [(got.user_ids, want.user_ids), (got.item_ids, want.item_ids),
                     (got.ratings, want.ratings), (got.timestamps, want.timestamps),
                     (got.by_user.indptr, want.by_user.indptr)]:
            np.testing.assert_array_equal(a, b)


def test_string_ids_and_dates(tmp_path):
    path = write(tmp_path / "clicks.csv", "visitor,page,when\nann,home,2020-01-02\n"
                 "bob,home,2020-01-03 12:00:00\nann,faq,2020-01-04T08:30:00\n")
    data = read_interactions(path, columns={"user": "visitor", "item": "page",
                                            "timestamp": "when"})
    assert data.implicit and data.user_ids.tolist() == ["ann", "bob"]
    assert data.item_ids.tolist() == ["faq", "home"]
    stamps = pd.to_datetime(data.timestamps, unit="s")
    assert stamps.min() == pd.Timestamp("2020-01-02") and data.timestamps.dtype == np.int64


def test_header_names_with_spaces_or_repeated(tmp_path):
    path = write(tmp_path / "s.csv", "user_id , item_id , note , note\n"
                 + "".join(f"{u},{i},x,y\n" for u, i, r, t in ROWS))
    layout = sniff_interactions(path)
    assert layout.names == ("user_id", "item_id", "note", "note")
    check(layout.read(), rating=False)


def test_mixed_ids_stay_strings(tmp_path):
    data = read_interactions(write(tmp_path / "m.csv", "1,a\n2,007\n"))
    assert data.user_ids.tolist() == [1, 2] and data.item_ids.tolist() == ["007", "a"]


@pytest.mark.parametrize("name", ["r.tsv.gz", "r.gz", "r"])
def test_gzip(tmp_path, name):
    path = tmp_path / name
    with gzip.open(path, "wt") as f:
        f.write(lines(ROWS, "\t"))
    layout = sniff_interactions(path)
    assert layout.compressed and layout.sep == "\t"
    check(layout.read())


@pytest.mark.parametrize("name", ["r.parquet", "r.pq", "no_suffix"])
@pytest.mark.parametrize("ids", ["int", "str"])
def test_parquet_round_trip(tmp_path, name, ids):
    pytest.importorskip("pyarrow")
    data = fastcf.Interactions.from_arrays(
        [r[0] for r in ROWS], [r[1] for r in ROWS], [r[2] for r in ROWS], [r[3] for r in ROWS])
    frame = data.to_frame()
    if ids == "str":
        frame["user"] = "u" + frame["user"].astype(str)
    frame.to_parquet(tmp_path / name)
    back = read_interactions(tmp_path / name, dtype=np.float32)
    assert back.dtype == np.float32 and sniff_interactions(tmp_path / name).format == "parquet"
    np.testing.assert_array_equal(back.user_ids, np.unique(frame["user"]))
    np.testing.assert_array_equal(back.item_ids, data.item_ids)
    np.testing.assert_array_equal(back.ratings, data.ratings.astype(np.float32))
    np.testing.assert_array_equal(back.timestamps, data.timestamps)


def test_parquet_columns_by_name_and_position(tmp_path):
    pytest.importorskip("pyarrow")
    pd.DataFrame({"a": [1, 2], "b": [3, 4], "c": [0.5, 1.0]}).to_parquet(tmp_path / "p.parquet")
    data = read_interactions(tmp_path / "p.parquet", columns={"user": "a", "item": 1, "rating": 2})
    assert data.ratings.tolist() == [0.5, 1.0] and data.item_ids.tolist() == [3, 4]


# ------------------------------------------------- header, columns, implicit

def test_header_given_overrides_sniffing(tmp_path):
    path = write(tmp_path / "h.csv", lines(ROWS, ","))
    with pytest.raises(ValueError, match=r"no user column among \['1', '10', '5'\]"):
        read_interactions(path, header=True)  # the first row names the columns
    data = read_interactions(path, header=True, columns=["user", "item", "rating"])
    check(data, ROWS[1:])
    assert sniff_interactions(path, header=True, columns=[
        "user", "item", "rating"]).columns == {"user": "1", "item": "10", "rating": "5"}


def test_header_sniffed_from_text_above_numbers(tmp_path):
    path = write(tmp_path / "h.csv", "who,what,how\n" + lines(ROWS, ","))
    layout = sniff_interactions(path, columns=["user", "item", "rating"])
    assert layout.header and "text above numbers" in layout.reasons["header"]
    check(layout.read())


def test_explicit_columns(tmp_path):
    text = "".join(f"x,{u},{t},{i},{r:g}\n" for u, i, r, t in ROWS)
    path = write(tmp_path / "wide.csv", text)
    as_list = read_interactions(path, columns=[None, "user", "timestamp", "item", "rating"])
    as_dict = read_interactions(path, columns={"user": 1, "item": 3, "rating": 4,
                                               "timestamp": 2})
    for data in (as_list, as_dict):
        check(data, timestamp=True)
    short = read_interactions(path, columns=[None, "user", None, "item"])  # rest ignored
    check(short, rating=False)
    assert "ignored column 1, column 3, column 5" in sniff_interactions(
        path, columns=[None, "user", None, "item"]).describe()


def test_partial_mapping_keeps_matching_the_rest(tmp_path):
    path = write(tmp_path / "p.csv", "user_id,item_id,stars,weight\n"
                 + "".join(f"{u},{i},{r:g},{r * 2:g}\n" for u, i, r, t in ROWS))
    data = read_interactions(path, columns={"rating": "weight"})
    assert sorted(data.ratings.tolist()) == sorted(2 * r[2] for r in ROWS)


def test_implicit(tmp_path):
    path = write(tmp_path / "r.tsv", lines(ROWS, "\t"))
    check(read_interactions(path, implicit=True), rating=False)
    check(read_interactions(path, implicit=False))
    pairs = write(tmp_path / "pairs.tsv", lines(ROWS, "\t", 2))
    with pytest.raises(ValueError, match="no rating column.*implicit=False needs one"):
        read_interactions(pairs, implicit=False)


def test_duplicates_pass_through(tmp_path):
    path = write(tmp_path / "d.tsv", "1\t2\t3\n1\t2\t5\n")
    with pytest.raises(ValueError, match="1 duplicate"):
        read_interactions(path)
    assert read_interactions(path, duplicates="mean").ratings.tolist() == [4.0]


def test_assumptions_are_logged(tmp_path, caplog):
    path = write(tmp_path / "mine.csv", "user_id,item_id\n1,2\n")
    with caplog.at_level(logging.INFO, logger="fastcf.datasets.reader"):
        read_interactions(path)
    message = caplog.records[-1].getMessage()
    assert message == "reading " + sniff_interactions(path).describe()
    for part in ("format csv (from the suffix '.csv')", "separator ',' (sniffed)",
                 "a header line (sniffed: its first line names 'user_id')",
                 "user = 'user_id', item = 'item_id' (matched by name)",
                 "implicit data"):
        assert part in message


# ------------------------------------------------------------------- errors

@pytest.mark.parametrize("text, kwargs, message", [
    ("", {}, "is empty"),
    ("\n\n", {}, "is empty"),
    ("user,item,rating\n", {}, "has no rows below its header"),
    ("1\n2\n", {}, "no separator splits its first lines"),
    ("1,2,3,4,5\n", {}, "has 5 columns and no header line; say which is which with columns="),
    ("a,b,c\n1,2,3\n", {}, r"no user column among \['a', 'b', 'c'\].*columns="),
    ("user,b\n1,2\n", {}, r"no item column among \['user', 'b'\]"),
    ("1,2,five\n", {}, r"the rating column \(column 3\) holds 'five' at data row 1, not a "
                       "number"),
    ("1,2,3\n1,3,\n", {}, r"the rating column \(column 3\) is empty or NaN in 1 rows \(first at "
                          r"data row 2\)"),
    ("1,2,3\n1,3,nan\n", {}, r"the rating column \(column 3\) is empty or NaN in 1 rows"),
    ("1,2,inf\n", {}, r"holds 1 infinite values"),
    ("1,2,3\n,3,4\n", {}, r"the user column \(column 1\) is empty or NaN in 1 rows"),
    ("1,2,3,x\n", {"columns": ["user", "item", "rating", "timestamp"]},
     "holds 'x' at data row 1, neither a number nor a date"),
    ('1,2,3\n1,2,"3\n', {}, "does not parse as csv with separator ',': .*EOF inside string"),
    ("1,2,3\n", {"format": "xlsx"}, r"format == 'xlsx', must be one of \('csv', 'tsv', "
                                    r"'parquet'\)"),
    ("1,2,3\n", {"columns": ["user", "item", "rating", "timestamp"]},
     "columns lists 4 columns but .* has 3"),
    ("1,2,3\n", {"columns": ["user", "thing"]}, r"columns\[1\] == 'thing', must be one of"),
    ("1,2,3\n", {"columns": ["user", "user"]}, "names the user column twice"),
    ("1,2,3\n", {"columns": ["user", None, "rating"]}, "gives no item column"),
    ("1,2,3\n", {"columns": {"user": 0, "item": 3}}, r"columns\['item'\] == 3, must lie in "
                                                    r"\[0, 3\)"),
    ("u,i\n1,2\n", {"columns": {"user": "u", "item": "x"}},
     r"columns\['item'\] == 'x' is not a column of .*\['u', 'i'\]"),
    ("1,2\n", {"columns": {"user": 0, "item": "i"}, "header": False},
     "is not a column of .*no header line"),
    ("1,2\n", {"columns": {"user": 0, "item": 0}}, "puts two roles on one column"),
    ("1,2\n", {"columns": {"person": 0}}, "columns has the key 'person', must be one of"),
])
def test_errors(tmp_path, text, kwargs, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=message):
        read_interactions(path, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"columns": "user,item"}, "columns must be a list of roles or a dict"),
    ({"columns": {"user": 0.0, "item": 1}}, r"columns\['user'\] must be a column name"),
    ({"header": 1}, "header must be a bool, got int"),
    ({"implicit": "yes"}, "implicit must be a bool, got str"),
    ({"sep": ""}, "sep must be a non-empty str"),
    ({"format": 3}, "format must be a str, got int"),
    ({"dtype": np.int32}, "dtype == int32, must be float32 or float64"),
])
def test_type_errors(tmp_path, kwargs, message):
    path = write(tmp_path / "ok.csv", "1,2,3\n")
    with pytest.raises(TypeError, match=message):
        read_interactions(path, **kwargs)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        read_interactions(3)


def test_bad_duplicates_policy_before_reading(tmp_path):
    with pytest.raises(ValueError, match="duplicates == 'first', must be one of"):
        read_interactions(write(tmp_path / "ok.csv", "1,2,3\n"), duplicates="first")


def test_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_interactions(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="is a directory; pass the file"):
        read_interactions(tmp_path)


def test_parquet_refuses_text_options(tmp_path):
    pytest.importorskip("pyarrow")
    pd.DataFrame({"user": [1], "item": [2]}).to_parquet(tmp_path / "p.parquet")
    for kwargs in ({"sep": ","}, {"header": False}):
        with pytest.raises(ValueError, match="is parquet: its columns are named"):
            read_interactions(tmp_path / "p.parquet", **kwargs)


def test_parquet_without_an_engine(tmp_path, monkeypatch):
    (tmp_path / "p.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    with pytest.raises(ImportError, match=r"needs pyarrow \(or fastparquet\).*pip install "
                                          "pyarrow"):
        read_interactions(tmp_path / "p.parquet")
