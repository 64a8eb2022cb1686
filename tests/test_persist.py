"""save / load: a round trip is exact; bad files give clear errors; no pickle."""

import ast
import importlib.util
import json
import pathlib
import re
import zipfile

import numpy as np
import pytest

import fastcf
from fastcf import BaselineOnly, Interactions, persist
from fastcf.persist import CSR


@pytest.fixture(scope="module")
def fitted(interactions):
    return BaselineOnly(epochs=3, n_threads=1).fit(interactions)


def test_round_trip_gives_identical_predictions(fitted, interactions, tmp_path):
    path = tmp_path / "model.npz"
    fitted.save(path)
    loaded = fastcf.load(path)
    assert type(loaded) is BaselineOnly
    assert loaded.get_params() == fitted.get_params()
    users = np.concatenate([interactions.user_ids, ["ghost"]])
    items = np.resize(interactions.item_ids, len(users))
    assert np.array_equal(loaded.predict(users, items), fitted.predict(users, items))
    a, b = fitted.recommend(users, n=4), loaded.recommend(users, n=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1], equal_nan=True)


def test_file_is_npz_with_json_header_and_no_pickle(fitted, tmp_path):
    path = tmp_path / "model.bin"  # the exact path is used, no suffix added
    fitted.save(path)
    with np.load(path, allow_pickle=False) as npz:
        header = json.loads(npz["__header__"].tobytes())
        assert all(npz[name].dtype != object for name in npz.files)
    assert header["format"] == "fastcf-model" and header["class"] == "BaselineOnly"


def test_int_and_mixed_ids(tmp_path):
    data = Interactions.from_arrays([10, 20, 20], [1, 2, 1], [1.0, 5.0, 3.0])
    m = BaselineOnly().fit(data)
    m.save(tmp_path / "m.npz")
    assert fastcf.load(tmp_path / "m.npz").predict([20], [1])[0] == m.predict([20], [1])[0]
    odd = Interactions.from_arrays(np.array([(1, 2), "a"], dtype=object), [1, 2], [1.0, 2.0])
    with pytest.raises(ValueError, match="cannot be saved without pickle"):
        BaselineOnly().fit(odd).save(tmp_path / "odd.npz")


def test_truncated_file(fitted, tmp_path):
    path = tmp_path / "model.npz"
    fitted.save(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a fastcf model file"):
        fastcf.load(path)


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a fastcf model file"):
        fastcf.load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.arange(3))
    with pytest.raises(ValueError, match="it has no header"):
        fastcf.load(plain)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __header__=np.array([{"class": "BaselineOnly"}], dtype=object))
    with pytest.raises(ValueError, match="not a fastcf model file"):
        fastcf.load(pickled)
    with pytest.raises(FileNotFoundError, match="no model file"):
        fastcf.load(tmp_path / "missing.npz")


def _read(path):
    """Every array of an .npz file, by name."""
    with np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


def _rewrite_header(src, dst, **changes):
    arrays = _read(src)
    header = json.loads(arrays["__header__"].tobytes())
    header.update(changes)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(dst, **arrays)


@pytest.mark.parametrize("changes, match", [
    ({"format": "other"}, "wrong format marker"),
    ({"version": 99}, "format version 99"),
    ({"class": "os.system"}, "unknown model class 'os.system'"),
    ({"params": {"epochs": "ten"}}, "invalid parameters"),
    ({"params": {"evil": 1}}, "invalid parameters"),
])
def test_bad_headers(fitted, tmp_path, changes, match):
    src, dst = tmp_path / "m.npz", tmp_path / "bad.npz"
    fitted.save(src)
    _rewrite_header(src, dst, **changes)
    with pytest.raises(ValueError, match=match):
        fastcf.load(dst)


def test_missing_arrays(fitted, tmp_path):
    src, dst = tmp_path / "m.npz", tmp_path / "bad.npz"
    fitted.save(src)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name != "user_bias_.npy":
                zout.writestr(name, zin.read(name))
    with pytest.raises(ValueError, match=r"incomplete: missing arrays \['user_bias_'\]"):
        fastcf.load(dst)


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(fastcf.NotFittedError):
        BaselineOnly().save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_params_that_are_not_json_are_refused(tmp_path):
    model = BaselineOnly().fit(Interactions.from_arrays([1, 2], [1, 1], [1.0, 2.0]))
    model.n_threads = object()
    with pytest.raises(ValueError, match="parameter n_threads=.* cannot be saved"):
        model.save(tmp_path / "m.npz")


