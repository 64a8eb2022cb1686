"""accuracy and dump of fastcf.compat.surprise (hand-worked values; no pickle anywhere)."""

import json
import zipfile

import numpy as np
import pytest

from fastcf.compat.surprise import (
    SVD,
    AlgoBase,
    BaselineOnly,
    KNNWithMeans,
    Prediction,
    accuracy,
    dump,
)

#: (uid, iid, r_ui, est): squared errors 1, 0, 2.25, 1, 1, 0, 1, 0.
PREDS = [("a", 1, 1.0, 2.0), ("a", 2, 3.0, 3.0), ("b", 1, 5.0, 3.5), ("b", 2, 2.0, 3.0),
         ("c", 1, 1.0, 2.0), ("c", 2, 2.0, 2.0), ("d", 1, 1.0, 2.0), ("d", 2, 2.0, 2.0)]


def _preds(rows=PREDS):
    return [Prediction(u, i, r, e, {"was_impossible": False}) for (u, i, r, e) in rows]


def test_rmse_mse_mae_hand_worked(capsys):
    predictions = _preds()
    assert accuracy.mse(predictions, verbose=False) == 6.25 / 8
    assert accuracy.rmse(predictions) == np.sqrt(6.25 / 8)
    assert capsys.readouterr().out == f"RMSE: {np.sqrt(6.25 / 8):1.4f}\n"
    assert accuracy.mae(predictions) == 5.5 / 8
    assert capsys.readouterr().out == f"MAE:  {5.5 / 8:1.4f}\n"
    assert accuracy.mse([(None, None, 0, 2, None), (None, None, 0, 0, None)]) == 2.0


def test_fcp_hand_worked():
    # a, b: one concordant pair each; c: est ordered against r (discordant); d: a tie on
    # est counts as discordant. Surprise averages n_c over the users with n_c > 0 (a, b)
    # and n_d over those with n_d > 0 (c, d): 1 / (1 + 1).
    assert accuracy.fcp(_preds(), verbose=False) == 0.5
    assert accuracy.fcp(_preds(PREDS[:4]), verbose=False) == 1.0
    rows = [("u", k, float(k % 3), float(-k)) for k in range(2500)]  # blocks of 1024 rows
    r = np.array([row[2] for row in rows])
    e = np.array([row[3] for row in rows])
    nd = int(np.sum((e[:, None] >= e[None, :]) & (r[:, None] < r[None, :])))
    nc = int(np.sum((e[:, None] > e[None, :]) & (r[:, None] > r[None, :])))
    assert accuracy.fcp(_preds(rows), verbose=False) == nc / (nc + nd)


def test_accuracy_bad_input():
    for measure in (accuracy.rmse, accuracy.mse, accuracy.mae, accuracy.fcp):
        with pytest.raises(ValueError, match="Prediction list is empty"):
            measure([])
    with pytest.raises(ValueError, match="cannot compute fcp"):
        accuracy.fcp(_preds([("a", 1, 1.0, 1.0), ("a", 2, 1.0, 1.0)]))


# --------------------------------------------------------------------- dump
def _header(path):
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    with np.load(path, allow_pickle=False) as npz:
        return names, json.loads(npz["__header__"].tobytes().decode())


def test_dump_predictions_round_trip(tmp_path):
    predictions = [
        Prediction("u1", 7, 4.0, 3.5, {"actual_k": 3, "was_impossible": False}),
        Prediction(9, "i2", None, 3.1, {"was_impossible": True, "reason": "Not enough."}),
        Prediction("u1", 7, 2, 2.0, {"was_impossible": False}),
    ]
    path = tmp_path / "preds"  # written as is, no .npz appended
    dump.dump(str(path), predictions=predictions, verbose=1)
    loaded, algo = dump.load(str(path))
    assert algo is None and loaded == predictions
    assert [type(p.uid) for p in loaded] == [str, int, str]
    names, header = _header(path)
    assert "est.npy" in names and header["format"] == "fastcf-surprise-dump"
    custom = [Prediction("u", "i", 1.0, 2.0, {"was_impossible": False, "note": [1, "x"]})]
    dump.dump(path, custom)
    assert dump.load(path)[0] == custom


def test_dump_nothing(tmp_path):
    dump.dump(tmp_path / "empty")
    assert dump.load(tmp_path / "empty") == (None, None)


@pytest.mark.parametrize("make", [
    lambda: BaselineOnly(bsl_options={"method": "als", "reg_i": 5}, verbose=False),
    lambda: KNNWithMeans(k=5, sim_options={"name": "pearson", "user_based": False},
                         verbose=False),
    lambda: SVD(n_factors=3, n_epochs=3, lr_all=0.01, random_state=0),
])
def test_dump_algorithm_round_trip(make, split, tmp_path):
    trainset, testset = split
    path = tmp_path / "algo.dump"
    dump.dump(path, algo=make())  # unfitted: its parameters only
    _, unfitted = dump.load(path)
    assert vars(unfitted) == vars(make())
    algo = make().fit(trainset)
    predictions = algo.test(testset)
    dump.dump(path, predictions, algo)
    loaded_predictions, loaded = dump.load(path)
    assert loaded_predictions == predictions
    assert type(loaded) is type(algo) and loaded.test(testset) == predictions
    assert loaded.trainset.build_testset() == trainset.build_testset()
    names, _ = _header(path)
    assert "model.npy" in names


def test_dump_refuses_custom_algorithms(tmp_path, tiny_trainset):
    class Mine(AlgoBase):
        def estimate(self, u, i):
            return 3

    with pytest.raises(TypeError, match="not a Mine: a custom class would need pickle"):
        dump.dump(tmp_path / "x", algo=Mine().fit(tiny_trainset))
    with pytest.raises(TypeError, match="cannot dump uid: its values are neither"):
        dump.dump(tmp_path / "x", [Prediction(("tuple", "id"), "i", 1.0, 1.0, {})])


def test_load_refuses_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="is not a dump written by fastcf.compat.surprise"):
        dump.load(tmp_path / "other.npz")
    path = tmp_path / "future"
    header = {"format": "fastcf-surprise-dump", "version": 99, "predictions": None,
              "algo": None}
    with open(path, "wb") as f:
        np.savez(f, __header__=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    with pytest.raises(ValueError, match="version 99; this fastcf reads up to version 1"):
        dump.load(path)
