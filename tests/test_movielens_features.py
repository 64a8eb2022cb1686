"""MovieLens side files (``u.user``/``u.item``, ``users.dat``/``movies.dat``,
``movies.csv``) read from tiny files of each format written here."""

import numpy as np
import pytest

from fastcf.datasets import load_movielens, read_movielens_features

GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
          "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
          "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def flags(*names):
    return "|".join("1" if g in names else "0" for g in GENRES)


U_ITEM = (
    f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags('Animation', 'Comedy')}\n"
    f"2|Caf\xe9 Society (1997)|||http://y|{flags('Drama')}\n"  # latin-1, year from the title
    f"3|unknown||||{flags('unknown')}\n"  # no date: no decade
    f"4|Alien (1979)|01-Jan-1979||http://z|{flags('Action', 'Sci-Fi')}\n"
)
U_USER = "1|24|M|technician|85711\n2|53|F|other|T8H1N\n3|17|M|student|32067\n"
U_DATA = "1\t1\t5\t874965758\n1\t2\t3\t874965759\n2\t4\t4\t874965760\n3\t1\t1\t874965761\n"


def write(folder, files, encoding="utf-8"):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder


@pytest.fixture
def ml100k(tmp_path):
    folder = write(tmp_path / "ml-100k", {"u.item": U_ITEM, "u.user": U_USER}, "latin-1")
    write(folder, {"u.data": U_DATA,
                   "u.genre": "".join(f"{g}|{i}\n" for i, g in enumerate(GENRES)) + "\n",
                   "u.occupation": "other\nstudent\ntechnician\nwriter\n"})
    return folder


def dense(features):
    return features.matrix.toarray()


def test_ml100k(ml100k):
    users, items = read_movielens_features(ml100k)
    assert list(users.ids) == [1, 2, 3] and users.dtype == np.float32
    assert users.names == ("age=Under 18", "age=18-24", "age=25-34", "age=35-44", "age=45-49",
                           "age=50-55", "age=56+", "gender=F", "gender=M", "occupation=other",
                           "occupation=student", "occupation=technician", "occupation=writer")
    assert np.array_equal(dense(users), [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0],
                                         [0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0],
                                         [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0]])
    assert list(items.ids) == [1, 2, 3, 4]
    assert items.names == ("genre=Action", "genre=Animation", "genre=Comedy", "genre=Drama",
                           "genre=Sci-Fi", "genre=unknown")
    assert np.array_equal(dense(items), [[0, 1, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0],
                                         [0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 1, 0]])


def test_ml100k_options_and_without_name_files(ml100k):
    (ml100k / "u.genre").unlink()
    (ml100k / "u.occupation").unlink()
    users, items = read_movielens_features(ml100k / "u.data", decades=True, zip_digits=2,
                                           dtype=np.float64)
    assert users.dtype == items.dtype == np.float64
    # occupations found, sorted; zip prefixes upper-cased
    assert users.names[9:] == ("occupation=other", "occupation=student", "occupation=technician",
                               "zip=32", "zip=85", "zip=T8")
    assert items.names[-2:] == ("decade=1970s", "decade=1990s")
    assert np.array_equal(dense(items)[:, -2:], [[0, 1], [0, 1], [0, 0], [1, 0]])


def test_ml100k_one_level_down_and_load(tmp_path, ml100k):
    users, items = read_movielens_features(tmp_path)  # the zip's folder inside tmp_path
    assert len(users) == 3 and len(items) == 4
    data = load_movielens(ml100k, side_features=True)
    assert data.n_items == 3  # movie 3 has no rating: its row is dropped
    assert np.array_equal(data.item_features.ids, data.item_ids)
    assert np.array_equal(dense(data.item_features), items.align(data.item_ids).toarray())
    assert np.array_equal(dense(data.user_features), dense(users))
    plain = load_movielens(ml100k)
    assert plain.user_features is None and plain.item_features is None
    # the catalogue route keeps the unrated movie as an item without interactions
    full = plain.with_features(users, items, new_ids="add")
    assert full.n_items == 4 and full.item_counts().tolist() == [2, 1, 0, 1]


USERS_DAT = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117-1234\n"
MOVIES_DAT = ("1::Toy Story (1995)::Animation|Children's|Comedy\n"
              "2::Cit\xe9 des enfants perdus, La (1995)::Adventure|Sci-Fi\n"
              "3::Odd::Title (2000)::Drama\n")


def test_ml1m(tmp_path):
    folder = write(tmp_path, {"users.dat": USERS_DAT, "movies.dat": MOVIES_DAT,
                              "ratings.dat": "1::1::5::978300760\n2::3::3::978302109\n"},
                   "latin-1")
    users, items = read_movielens_features(folder, decades=True, zip_digits=1)
    assert users.names[:9] == ("age=Under 18", "age=18-24", "age=25-34", "age=35-44",
                               "age=45-49", "age=50-55", "age=56+", "gender=F", "gender=M")
    assert len(users.names) == 9 + 21 + 3
    column = {name: j for j, name in enumerate(users.names)}
    row = dict(zip(users.names, dense(users)[0]))
    assert row["age=Under 18"] == row["gender=F"] == row["occupation=K-12 student"] == 1
    assert dense(users)[1, column["occupation=self-employed"]] == 1
    assert dense(users)[2, column["zip=5"]] == 1
    assert items.names == ("genre=Adventure", "genre=Animation", "genre=Children's",
                           "genre=Comedy", "genre=Drama", "genre=Sci-Fi", "decade=1990s",
                           "decade=2000s")
    assert np.array_equal(dense(items), [[0, 1, 1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 0, 1, 1, 0],
                                         [0, 0, 0, 0, 1, 0, 0, 1]])
    data = load_movielens(folder, side_features=True)
    assert list(data.item_ids) == [1, 3] and data.item_features.matrix.shape == (2, 6)