# ------------------------------------------------------------ the registry
def test_the_registry_holds_the_public_models_only():
    assert {"BaselineOnly", "UserKNN", "ItemKNN", "MatrixFactorization", "MLPRecommender",
            "NeuMF"} <= set(persist.MODEL_CLASSES)
    assert not [name for name in persist.MODEL_CLASSES if name.startswith("_")]
    private = type("_Private", (), {})
    assert persist.register_model(private) is private
    assert "_Private" not in persist.MODEL_CLASSES


def test_persist_imports_no_model_module():
    """``base`` and the models import ``persist``, never the other way round."""
    tree = ast.parse(pathlib.Path(persist.__file__).read_text())
    imported = {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level > 0}
    assert imported <= {"_config", "_validation"}


def test_only_registered_classes_are_saved(fitted, tmp_path):
    class Unregistered:
        pass

    with pytest.raises(TypeError, match="model must be a fastcf estimator, got Unregistered"):
        persist.save(Unregistered(), tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


# ------------------------------------------- files written by earlier fastcf
FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "model_files"


def _generator():
    """tests/fixtures/make_model_files.py, whose ``outputs`` the expected values came from."""
    spec = importlib.util.spec_from_file_location("make_model_files",
                                                  FIXTURES.parent / "make_model_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def expected_outputs():
    return _read(FIXTURES / "expected.npz")


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.npz")
                                        if p.stem != "expected"))
def test_files_written_at_8216621_load_and_predict_the_same(name, expected_outputs):
    """Files of every class and kNN storage, written by the fastcf of commit 8216621
    (tests/fixtures/make_model_files.py), predict and recommend what they did then
    (factor models' recommend scores to rounding: they are now computed in the
    model's dtype, float32 for a float32 model)."""
    model = fastcf.load(FIXTURES / f"{name}.npz")
    if "knn" in name:
        # recommend of pearson / msd ranks by similarities shrunk by 100 since issue 15;
        # rank_shrinkage=0 is the unshrunk ranking these files recommended with
        model.set_params(rank_shrinkage=0.0)
    for key, value in _generator().outputs(model).items():
        want = expected_outputs[f"{name}.{key}"]
        if key == "recommend_scores" and hasattr(model, "_ranking_factors"):
            np.testing.assert_allclose(value, want, rtol=1e-6, atol=1e-12)
        else:
            np.testing.assert_array_equal(value, want)


# ----------------------------------------------- altered files, every class
MODELS = {
    "BaselineOnly": lambda: fastcf.BaselineOnly(epochs=1),
    # a dense sim_; the baseline mode and pearson_baseline fit the biases a kNN model saves
    "UserKNN": lambda: fastcf.UserKNN(k=3, mode="baseline"),
    "ItemKNN": lambda: fastcf.ItemKNN(k=3, max_neighbors=4, dtype=np.float32,  # top-k lists
                                      similarity="pearson_baseline"),
    "MatrixFactorization": lambda: fastcf.MatrixFactorization(factors=2, epochs=1),
    "MLPRecommender": lambda: fastcf.MLPRecommender(embedding_dim=2, hidden=(3,), epochs=1),
    "NeuMF": lambda: fastcf.NeuMF(factors=2, embedding_dim=2, hidden=(3,), epochs=1),
}


def _schema(name):
    return persist.MODEL_CLASSES[name]._state_schema


#: What the models of MODELS save empty: a dense UserKNN has no top-k lists, an ItemKNN
#: with top-k lists no dense matrix.
EMPTY = {("UserKNN", "nbr"), ("ItemKNN", "sim")}


def _arrays(kind=None, filled=False):
    """(class, array) of the schema of every class in MODELS (of an Array ``kind``;
    ``filled``: those not in EMPTY)."""
    return [(cls, array) for cls in MODELS for array, spec in _schema(cls).arrays.items()
            if (kind is None or spec.kind == kind)
            and not (filled and (cls, array[:array.index("_")]) in EMPTY)]


def _csrs():
    """(class, key) of every CSR of the models of MODELS not in EMPTY."""
    return [(cls, key) for cls in MODELS for key, field in _schema(cls).fields.items()
            if isinstance(field, CSR) and (cls, key) not in EMPTY]


@pytest.fixture(scope="module")
def model_files(interactions, tmp_path_factory):
    """The file each model of MODELS saves, and the model."""
    folder = tmp_path_factory.mktemp("models")
    files = {}
    for name, make in MODELS.items():
        model = make().fit(interactions)
        model.save(folder / f"{name}.npz")
        files[name] = (folder / f"{name}.npz", model)
    return files


