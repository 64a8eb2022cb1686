"""_parallel, kernels._registry and _validation: the plumbing every entry point uses."""

import numba
import numpy as np
import pytest

from fastcf import config_info, show_config
from fastcf._parallel import numba_threads, resolve_n_threads, usable_cores
from fastcf._validation import (
    check_choice,
    check_csr_arrays,
    check_float,
    check_int,
    check_random_state,
    check_value_dtype,
)
from fastcf.kernels import _registry


def test_n_threads_follows_scikit_learn():
    assert resolve_n_threads(None) == usable_cores()
    assert resolve_n_threads(-1) == usable_cores()
    assert resolve_n_threads(3) == 3
    with pytest.raises(ValueError, match="n_threads == 0, must be >= 1, -1 or None"):
        resolve_n_threads(0)
    with pytest.raises(ValueError, match="n_threads == -2"):
        resolve_n_threads(-2)
    with pytest.raises(TypeError, match="n_threads must be an int or None, got float"):
        resolve_n_threads(2.0)
    with pytest.raises(TypeError, match="got bool"):
        resolve_n_threads(True)


def test_numba_thread_count_is_restored_even_on_error():
    before = numba.get_num_threads()
    with numba_threads(1) as n:
        assert n == 1 and numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with pytest.raises(RuntimeError, match="boom"), numba_threads(1):
        raise RuntimeError("boom")
    assert numba.get_num_threads() == before
    with numba_threads(10_000) as n:  # clipped to Numba's pool
        assert n == numba.config.NUMBA_NUM_THREADS


def test_backend_registry():
    assert _registry.available_backends()["numba"]
    kernel, name = _registry.get_kernel("bias_sweep", "auto")
    assert name in ("numba", "cython") and callable(kernel)
    assert _registry.get_kernel("bias_sweep", "reference")[1] == "reference"
    with pytest.raises(ValueError, match="backend == 'gpu', must be one of"):
        _registry.get_kernel("bias_sweep", "gpu")
    with pytest.raises(TypeError, match="backend must be a str"):
        _registry.get_kernel("bias_sweep", 1)
    with pytest.raises(ValueError, match="no kernel family named 'nope'"):
        _registry.get_kernel("nope")
    with pytest.raises(ValueError, match="backend == 'fortran', must be one of"):
        _registry.register("x", numba=print, reference=print, auto=("fortran",))


def test_family_without_that_backend(monkeypatch):
    monkeypatch.setitem(_registry._REGISTRY, "only_ref", {"reference": print})
    with pytest.raises(ValueError, match="backend 'numba' has no 'only_ref' kernel"):
        _registry.get_kernel("only_ref", "numba")
    monkeypatch.setitem(_registry._REGISTRY, "only_cy", {"cython": print})
    monkeypatch.setattr(_registry, "cython_status", lambda: (False, "not built (test)"))
    with pytest.raises(ValueError, match="no available backend implements 'only_cy'"):
        _registry.get_kernel("only_cy")


def test_auto_preference_is_honoured():
    try:
        _registry.set_auto_preference("bias_sweep", ("reference",))
        assert _registry.get_kernel("bias_sweep")[1] == "reference"
    finally:
        _registry._AUTO_PREFERENCE.pop("bias_sweep")


def test_unavailable_backend_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_registry, "cython_status", lambda: (False, "not built (test)"))
    with pytest.raises(ValueError, match="'cython' is not available: not built"):
        _registry.get_kernel("bias_sweep", "cython")
    assert _registry.get_kernel("bias_sweep")[1] != "cython"


def test_show_config_reports_everything(capsys):
    info = show_config()
    out = capsys.readouterr().out
    for key in ("numba_threading_layer", "cython_openmp", "default_n_threads", "backends"):
        assert key in info and key in out
    assert info == {**config_info(), "numba_threading_layer": info["numba_threading_layer"]}


