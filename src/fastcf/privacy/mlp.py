r"""DP-SGD for the embedding + MLP rating model: :class:`DPMLPRecommender`.

The network is :class:`fastcf.MLPRecommender`'s. Its shared parameters (the
item embedding table and every Dense layer) are trained by DP-SGD (Abadi et
al., CCS 2016) with user-level clipping (McMahan et al., ICLR 2018); each
user's own embedding row is trained from that user's ratings only, in the
billboard / joint-DP setting (Jain, Thakkar & Thakurta 2018).
"""

import math

import numpy as np

from .._config import DP_STEP_PARALLEL_MIN_EXAMPLES
from .._network import _check_network_params, _network_dims
from .._parallel import blas_threads
from .._training import Epoch, TrainingDiverged, train_epochs
from .._validation import check_float
from ..kernels.dp_clip import clip_factors, run_dp_clip_sq_norms
from ..mlp import MLPRecommender
from ..nn import Adam, BatchGrad, Dense, sum_rows_by_index
from ..persist import Schema
from ._accounting import calibrate_noise, privacy_report
from ._base import PRIVACY_REPORT_FIELD, PrivateModel, cap_per_user, check_rating_range

__all__ = ["DPMLPRecommender", "add_gaussian_noise"]


def add_gaussian_noise(grads, std, rng):
    """Add ``std`` times one ``rng.standard_normal`` draw of its shape to each array, in place.

    ``grads`` is a list of float arrays (the summed clipped gradients of the
    shared parameter tensors); each draw is in the array's dtype (NumPy's
    float32 ziggurat, 1.9 against 3.0 ms, under load, for the float64 draw and cast of the
    ML-100K item table: the noise is a large part of a step), in list order,
    so every backend and thread count sees the same noise.
    """
    for grad in grads:
        noise = rng.standard_normal(grad.shape, dtype=grad.dtype)
        noise *= grad.dtype.type(std)
        grad += noise