def assert_refused(model_files, tmp_path, name, match, edit=None, header=None):
    """The file of the ``name`` model, with ``edit(arrays)`` applied to its arrays
    (a dict, changed in place) and ``header`` merged into its header, does not load."""
    arrays = _read(model_files[name][0])
    if edit is not None:
        edit(arrays)
    if header is not None:
        decoded = json.loads(arrays["__header__"].tobytes())
        decoded["params"].update(header)
        arrays["__header__"] = np.frombuffer(json.dumps(decoded).encode(), dtype=np.uint8)
    np.savez(tmp_path / "altered.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        fastcf.load(tmp_path / "altered.npz")


def _set(array, value, at=0):
    def edit(arrays):
        arrays[array] = arrays[array].copy()
        arrays[array].flat[at] = value
    return edit


@pytest.mark.parametrize("name, array", [  # a CSR's indices: see the CSR tests below
    (cls, array) for cls, array in _arrays(filled=True)
    if _schema(cls).arrays[array].shape and "_ind" not in array])
def test_an_array_with_rows_cut_off(model_files, tmp_path, name, array):
    full = _read(model_files[name][0])[array].shape
    found = (full[0] - 1, *full[1:])
    assert_refused(model_files, tmp_path, name,
                   rf"is corrupted: {array}\.shape == {re.escape(str(found))}, must be \(.*\) "
                   rf"== {re.escape(str(full))}",
                   lambda arrays: arrays.update({array: arrays[array][:-1]}))


@pytest.mark.parametrize("name, array", _arrays())
def test_an_array_of_another_kind_of_dtype(model_files, tmp_path, name, array):
    bad = np.int8 if _schema(name).arrays[array].kind == "f" else np.float64
    def retype(arrays):
        arrays[array] = np.zeros(arrays[array].shape, dtype=bad)
    assert_refused(model_files, tmp_path, name,
                   rf"is corrupted: {array}\.dtype == {np.dtype(bad)}, must be ", retype)


@pytest.mark.parametrize("name, array", [
    (cls, array) for cls, array in _arrays("f")
    if _schema(cls).arrays[array].dtype_param is not None])
def test_floats_of_another_precision_than_the_dtype_parameter(model_files, tmp_path, name,
                                                             array):
    _, model = model_files[name]
    wanted = np.dtype(model.dtype)
    other = np.float64 if wanted == np.float32 else np.float32
    def retype(arrays):
        arrays[array] = arrays[array].astype(other)
    assert_refused(model_files, tmp_path, name,
                   rf"{array}\.dtype == {np.dtype(other)}, must be {wanted} "
                   rf"\(dtype == {wanted}\)", retype)


@pytest.mark.parametrize("name, array", _arrays())
def test_an_array_with_one_more_dimension(model_files, tmp_path, name, array):
    ndim = len(_schema(name).arrays[array].shape)
    def expand(arrays):
        arrays[array] = arrays[array][..., None]
    assert_refused(model_files, tmp_path, name,
                   rf"is corrupted: {array}\.ndim == {ndim + 1}, must be {ndim}: \(", expand)


@pytest.mark.parametrize("name, array", _arrays("f", filled=True))
def test_nan_and_inf_values(model_files, tmp_path, name, array):
    for value in (np.nan, -np.inf):
        assert_refused(model_files, tmp_path, name,
                       f"is corrupted: {array} holds NaN or inf values", _set(array, value))


@pytest.mark.parametrize("name, array", _arrays())
def test_a_missing_array(model_files, tmp_path, name, array):
    assert_refused(model_files, tmp_path, name,
                   rf"is incomplete: missing arrays \['{array}'\]",
                   lambda arrays: arrays.pop(array))


@pytest.mark.parametrize("name", MODELS)
def test_an_extra_array(model_files, tmp_path, name):
    """Refused: fastcf never writes one, so the file was altered or comes from a fastcf
    whose format this one does not know; ignoring it could silently drop a part."""
    def add(arrays):
        arrays["weights_"] = np.zeros(2)
    assert_refused(model_files, tmp_path, name,
                   rf"is corrupted: it holds arrays \['weights_'\], which a {name} model file "
                   "does not have", add)


@pytest.mark.parametrize("name, key", _csrs())
@pytest.mark.parametrize("value", [-1, 10**6])
def test_a_csr_index_out_of_range(model_files, tmp_path, name, key, value):
    assert_refused(model_files, tmp_path, name,
                   rf"is corrupted: {key}_indices_ contain {value}, must lie in \[0, \d+\)",
                   _set(f"{key}_indices_", value, at=-1))


@pytest.mark.parametrize("name, key", _csrs())
def test_a_csr_indptr_that_decreases(model_files, tmp_path, name, key):
    def reverse(arrays):
        indptr = arrays[f"{key}_indptr_"].copy()
        indptr[1:-1] = indptr[1:-1][::-1]
        arrays[f"{key}_indptr_"] = indptr
    assert_refused(model_files, tmp_path, name,
                   f"is corrupted: {key}_indptr_ must be non-decreasing", reverse)


@pytest.mark.parametrize("name, key", _csrs())
def test_a_csr_indptr_that_does_not_run_from_0_to_nnz(model_files, tmp_path, name, key):
    def shift(arrays):
        arrays[f"{key}_indptr_"] = arrays[f"{key}_indptr_"] + 1
    assert_refused(model_files, tmp_path, name,
                   f"is corrupted: {key}_indptr_ must start with 0", shift)
    nnz = len(getattr(model_files[name][1], f"{key}_indices_"))
    assert_refused(model_files, tmp_path, name,
                   rf"is corrupted: {key}_indptr_\[-1\] == {nnz - 1} but "
                   rf"len\({key}_indices_\) == {nnz}", _set(f"{key}_indptr_", nnz - 1, at=-1))


@pytest.mark.parametrize("name, key", _csrs())
def test_a_csr_with_two_index_dtypes(model_files, tmp_path, name, key):
    def retype(arrays):
        indices = arrays[f"{key}_indices_"]
        other = np.int64 if indices.dtype == np.int32 else np.int32
        arrays[f"{key}_indices_"] = indices.astype(other)
    assert_refused(model_files, tmp_path, name,
                   rf"is corrupted: {key}_indptr_\.dtype == int\d+ but {key}_indices_\.dtype "
                   r"== int\d+; they must match", retype)


@pytest.mark.parametrize("name, params, match", [  # {n}: the number of users
    ("MatrixFactorization", {"factors": 3},
     r"user_factors_\.shape == \({n}, 2\), must be \(n_users, factors\) == \({n}, 3\)"),
    ("MatrixFactorization", {"dtype": "float64"},
     r"user_bias_\.dtype == float32, must be float64 \(dtype == float64\)"),
    # 2 x 2 embeddings -> 4 -> 1: 4 x 4 + 4 + 4 x 1 + 1 values
    ("MLPRecommender", {"hidden": [4]},
     r"dense_params_\.shape == \(19,\), must be \(n_dense,\) == \(25,\)"),
    ("MLPRecommender", {"embedding_dim": 3},
     r"user_embedding_\.shape == \({n}, 2\), must be \(n_users, embedding_dim\) == "
     r"\({n}, 3\)"),
    ("NeuMF", {"factors": 1},
     r"gmf_user_\.shape == \({n}, 2\), must be \(n_users, factors\) == \({n}, 1\)"),
    # 4 -> 3 -> 2 and (2 + 2) -> 1: 4 x 3 + 3 + 3 x 2 + 2 + 4 x 1 + 1 values
    ("NeuMF", {"hidden": [3, 2]},
     r"dense_params_\.shape == \(21,\), must be \(n_dense,\) == \(28,\)"),
    ("ItemKNN", {"dtype": "float64"},
     r"sim_\.dtype == float32, must be float64 \(dtype == float64\)"),
])
def test_parameters_that_do_not_fit_the_arrays(model_files, tmp_path, name, params, match):
    match = match.format(n=model_files[name][1].n_users_)
    assert_refused(model_files, tmp_path, name, "is corrupted: " + match, header=params)


@pytest.mark.parametrize("storage, drop_matrix, match", [  # {n}: the number of users
    ("neighbors", True, r"nbr_indptr_\.shape == \(1,\), must be \(n_nbr\+1,\) == "
                        r"\({n1},\)"),
    ("on_the_fly", False, r"sim_\.shape == \({n}, {n}\), must be \(n_dense, n_dense\) == "
                          r"\(0, 0\)"),
    ("dense", True, r"sim_\.shape == \(0, 0\), must be \(n_dense, n_dense\) == "
                    r"\({n}, {n}\)"),
    ("sparse", False, r"storage_ == 'sparse', must be one of \('dense', 'neighbors', "
                      r"'on_the_fly'\)"),
])
def test_a_knn_storage_that_does_not_fit_its_arrays(model_files, tmp_path, storage,
                                                    drop_matrix, match):
    """The storage a file names must come with its arrays (the dense matrix, or the
    top-k lists): the kernels read them without bounds checks."""
    def restore(arrays):
        arrays["storage_"] = np.array(storage)
        if drop_matrix:
            arrays["sim_"] = np.zeros((0, 0))
    n = model_files["UserKNN"][1].n_users_
    assert_refused(model_files, tmp_path, "UserKNN",
                   "is corrupted: " + match.format(n=n, n1=n + 1), restore)


@pytest.mark.parametrize("edit, match", [
    (lambda a: a.update(user_ids_=a["user_ids_"][:, None]),
     r"user_ids_ has dtype <U4 and shape \(\d+, 1\), must be 1-d"),
    (lambda a: a.update(item_ids_=np.zeros(20, dtype=[("a", "i4")])),
     r"item_ids_ has dtype \[\('a', '<i4'\)\] and shape \(20,\), must be 1-d"),
    (_set("user_ids_", "u002", at=0), "user_ids_ holds repeated ids"),
    (lambda a: a.update(item_ids_=a["item_ids_"][:-1]),
     r"item_bias_\.shape == \(20,\), must be \(n_items,\) == \(19,\)"),
])
def test_id_maps_that_do_not_fit(model_files, tmp_path, edit, match):
    assert_refused(model_files, tmp_path, "BaselineOnly", "is corrupted: " + match, edit)


def test_knn_biases_may_be_empty(model_files, tmp_path, interactions):
    """A kNN mode that does not read the biases may store them empty."""
    src, model = model_files["ItemKNN"]
    arrays = _read(src)
    arrays["user_bias_"] = arrays["item_bias_"] = np.zeros(0)
    np.savez(tmp_path / "lean.npz", **arrays)
    loaded = fastcf.load(tmp_path / "lean.npz")
    users, items = interactions.user_ids[:8], interactions.item_ids[:8]
    np.testing.assert_array_equal(loaded.predict(users, items), model.predict(users, items))
    arrays["user_bias_"] = np.zeros((0, 0))
    np.savez(tmp_path / "lean.npz", **arrays)
    with pytest.raises(ValueError, match=r"user_bias_\.ndim == 2, must be 1: \(n_users,\)"):
        fastcf.load(tmp_path / "lean.npz")


def test_arrays_that_do_not_fit_the_parameters_are_not_saved(interactions, tmp_path):
    model = fastcf.MatrixFactorization(factors=2, epochs=1).fit(interactions)
    model.set_params(factors=3)  # takes effect at the next fit: the arrays have 2 columns
    with pytest.raises(ValueError, match=r"this MatrixFactorization cannot be saved: its fitted "
                       r"arrays do not match its parameters: user_factors_\.shape == "
                       r"\(\d+, 2\), must be \(n_users, factors\) == \(\d+, 3\)"):
        model.save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_a_file_of_the_implicit_only_als_still_loads(interactions, tmp_path):
    """ALS files written before explicit ALS lack ``global_mean_``, ``rating_range_`` and
    the ``implicit`` parameter: they load as the implicit model they were."""
    model = fastcf.ALS(factors=4, iterations=2, seed=0).fit(interactions)
    model.save(tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz") as npz:
        arrays = {name: npz[name] for name in npz.files
                  if name not in ("global_mean_", "rating_range_")}
    header = json.loads(arrays[persist._HEADER].tobytes().decode("utf-8"))
    del header["params"]["implicit"]
    arrays[persist._HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    np.savez(tmp_path / "old.npz", **arrays)
    loaded = fastcf.load(tmp_path / "old.npz")
    assert loaded.implicit and not loaded.predicts_ratings
    users, items = interactions.user_ids, np.resize(interactions.item_ids, interactions.n_users)
    assert np.array_equal(loaded.predict(users, items), model.predict(users, items))
    assert np.array_equal(loaded.recommend(users, n=3)[0], model.recommend(users, n=3)[0])


def test_an_explicit_als_file_without_its_mean_is_incomplete(interactions, tmp_path):
    model = fastcf.ALS(factors=4, iterations=2, seed=0, implicit=False).fit(interactions)
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz") as npz:
        arrays = {name: npz[name] for name in npz.files if name != "global_mean_"}
    np.savez(tmp_path / "cut.npz", **arrays)
    with pytest.raises(ValueError, match="incomplete: missing arrays \\['global_mean_'\\]"):
        fastcf.load(tmp_path / "cut.npz")
