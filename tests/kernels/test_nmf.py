"""The NMF epoch kernel: every backend x thread count against the reference."""

import numpy as np
import pytest
from conftest import BACKENDS, THREADS

from fastcf.kernels import nmf_epoch


def _layout(data, index_dtype=None):
    """The by-user and by-item arrays of ``data`` (as fastcf's NMF lays them out)."""
    by_user, by_item = data.by_user, data.by_item
    dtype = index_dtype or by_user.indptr.dtype
    return (by_user.indptr.astype(dtype), by_user.indices.astype(dtype),
            by_user.data.astype(np.float64), by_item.indptr.astype(dtype),
            by_item.indices.astype(dtype), data.item_order.astype(dtype))


def _state(data, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.0, 1.0, (data.n_users, k)), rng.uniform(0.0, 1.0, (data.n_items, k)),
            np.zeros(data.n_users), np.zeros(data.n_items))


def _epochs(data, biased, backend, n_threads=None, epochs=3, user_order=None,
            index_dtype=None):
    """(user_factors, item_factors, user_bias, item_bias, losses) after ``epochs``."""
    pu, qi, bu, bi = _state(data)
    layout = _layout(data, index_dtype)
    order = None if user_order is None else user_order.astype(layout[0].dtype)
    losses = [nmf_epoch(*layout, pu, qi, 0.06, 0.05, biased=biased, mu=3.1, user_bias=bu,
                        item_bias=bi, lr_bu=0.01, lr_bi=0.02, reg_bu=0.03, reg_bi=0.04,
                        user_order=order, backend=backend, n_threads=n_threads)
              for _ in range(epochs)]
    return pu, qi, bu, bi, np.array(losses)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("biased", [False, True])
def test_matches_reference(with_empty_rows, backend, n_threads, biased):
    order = np.random.default_rng(2).permutation(with_empty_rows.n_users)
    want = _epochs(with_empty_rows, biased, "reference", user_order=order)
    got = _epochs(with_empty_rows, biased, backend, n_threads, user_order=order)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("biased", [False, True])
def test_thread_count_does_not_change_result(interactions, backend, biased):
    one = _epochs(interactions, biased, backend, n_threads=1)
    two = _epochs(interactions, biased, backend, n_threads=2)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_int64_indices_give_the_same_epoch(interactions, backend):
    narrow = _epochs(interactions, True, backend, index_dtype=np.int32)
    wide = _epochs(interactions, True, backend, index_dtype=np.int64)
    for a, b in zip(narrow, wide):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_factors_stay_non_negative_and_rows_without_ratings_stay(with_empty_rows):
    pu, qi, _, _, losses = _epochs(with_empty_rows, False, "numba", epochs=20)
    first_pu, first_qi, _, _ = _state(with_empty_rows)
    assert (pu >= 0).all() and (qi >= 0).all()
    np.testing.assert_array_equal(pu[4], first_pu[4])  # the empty user row
    np.testing.assert_array_equal(qi[7], first_qi[7])  # the empty item column
    assert losses[-1] < losses[0]


def test_a_zero_factor_stays_zero(interactions):
    pu, qi, bu, bi = _state(interactions)
    pu[:, 1] = 0.0
    nmf_epoch(*_layout(interactions), pu, qi, 0.06, 0.06)
    assert (pu[:, 1] == 0.0).all() and (pu[:, 0] > 0).all()


def test_unbiased_epochs_leave_the_biases_alone(interactions):
    pu, qi, bu, bi = _state(interactions)
    bu += 1.0
    nmf_epoch(*_layout(interactions), pu, qi, 0.06, 0.06, biased=False, user_bias=bu,
              item_bias=bi)
    assert (bu == 1.0).all() and (bi == 0.0).all()


def test_bad_input(interactions):
    layout = _layout(interactions)
    indptr, indices, ratings, item_indptr, item_users, item_entries = layout
    pu, qi, bu, bi = _state(interactions)

    def call(*args, **kwargs):
        args = list(args) if args else [*layout, pu.copy(), qi.copy()]
        return nmf_epoch(*args, *([0.06, 0.06] if len(args) == 8 else []), **kwargs)

    with pytest.raises(TypeError, match="user_factors must be a 2-d float64 numpy array"):
        call(*layout, pu.astype(np.float32), qi)
    with pytest.raises(ValueError, match="item_factors must be C-contiguous and writeable"):
        call(*layout, pu.copy(), np.asfortranarray(qi))
    with pytest.raises(ValueError, match="user_factors contain NaN or inf"):
        call(*layout, np.full_like(pu, np.nan), qi.copy())
    with pytest.raises(ValueError, match="user_factors has 4 columns but item_factors has 3"):
        call(*layout, pu.copy(), qi[:, :3].copy())
    with pytest.raises(TypeError, match="ratings.dtype == float32, must be float64"):
        call(indptr, indices, ratings.astype(np.float32), *layout[3:], pu.copy(), qi.copy())
    bad = ratings.copy()
    bad[0] = np.inf
    with pytest.raises(ValueError, match="ratings contain NaN or inf"):
        call(indptr, indices, bad, *layout[3:], pu.copy(), qi.copy())
    with pytest.raises(ValueError, match="indptr has .* user_factors and item_factors need"):
        call(*layout, pu[:-1].copy(), qi.copy())
    with pytest.raises(ValueError, match="indices contain"):
        call(indptr, indices + 100, *layout[2:], pu.copy(), qi.copy())
    with pytest.raises(TypeError, match="item_entries must be a 1-d int"):
        call(*layout[:5], item_entries.astype(np.float64), pu.copy(), qi.copy())
    with pytest.raises(ValueError, match="len\\(item_entries\\) == 1"):
        call(*layout[:5], item_entries[:1], pu.copy(), qi.copy())
    with pytest.raises(ValueError, match="item_entries must hold every by-user position once"):
        call(*layout[:5], np.zeros_like(item_entries), pu.copy(), qi.copy())
    with pytest.raises(ValueError, match="the by-item arrays do not describe the by-user"):
        call(*layout[:5], item_entries[::-1].copy(), pu.copy(), qi.copy())
    with pytest.raises(ValueError, match="user_order must be a permutation"):
        call(user_order=np.zeros(interactions.n_users, dtype=indptr.dtype))
    with pytest.raises(ValueError, match="user_order must lie in"):
        call(user_order=np.full(interactions.n_users, -1, dtype=indptr.dtype))
    with pytest.raises(ValueError, match="reg_pu == -1.0, must be >= 0.0"):
        nmf_epoch(*layout, pu.copy(), qi.copy(), -1.0, 0.06)
    with pytest.raises(TypeError, match="biased must be a bool"):
        call(biased=1)
    with pytest.raises(TypeError, match="user_bias must be a 1-d float64"):
        call(biased=True, user_bias=None, item_bias=bi)
    with pytest.raises(ValueError, match="item_bias.shape == \\(2,\\)"):
        call(biased=True, user_bias=bu, item_bias=np.zeros(2))
    with pytest.raises(ValueError, match="lr_bu == -0.1, must be >= 0.0"):
        call(biased=True, user_bias=bu, item_bias=bi, lr_bu=-0.1)
    with pytest.raises(ValueError, match="n_threads == 0"):
        call(n_threads=0)
    with pytest.raises(ValueError, match="backend == 'gpu'"):
        call(backend="gpu")