class DPMLPRecommender(PrivateModel, MLPRecommender):
    r"""The embedding + MLP rating model trained with user-level differential privacy (DP-SGD).

    Same network as :class:`fastcf.MLPRecommender`: user and item embeddings
    concatenated, the hidden Dense + ReLU layers, a linear output, trained on
    the squared error of explicit ratings clipped into ``rating_range``.

    **Algorithm** (``epsilon`` finite). The shared parameters :math:`\theta`
    (item embedding table, every Dense weight and bias) are trained by DP-SGD:
    at most ``max_ratings`` ratings of each user are kept (a seeded uniform
    sample, drawn once). Every step

    1. samples each user independently with probability ``sampling_rate``
       :math:`q` (Poisson sampling, seeded, data-independent); the batch is
       the sampled users' kept ratings;
    2. computes, for every sampled user :math:`u`, the gradient
       :math:`\nabla_\theta L_u` of :math:`L_u = \sum_{j \in u} (\hat r_j -
       r_j)^2` and its norm, without materialising per-example weight
       gradients (the ``dp_clip`` kernel: for a Dense layer
       :math:`\lVert \sum_j [a_j; 1] g_j^T \rVert_F^2 = \sum_{j,l}
       (a_j \cdot a_l + 1)(g_j \cdot g_l)`; a user's item rows are distinct,
       so their squared norms add);
    3. clips: every example's output gradient is scaled by its user's
       :math:`c_u = \min(1, C / \lVert \nabla_\theta L_u \rVert)` (back-
       propagation is linear in it, so the batch gradient becomes
       :math:`\sum_u c_u \nabla_\theta L_u`, each term of norm :math:`\le C`);
    4. adds Gaussian noise :math:`\mathcal N(0, (z C)^2)` to every coordinate
       of :math:`\theta`'s gradient (one ``standard_normal`` draw for the item
       table, one for the Dense layers' flat parameter vector: rows of items
       nobody rated get noise too), divides by the expected batch size
       :math:`q\, n_{users}` and takes an Adam step (with ``weight_decay``)
       on it: post-processing of the noisy gradient.

    The users' own embedding rows get Adam steps on their own, unclipped,
    un-noised gradients (divided by the same :math:`q\, n_{users}`): a user's
    row depends on that user's ratings and the released shared parameters
    only, and is shown to that user only.

    **Guarantee.** Adding or removing one user changes the sum of step 3 by at
    most :math:`C` in L2 norm, so each step is the Poisson-subsampled Gaussian
    mechanism with noise multiplier :math:`z` and the ``steps`` steps compose:
    the shared parameters (and everything computed from them alone) are
    :math:`(\epsilon, \delta)`-DP at the user level, :math:`z` calibrated by
    the ``dp-accounting`` RDP (or PLD) accountant for ``steps`` compositions
    of that mechanism (``privacy_report_`` records it). As in that literature,
    the item catalogue and the number of users (delta's default) are public.
    Only user-level privacy is offered: a user's embedding is trained on all
    their ratings, so removing one rating moves every other term of that
    user, and a per-rating bound would not hold. The noise and the batches
    come from ``seed``: a seeded fit is private only while the seed is secret
    (the report says ``seeded``). What ``callbacks`` see is un-noised; a
    callback that stops the fit early decides on the data (the report counts
    the planned steps, an upper bound on those run).

    The output is centred data-independently: its bias starts at the midpoint
    of ``rating_range`` (MLPRecommender's starts at the training mean, which
    would leak), and unknown users or items are predicted as that midpoint.
    Predictions are clipped into ``rating_range``. ``history_``'s training
    RMSE is computed from the raw ratings: a diagnostic for whoever trains, not
    covered by the guarantee.

    ``epsilon=np.inf``: no privacy, exactly ``MLPRecommender(embedding_dim,
    hidden, epochs, batch_size, lr, weight_decay, sparse_adam, embedding_std,
    clip, dtype, n_threads, verbose, backend, seed)`` on the data as given (no
    sampling, cap, clipping or noise; mini-batches of ``batch_size``).

    Parameters
    ----------
    embedding_dim, hidden, lr, weight_decay, sparse_adam, embedding_std, clip
        As :class:`fastcf.MLPRecommender` (``sparse_adam``: of the user table;
        the noisy item table's gradient is dense).
    dtype, n_threads, verbose, backend
        As :class:`fastcf.MLPRecommender`; ``backend`` also runs the ``dp_clip``
        kernel, ``n_threads`` its threads too (the result does not depend on
        it). A private step expected to hold fewer than
        ``_config.DP_STEP_PARALLEL_MIN_EXAMPLES`` (32,768) examples runs on one
        thread: too little work to share.
    seed : int or None
        Of the initial parameters, the rating cap, the batches and the noise.
        None (the default): fresh entropy. A private fit with a seed is private
        only while the seed is secret (``privacy_report_["seeded"]``).
    epochs : int
        ``steps = epochs * ceil(1 / sampling_rate)``: at least ``epochs``
        expected passes over the users (exactly when ``1 / sampling_rate`` is
        an integer).
    batch_size : int
        Only with ``epsilon=inf`` (private batches are the sampled users).
    epsilon : float
        > 0, or ``np.inf`` (no privacy).
    delta : float, optional
        In (0, 1 / n_users); None: ``n_users ** -1.1``.
    unit : {"user"}
    rating_range : (float, float)
        Required: the rating scale (not read from the data, which would leak).
    clip_norm : float
        :math:`C`, the per-user (per-rating) L2 bound of the shared gradient.
    sampling_rate : float
        :math:`q` in (0, 1].
    max_ratings : int or None
        Ratings kept per user (the clipping bounds the sensitivity whatever the
        count; the cap bounds a heavy user's cost and weight).
    accountant : {"rdp", "pld"}

    Attributes
    ----------
    privacy_report_ : dict
        The spent (epsilon, delta), the unit, the mechanism, the noise
        multiplier, steps, sampling rate and every bound the guarantee depends
        on; saved in the model file.
    """

    _privacy_units = ("user",)

    _state_schema = Schema({
        **{name: field for name, field in MLPRecommender._state_schema.fields.items()
           if name != "seen"},
        "privacy_report_": PRIVACY_REPORT_FIELD,
    }, dims=_network_dims)

    def __init__(self, embedding_dim=32, hidden=(64, 32), epochs=20, batch_size=256, lr=1e-3,
                 weight_decay=0.0, sparse_adam=True, embedding_std=0.1, clip=True,
                 epsilon=1.0, delta=None, unit="user", rating_range=None, clip_norm=1.0,
                 sampling_rate=0.05, max_ratings=None, accountant="rdp",
                 dtype=np.float32, n_threads=None, verbose=False, backend="auto", seed=None):
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.sparse_adam = sparse_adam
        self.embedding_std = embedding_std
        self.clip = clip
        self.epsilon = epsilon
        self.delta = delta
        self.unit = unit
        self.rating_range = rating_range
        self.clip_norm = clip_norm
        self.sampling_rate = sampling_rate
        self.max_ratings = max_ratings
        self.accountant = accountant
        self.dtype = dtype
        self.n_threads = n_threads
        self.verbose = verbose
        self.backend = backend
        self.seed = seed

    # ---------------------------------------------------------------- params
    def _check_params(self):
        with self._seed_none_accepted():
            _check_network_params(self)
        self._check_privacy_params()
        check_float("clip_norm", self.clip_norm, min_value=0.0, min_inclusive=False)
        check_float("sampling_rate", self.sampling_rate, min_value=0.0, min_inclusive=False,
                    max_value=1.0)

    @property
    def patience(self):
        """No early stopping: choosing the epoch by data would need its own budget."""
        return None

    def _steps(self):
        return self.epochs * math.ceil(1.0 / self.sampling_rate)

    # ------------------------------------------------------------------- fit
    def _fit(self, data):
        if data.implicit:
            raise ValueError("DPMLPRecommender needs explicit ratings; this data is implicit.")
        low, high = check_rating_range(self.rating_range)
        epsilon, delta = self._privacy_budget(data.n_users)
        bounds = {"clip_norm": float(self.clip_norm), "rating_range": [low, high],
                  "max_ratings": self.max_ratings}
        if not self.is_private:
            super()._fit(data)
            self.privacy_report_ = privacy_report(
                epsilon_target=epsilon, delta=delta, unit=self.unit, mechanism="none",
                noise_multiplier=0.0, steps=self.epochs * math.ceil(data.nnz / self.batch_size),
                n_users=data.n_users, accountant=self.accountant, **bounds)
            return
        steps = self._steps()
        z = calibrate_noise(epsilon, delta, steps=steps, sampling_rate=self.sampling_rate,
                            accountant=self.accountant)
        self._check_memory(data.n_users, data.n_items)
        rng = np.random.default_rng(self.seed)
        self._build(data.n_users, data.n_items, rng)
        self.global_mean_ = np.float64((low + high) / 2.0)
        self.rating_range_ = np.array([low, high], dtype=np.float64)
        self._dense_layers()[-1].bias[:] = self.global_mean_
        cap_rng, sample_rng, noise_rng = (np.random.default_rng(s) for s in
                                          np.random.SeedSequence(self.seed).spawn(3))
        by_user = data.by_user
        keep, users = cap_per_user(by_user.indptr, self.max_ratings, cap_rng)
        self._examples = (users, np.asarray(by_user.indices, dtype=np.int64)[keep],
                          np.clip(by_user.data[keep], low, high).astype(self.dtype))
        self._train_private(z, sample_rng, noise_rng, self._validation_pairs())
        self.privacy_report_ = privacy_report(
            epsilon_target=epsilon, delta=delta, unit=self.unit,
            mechanism=("Gaussian noise N(0, (noise_multiplier clip_norm)^2) on every coordinate "
                       "of the summed clipped gradient of the item embeddings and dense "
                       f"layers, every step, {self.unit}s Poisson-sampled"),
            noise_multiplier=z, steps=steps, sampling_rate=float(self.sampling_rate),
            n_users=data.n_users, accountant=self.accountant, seeded=self.seed is not None,
            sensitivity="clip_norm (each user's gradient of the shared parameters clipped "
                        "to this L2 norm)", **bounds)

    # ------------------------------------------------------- private training
    def _groups(self, rng, user_ptr):
        """(example positions, group pointer) of one Poisson-sampled batch."""
        sampled = np.flatnonzero(rng.random(len(user_ptr) - 1) < self.sampling_rate)
        counts = user_ptr[sampled + 1] - user_ptr[sampled]
        sampled, counts = sampled[counts > 0], counts[counts > 0]
        ptr = np.concatenate(([0], np.cumsum(counts)))
        rows = np.repeat(user_ptr[sampled] - ptr[:-1], counts) + np.arange(ptr[-1])
        return rows, ptr

    def _per_example_backward(self, upstream):
        """Back-propagate per-example output gradients without forming weight gradients.

        Returns ``(records, input_grad)``: per Dense layer its inputs and the
        gradients of its outputs, and the gradient of the concatenated embeddings.
        """
        g = upstream[:, None]
        records = []
        for layer in reversed(self._layers):
            if isinstance(layer, Dense):
                records.append((layer._x, g))
                g = g @ layer.weight.T
            else:
                g = layer.backward(g)
        return records[::-1], g

    def _clipped_gradient(self, batch, ptr, n_threads=1):
        """The sum of the clipped per-group gradients of the shared parameters on the
        examples ``batch`` grouped by ``ptr``: ``(residuals, item table gradient
        (dense), users' own gradient (a BatchGrad or None))``, the Dense layers'
        part written into ``_dense_flat_grad``."""
        item_grad = np.zeros_like(self._item_emb.weight)
        if len(batch) == 0:
            self._dense_flat_grad[:] = 0
            return np.zeros(0, dtype=self.dtype), item_grad, None
        users, items, targets = (array[batch] for array in self._examples)
        residual = self._forward(users, items) - targets
        records, input_grad = self._per_example_backward(2 * residual)
        d = self.embedding_dim
        rows = np.ascontiguousarray(input_grad[:, d:])
        sq_norms = run_dp_clip_sq_norms(ptr, records, rows, backend=self.backend,
                                        n_threads=n_threads)
        # backprop is linear in the upstream gradient: scaling every layer's
        # per-example output gradient by its group's factor clips the group
        factors = np.repeat(clip_factors(sq_norms, self.clip_norm),
                            np.diff(ptr)).astype(self.dtype)[:, None]
        for (a, g), layer in zip(records, self._dense_layers()):
            clipped = g * factors
            np.matmul(a.T, clipped, out=layer.grad_weight)
            np.sum(clipped, axis=0, out=layer.grad_bias)
        index, summed = sum_rows_by_index(items, rows * factors)
        item_grad[index] = summed
        own = BatchGrad(np.asarray(users, np.int64), np.ascontiguousarray(input_grad[:, :d]))
        return residual, item_grad, own

    def _private_step(self, batch, ptr, sigma, scale, optimizers, noise_rng, n_threads=1):
        """One DP-SGD step; returns the batch's summed squared error."""
        residual, item_grad, own_grad = self._clipped_gradient(batch, ptr, n_threads)
        add_gaussian_noise([item_grad, self._dense_flat_grad], sigma, noise_rng)
        shared, own = optimizers
        shared.step({"item": item_grad / scale, "dense": self._dense_flat_grad / scale})
        if own_grad is not None:
            own.step({"user": BatchGrad(own_grad.index, own_grad.values / scale)})
        return float(np.sum(residual.astype(np.float64) ** 2))

    def _train_private(self, z, sample_rng, noise_rng, validation):
        users = self._examples[0]
        n_examples = len(users)
        user_ptr = np.searchsorted(users, np.arange(len(self._user_emb.weight) + 1))
        scale = self.sampling_rate * (len(user_ptr) - 1)
        sigma = z * self.clip_norm
        optimizers = (
            Adam({"item": self._item_emb.weight, "dense": self._dense_flat}, lr=self.lr,
                 weight_decay=self.weight_decay, backend=self.backend),
            Adam({"user": self._user_emb.weight}, lr=self.lr, weight_decay=self.weight_decay,
                 sparse=self.sparse_adam, backend=self.backend))
        steps_per_epoch = math.ceil(1.0 / self.sampling_rate)
        self.history_ = []
        parallel = self.sampling_rate * n_examples >= DP_STEP_PARALLEL_MIN_EXAMPLES
        threads = self.n_threads if parallel else 1

        def run_epoch(epoch):
            total, count = 0.0, 0
            for step in range(steps_per_epoch):
                batch, ptr = self._groups(sample_rng, user_ptr)
                loss = self._private_step(batch, ptr, sigma, scale, optimizers, noise_rng,
                                          threads)
                if not math.isfinite(loss):
                    raise TrainingDiverged(self._diverged(epoch, step))
                total, count = total + loss, count + len(batch)
            mean = total / max(count, 1)
            return Epoch(mean, self._train_metric(mean), {"samples": count})

        with blas_threads(threads), np.errstate(over="ignore", invalid="ignore"):
            train_epochs(self, self.epochs, run_epoch, params=self._named_params,
                         diverged=self._diverged, validation=validation,
                         callbacks=self._callbacks)
        self._sync_state()
