"""fastcf on a Dask cluster: similarity top-k, batch recommendation, DSGD and ALS.

The same kernels as on one machine, run as Dask tasks (``dask.distributed``;
install with ``pip install "fastcf[dask]"``). Every function takes
``client``: a ``dask.distributed.Client``, a scheduler address such as
``"tcp://scheduler:8786"``, or None -- then the same tasks run here, one after
the other (``recommend``: on Dask's local threads), with the same result.
Data given as a :class:`Persisted` (:func:`persist`) is laid out on the
workers once and reused by every later call (see :mod:`.persist`).

A job survives a lost worker with the same answer (see ``_executor``).
"""

from .als import fit_als
from .dsgd import fit_mf
from .frames import from_dask
from .persist import Persisted, persist
from .recommend import recommend
from .similarity import similarity_topk

__all__ = ["Persisted", "fit_als", "fit_mf", "from_dask", "persist", "recommend", "similarity_topk"]