def test_ml10m_and_latest_have_no_users(tmp_path):
    ten = write(tmp_path / "ten", {"movies.dat": "5::Heat (1995)::Action|Crime|Thriller\n"})
    users, items = read_movielens_features(ten)
    assert users is None and items.names == ("genre=Action", "genre=Crime", "genre=Thriller")
    latest = write(tmp_path / "latest", {
        "movies.csv": 'movieId,title,genres\n1,Toy Story (1995),Adventure|Comedy\n'
                      '11,"American President, The (1995)",Comedy|Drama|Romance\n'
                      '99,Babylon 5 (1994-1998),(no genres listed)\n'
                      '100,No Year,Drama\n',
        "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"
                       "1,11,4.0,964981247\n"})
    users, items = read_movielens_features(latest, decades=True)
    assert users is None and list(items.ids) == [1, 11, 99, 100]
    assert items.names == ("genre=(no genres listed)", "genre=Adventure", "genre=Comedy",
                           "genre=Drama", "genre=Romance", "decade=1990s")
    assert np.array_equal(dense(items), [[0, 1, 1, 0, 0, 1], [0, 0, 1, 1, 1, 1],
                                         [1, 0, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0]])
    data = load_movielens(latest, side_features=True)
    assert data.user_features is None and data.item_features.matrix.shape == (2, 5)


BAD_FILES = [
    ({"u.user": "1|24|M|technician\n"}, r"u\.user, line 1: expected 5 '\|'-separated fields"),
    ({"u.user": "1|24|M|x|1\n2|old|F|x|2\n"}, r"u\.user, line 2: age 'old' is not an integer"),
    ({"u.user": "1|-3|M|x|1\n"}, r"u\.user, line 1: age -3 is negative"),
    ({"u.user": "a|24|M|x|1\n"}, r"u\.user, line 1: user id 'a' is not an integer"),
    ({"u.user": "1|24|M|x|1\n1|25|F|x|2\n"}, r"u\.user: id 1 appears on more than one line"),
    ({"u.user": "\n\n"}, r"u\.user has no records"),
    ({"u.user": "1|24|M|pilot|1\n", "u.occupation": "other\n"},
     r"u\.user, line 1: occupation 'pilot' is not listed in u\.occupation"),
    ({"u.occupation": "", "u.user": "1|24|M|x|1\n"}, r"u\.occupation is empty"),
    ({"u.item": "1|T (1995)|||x|0|1\n"}, r"u\.item, line 1: expected 24 '\|'-separated fields"),
    ({"u.item": f"1|T|||x|{flags('Drama').replace('1', '2')}\n"},
     r"u\.item, line 1: genre flag '2' is not 0 or 1"),
    ({"u.genre": "unknown|0\nAction|2\n", "u.item": "1|T|||x|0|1\n"},
     r"u\.genre, line 2: genre index 2 out of order \(expected 1\)"),
    ({"users.dat": "1::F::2::10::48067\n"}, r"users\.dat, line 1: age code 2 is not one of"),
    ({"users.dat": "1::F::1::21::48067\n"},
     r"users\.dat, line 1: occupation code 21 is not in \[0, 21\)"),
    ({"users.dat": "1::F::1\n"}, r"users\.dat, line 1: expected 5 '::'-separated fields"),
    ({"movies.dat": "1::Toy Story (1995)\n"}, r"movies\.dat, line 1: expected 3 '::'"),
    ({"movies.dat": "x::T::Drama\n"}, r"movies\.dat, line 1: movie id 'x' is not an integer"),
    ({"movies.csv": "id,name\n1,T\n"}, r"movies\.csv: expected the header 'movieId,title"),
    ({"movies.csv": ""}, r"movies\.csv: expected the header"),
    ({"movies.csv": "movieId,title,genres\n1,T,Drama\n2,U\n"},
     r"movies\.csv, line 3: expected 3 comma-separated fields"),
]


@pytest.mark.parametrize("files, match", BAD_FILES)
def test_malformed_side_files(tmp_path, files, match):
    write(tmp_path, files)
    with pytest.raises(ValueError, match=match):
        read_movielens_features(tmp_path)


def test_missing_folder_and_no_side_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_movielens_features(tmp_path / "nope")
    write(tmp_path, {"u.data": U_DATA})
    with pytest.raises(ValueError, match="holds no MovieLens side file"):
        read_movielens_features(tmp_path)
    with pytest.raises(ValueError, match="holds no MovieLens side file"):
        load_movielens(tmp_path, side_features=True)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"decades": "yes"}, TypeError, "decades must be a bool"),
    ({"zip_digits": -1}, ValueError, "zip_digits == -1, must be >= 0"),
    ({"dtype": np.int64}, TypeError, "dtype == int64"),
])
def test_bad_arguments(ml100k, kwargs, error, match):
    with pytest.raises(error, match=match):
        read_movielens_features(ml100k, **kwargs)


def test_load_movielens_bad_side_features(ml100k):
    with pytest.raises(TypeError, match="side_features must be a bool"):
        load_movielens(ml100k, side_features="yes")
