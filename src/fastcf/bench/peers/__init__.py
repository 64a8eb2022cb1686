"""The peers' matching algorithms, one module per peer library.

Each runner takes the benchmark's split (``train``, ``test``: Interactions),
the number of timed ``repeats`` and the thread count, and returns a dict of
the fields of a results row (``fit_s``, ``predict_s`` / ``recommend_s``, and
the accuracy it can be measured on), or None when it cannot run on this data.
The peers are imported only inside the runners and only when asked for; their
data preparation (Surprise trainset, implicit CSR, LensKit Dataset, tensors)
is built untimed, as our ``Interactions`` is. None of them compiles at first
call the way Numba does, so their runs are timed without a warm-up (PyTorch's
one-off set-up excepted, see :mod:`fastcf.bench.peers.torch`).
"""
