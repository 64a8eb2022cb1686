"""save / load: a round trip is exact; bad files give clear errors; no pickle."""

import ast
import importlib.util
import json
import pathlib
import zipfile

import numpy as np
import pytest

import fastcf
from fastcf import BaselineOnly, Interactions, persist


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


def _rewrite_header(src, dst, **changes):
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
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
    with np.load(FIXTURES / "expected.npz") as npz:
        return {key: npz[key] for key in npz.files}


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.npz")
                                        if p.stem != "expected"))
def test_files_written_at_8216621_load_and_predict_the_same(name, expected_outputs):
    """Files of every class and kNN storage, written by the fastcf of commit 8216621
    (tests/fixtures/make_model_files.py), predict and recommend what they did then."""
    model = fastcf.load(FIXTURES / f"{name}.npz")
    for key, value in _generator().outputs(model).items():
        np.testing.assert_array_equal(value, expected_outputs[f"{name}.{key}"])