def test_scalar_checks():
    assert check_int("k", 3, min_value=1) == 3
    with pytest.raises(ValueError, match="k == 0, must be >= 1."):
        check_int("k", 0, min_value=1)
    with pytest.raises(ValueError, match="k == 9, must be <= 5."):
        check_int("k", 9, max_value=5)
    with pytest.raises(TypeError, match="k must be an int, got float"):
        check_int("k", 1.5)
    assert check_float("lr", 1) == 1.0
    with pytest.raises(ValueError, match="lr == 0.0, must be > 0"):
        check_float("lr", 0.0, min_value=0.0, min_inclusive=False)
    with pytest.raises(ValueError, match="lr == 2.0, must be < 1"):
        check_float("lr", 2.0, max_value=1, max_inclusive=False)
    with pytest.raises(ValueError, match="lr == nan, must be finite"):
        check_float("lr", float("nan"))
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        check_float("lr", "1")
    with pytest.raises(ValueError, match="mode == 'x', must be one of"):
        check_choice("mode", "x", ("a", "b"))
    with pytest.raises(TypeError, match="mode must be a str"):
        check_choice("mode", 1, ("a",))
    assert check_value_dtype("float32") == np.float32
    with pytest.raises(TypeError, match="is not a dtype"):
        check_value_dtype("banana")
    assert isinstance(check_random_state(1), np.random.Generator)
    with pytest.raises(ValueError, match="seed == -1, must be >= 0"):
        check_random_state(-1)
    with pytest.raises(TypeError, match="seed must be an int, None or a numpy Generator"):
        check_random_state("1")


def test_csr_checks():
    indptr = np.array([0, 1, 2], dtype=np.int32)
    indices = np.array([0, 1], dtype=np.int32)
    data = np.ones(2)
    check_csr_arrays(indptr, indices, data, n_cols=2)
    cases = [
        ((indptr.astype(np.int16), indices, data), TypeError, "indptr.dtype == int16"),
        ((indptr, indices.astype(np.int64), data), TypeError, "they must match"),
        ((indptr, indices, data.astype(np.int64)), TypeError, "data.dtype == int64"),
        ((list(indptr), indices, data), TypeError, "indptr must be a numpy array"),
        ((indptr[None], indices, data), ValueError, "indptr.ndim == 2, must be 1"),
        ((indptr + 1, indices, data), ValueError, "indptr must start with 0"),
        ((np.array([0, 3], np.int32), indices, data), ValueError, r"indptr\[-1\] == 3"),
        ((indptr, indices, np.ones(3)), ValueError, "len\\(data\\) == 3"),
        ((np.array([0, 2, 1, 2], np.int32), indices, data), ValueError, "non-decreasing"),
        ((indptr, np.array([0, 5], np.int32), data), ValueError, "indices contain 5"),
    ]
    for args, exc, match in cases:
        with pytest.raises(exc, match=match):
            check_csr_arrays(*args, n_cols=2)
    strided = np.ones(4)[::2]
    with pytest.warns(UserWarning, match="data is not C-contiguous; copying it"):
        out = check_csr_arrays(indptr, indices, strided, n_cols=2)
    assert out[2].flags.c_contiguous


def test_check_memory_refuses_past_the_limit(monkeypatch):
    from fastcf import _config
    from fastcf._validation import check_memory, format_bytes, physical_memory

    assert physical_memory() is None or physical_memory() > 0
    check_memory(0, "nothing", k=1)
    monkeypatch.setattr(_config, "MEMORY_LIMIT", 1024)
    check_memory(1024, "one KiB", k=1)
    with pytest.raises(ValueError, match=r"factors == 7: the factor matrices would need "
                                         r"2\.0 KiB, more than the 1\.0 KiB of memory here; "
                                         "lower factors"):
        check_memory(2048, "the factor matrices", factors=7)
    assert format_bytes(3) == "3 B" and format_bytes(5 * 1024**5) == "5,120.0 TiB"
