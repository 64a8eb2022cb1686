"""Thread-count resolution and the Numba thread-count context manager."""

import os
from contextlib import contextmanager
from numbers import Integral

import numba


def usable_cores():
    """Number of cores this process may run on (respects CPU affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_n_threads(n_threads, name="n_threads"):
    """Turn a user's ``n_threads`` into a positive thread count.

    scikit-learn's meaning: ``None`` or ``-1`` use every usable core, a
    positive int is a count; ``0`` and values below ``-1`` are rejected.

    Parameters
    ----------
    n_threads : int or None
    name : str
        The parameter's name in the error messages (e.g. ``"n_jobs"``).

    Returns
    -------
    int
        At least 1.
    """
    if n_threads is None:
        return usable_cores()
    if isinstance(n_threads, bool) or not isinstance(n_threads, Integral):
        raise TypeError(f"{name} must be an int or None, got {type(n_threads).__name__}.")
    n_threads = int(n_threads)
    if n_threads == -1:
        return usable_cores()
    if n_threads < 1:
        raise ValueError(f"{name} == {n_threads}, must be >= 1, -1 or None.")
    return n_threads


def threads_for_work(n_threads, work, work_per_thread):
    """Threads for a parallel loop of ``work`` units: one per ``work_per_thread``.

    At least one, at most ``resolve_n_threads(n_threads)``. Small loops run on
    one thread because a parallel region's fork and join (and, on a shared
    machine, waiting for a descheduled second thread) costs more than the
    work it splits; each caller's constant records its measurement.
    """
    return min(resolve_n_threads(n_threads), max(1, int(work) // int(work_per_thread)))


@contextmanager
def numba_threads(n_threads):
    """Run the body with Numba's thread count set to ``n_threads``.

    The count is clipped to Numba's pool size (``NUMBA_NUM_THREADS``) and the
    previous count is restored even if the body raises.
    """
    n = min(resolve_n_threads(n_threads), numba.config.NUMBA_NUM_THREADS)
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)


def blas_threads(n_threads):
    """A context limiting BLAS to ``n_threads`` threads (None: leave BLAS as it is)."""
    import contextlib

    if n_threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=resolve_n_threads(n_threads), user_api="blas")


_CONTROLLER = []


def single_blas_thread():
    """A context running BLAS on one thread, for kernels that call BLAS from each of
    their own threads (a threaded BLAS inside them would fight them for the cores:
    ALS at 128 factors, 2 threads, 33 s per iteration instead of 0.6).

    Reuses one ``threadpoolctl.ThreadpoolController`` (10 us a use instead of
    the 3 ms of a fresh ``threadpool_limits``); BLAS libraries loaded after
    its creation are not limited.
    """
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")
