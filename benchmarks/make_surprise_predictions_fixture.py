"""Write ``tests/fixtures/surprise_predictions/<name>.npz``: Surprise's predictions.

Every fastcf model's ``surprise_compat=True`` mode promises Surprise's
predictions for the same ``random_state``; ``tests/test_surprise_parity.py``
holds it to these files without needing scikit-surprise. This script, which
does need it (the ``[bench]`` extra), makes them. Re-run it for the entries
whose content should change:

    python benchmarks/make_surprise_predictions_fixture.py [--only NAME ...]

The data set is what a new user brings: half-star ratings (0.5 to 5) with
string ids, in file order (neither users nor items sorted, each user's ratings
scattered through the file), so Surprise's inner ids and visiting order differ
from fastcf's sorted ones, and equal similarities are common (the tie rule
matters). The test pairs are held-out ratings plus pairs with an unknown user,
an unknown item, or both.

Stored arrays
-------------
``data.npz``:

train_uid, train_iid, train_rating
    The training ratings in file order (str, str, float64), as given to
    ``Dataset.load_from_df(..., Reader(rating_scale=(0.5, 5)))``.
test_uid, test_iid, test_rating
    The test pairs (``r_ui`` as passed to ``algo.test``).
surprise_version
    The version that made the files.

``<name>.npz``, one per entry of ``ALGORITHMS``:

est
    ``algo.test(testset)[k].est`` (clipped to the rating scale, as Surprise
    does by default).
was_impossible
    ``details["was_impossible"]`` per prediction.
actual_k
    ``details.get("actual_k", -1)``.
algorithm, params
    The Surprise class name and its parameters (``repr`` of the dict).
numpy_seed
    Only for the entries of ``NUMPY_SEEDS``: the global seed set before the test.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from fastcf.datasets import make_ratings

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "surprise_predictions"

#: name -> (Surprise class name, its parameters). A fastcf model joins the parity
#: tests by adding its entries here and to ``tests/test_surprise_parity.py``.
ALGORITHMS = {
    "baseline_als": ("BaselineOnly", {}),
    "baseline_sgd": ("BaselineOnly", {"bsl_options": {"method": "sgd"}}),
    "slopeone": ("SlopeOne", {}),
    "svd": ("SVD", {"random_state": 3}),
    "svd_unbiased": ("SVD", {"biased": False, "n_factors": 10, "n_epochs": 15,
                             "random_state": 5}),
    "coclustering": ("CoClustering", {"random_state": 1}),
    "coclustering_5x4": ("CoClustering", {"n_cltr_u": 5, "n_cltr_i": 4, "n_epochs": 10,
                                          "random_state": 2}),
    "nmf": ("NMF", {"random_state": 2}),
    "nmf_biased": ("NMF", {"biased": True, "random_state": 4}),
    "normal": ("NormalPredictor", {}),
    "svdpp": ("SVDpp", {"random_state": 7}),
    "svdpp_small": ("SVDpp", {"n_factors": 5, "n_epochs": 10, "lr_all": 0.01, "reg_yj": 0.05,
                              "random_state": 2}),
}
#: Entries whose predictions draw from NumPy's global RandomState (Surprise's
#: NormalPredictor): ``numpy.random.seed`` gets this value right before ``algo.test``.
NUMPY_SEEDS = {"normal": 7}
for _mode in ("KNNBasic", "KNNWithMeans", "KNNWithZScore", "KNNBaseline"):
    for _sim in ("msd", "cosine", "pearson", "pearson_baseline"):
        for _user_based in (True, False):
            ALGORITHMS[f"{_mode.lower()}_{_sim}_{'user' if _user_based else 'item'}"] = (
                _mode, {"k": 20, "sim_options": {"name": _sim, "user_based": _user_based}})


def make_data(seed=16):
    """(train, test) frames of uid, iid, rating: half stars, string ids, file order."""
    frame = make_ratings(120, 90, 3000, seed=seed).to_frame()
    rng = np.random.default_rng(seed)
    frame["rating"] = np.clip(np.round(frame["rating"].to_numpy() * 2) / 2, 0.5, 5.0)
    # ids whose string order is not their first-seen order
    user_names = {u: f"user{name}" for u, name in zip(
        frame["user"].unique(), rng.permutation(frame["user"].nunique()))}
    item_names = {i: f"item{name}" for i, name in zip(
        frame["item"].unique(), rng.permutation(frame["item"].nunique()))}
    frame = pd.DataFrame({"uid": frame["user"].map(user_names),
                          "iid": frame["item"].map(item_names),
                          "rating": frame["rating"].astype(np.float64)})
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    is_test = rng.random(len(frame)) < 0.15
    train = frame[~is_test].reset_index(drop=True)
    test = frame[is_test]
    test = test[test["uid"].isin(train["uid"]) & test["iid"].isin(train["iid"])]
    unknown = pd.DataFrame({
        "uid": ["nobody", "nobody", train["uid"].iat[0], "nobody2"],
        "iid": [train["iid"].iat[0], train["iid"].iat[1], "nothing", "nothing2"],
        "rating": [3.0, 4.0, 2.5, 1.0]})
    return train, pd.concat([test, unknown], ignore_index=True)


def surprise_predictions(class_name, params, train, test, numpy_seed=None):
    import surprise

    data = surprise.Dataset.load_from_df(train[["uid", "iid", "rating"]],
                                         surprise.Reader(rating_scale=(0.5, 5.0)))
    algo = getattr(surprise, class_name)(**params)
    algo.fit(data.build_full_trainset())
    if numpy_seed is not None:
        np.random.seed(numpy_seed)  # noqa: NPY002 (Surprise draws from the global one)
    predictions = algo.test(list(test[["uid", "iid", "rating"]].itertuples(index=False,
                                                                            name=None)))
    return {
        "est": np.array([p.est for p in predictions], dtype=np.float64),
        "was_impossible": np.array([p.details["was_impossible"] for p in predictions]),
        "actual_k": np.array([p.details.get("actual_k", -1) for p in predictions],
                             dtype=np.int64),
    }


def main(argv=None):
    import surprise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(ALGORITHMS), default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    train, test = make_data()
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out / "data.npz",
        train_uid=train["uid"].to_numpy(str), train_iid=train["iid"].to_numpy(str),
        train_rating=train["rating"].to_numpy(np.float64),
        test_uid=test["uid"].to_numpy(str), test_iid=test["iid"].to_numpy(str),
        test_rating=test["rating"].to_numpy(np.float64),
        surprise_version=np.array(surprise.__version__))
    for name in args.only or ALGORITHMS:
        class_name, params = ALGORITHMS[name]
        arrays = surprise_predictions(class_name, params, train, test, NUMPY_SEEDS.get(name))
        if name in NUMPY_SEEDS:
            arrays["numpy_seed"] = np.array(NUMPY_SEEDS[name])
        np.savez_compressed(args.out / f"{name}.npz", algorithm=np.array(class_name),
                            params=np.array(repr(params)), **arrays)
        print(f"{name}: {len(test)} predictions")


if __name__ == "__main__":
    main()
