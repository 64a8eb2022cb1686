"""Write ``tests/fixtures/surprise_similarity.npz``: Surprise's similarity matrices.

The parity tests (``tests/test_similarity_parity.py``) hold fastcf's
similarity reference and backends to scikit-surprise without needing it
installed; this script, which does need it (the ``[bench]`` extra), makes the
fixture they load. Re-run it only when the fixture's content should change:

    python benchmarks/make_surprise_fixture.py [--out tests/fixtures/surprise_similarity.npz]

The ratings are ``fastcf.datasets.make_ratings(60, 40, 700, seed=7)`` edited so
that they contain the awkward cases: a user with a single rating, a user whose
ratings are all equal, an item whose ratings are all equal and an item with a
single rating. The rows are shuffled before Surprise sees them, so Surprise's
inner ids (order of first appearance) differ from fastcf's sorted internal
order and the tests must align them.

Stored arrays
-------------
users, items, ratings
    The ratings in the order given to Surprise (int64, int64, float64).
user_order, item_order
    Raw ids in Surprise's inner-id order (``trainset.to_raw_uid(inner)``).
{user,item}_{cosine,msd,pearson,pearson_baseline}
    ``KNNBasic(sim_options={"name": ..., "user_based": ...}).fit(trainset).sim``
    with Surprise's defaults (min_support 1; pearson_baseline: shrinkage 100 and
    ALS baselines reg_u 15, reg_i 10, 10 epochs), rows/columns in inner order.
bu, bi
    Surprise's ALS baselines in inner order; global_mean its mean rating.
surprise_version
    The version that made the file.
"""

import argparse
from pathlib import Path

import numpy as np

from fastcf.datasets import make_ratings

KINDS = ("cosine", "msd", "pearson", "pearson_baseline")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "surprise_similarity.npz"


def make_frame(seed=7):
    """The synthetic ratings with the edge cases planted, rows shuffled."""
    frame = make_ratings(60, 40, 700, seed=seed).to_frame()
    user_sizes = frame.groupby("user").size().sort_values(kind="stable")
    item_sizes = frame.groupby("item").size().sort_values(kind="stable")
    single_user, constant_user = user_sizes.index[0], user_sizes.index[1]
    constant_item, single_item = item_sizes.index[0], item_sizes.index[1]
    # a user with exactly one rating
    rows = frame.index[frame["user"] == single_user]
    frame = frame.drop(rows[1:])
    # an item with exactly one rating
    rows = frame.index[frame["item"] == single_item]
    frame = frame.drop(rows[1:])
    # a user and an item whose ratings are all equal
    frame.loc[frame["user"] == constant_user, "rating"] = 3.0
    frame.loc[frame["item"] == constant_item, "rating"] = 4.0
    rng = np.random.default_rng(seed)
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    return frame


def surprise_trainset(frame):
    """(Surprise's trainset of ``frame``, the fixture arrays every parity fixture holds:
    the ratings, Surprise's inner user / item order, its global mean and version)."""
    import surprise

    trainset = surprise.Dataset.load_from_df(
        frame[["user", "item", "rating"]], surprise.Reader(rating_scale=(1, 5))
    ).build_full_trainset()
    return trainset, {
        "users": frame["user"].to_numpy(dtype=np.int64),
        "items": frame["item"].to_numpy(dtype=np.int64),
        "ratings": frame["rating"].to_numpy(dtype=np.float64),
        "user_order": np.array([trainset.to_raw_uid(u) for u in range(trainset.n_users)],
                               dtype=np.int64),
        "item_order": np.array([trainset.to_raw_iid(i) for i in range(trainset.n_items)],
                               dtype=np.int64),
        "global_mean": np.float64(trainset.global_mean),
        "surprise_version": np.array(surprise.__version__),
    }


def main(argv=None):
    import surprise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    frame = make_frame()
    trainset, arrays = surprise_trainset(frame)
    for user_based in (True, False):
        for kind in KINDS:
            algo = surprise.KNNBasic(sim_options={"name": kind, "user_based": user_based},
                                     verbose=False)
            algo.fit(trainset)
            sim = np.asarray(algo.sim, dtype=np.float64)
            if not np.all(np.isfinite(sim)):
                raise RuntimeError(f"Surprise's {kind} (user_based={user_based}) has "
                                   "non-finite values; change the data.")
            arrays[f"{'user' if user_based else 'item'}_{kind}"] = sim
            if kind == "pearson_baseline":
                arrays["bu"], arrays["bi"] = np.asarray(algo.bu), np.asarray(algo.bi)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}: {len(frame)} ratings, {trainset.n_users} users, "
          f"{trainset.n_items} items (Surprise {surprise.__version__})")


if __name__ == "__main__":
    main()
