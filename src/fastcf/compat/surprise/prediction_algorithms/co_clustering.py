"""``CoClustering`` (George & Merugu 2005), fastcf's ``CoClustering``."""

from .algo_base import EngineAlgo, engine_model, engine_seed

__all__ = ["CoClustering"]


class CoClustering(EngineAlgo):
    r"""Co-clustering:
    :math:`\hat r_{ui} = \overline{C_{ui}} + (\mu_u - \overline{C_u}) + (\mu_i - \overline{C_i})`,
    with user clusters, item clusters and co-clusters fitted by ``n_epochs`` of
    reassignments. An unknown user or item gets the global mean (never
    "impossible", as Surprise).

    Parameters are Surprise's: ``n_cltr_u`` (3), ``n_cltr_i`` (3), ``n_epochs``
    (20), ``random_state``, ``verbose``.
    """

    _ATTRIBUTES = {"cltr_u": "user_labels_", "cltr_i": "item_labels_",
                   "user_mean": "user_mean_", "item_mean": "item_mean_",
                   "avg_cltr_u": "user_cluster_mean_", "avg_cltr_i": "item_cluster_mean_",
                   "avg_cocltr": "cocluster_mean_"}

    def __init__(self, n_cltr_u=3, n_cltr_i=3, n_epochs=20, random_state=None, verbose=False):
        EngineAlgo.__init__(self)
        self.n_cltr_u = n_cltr_u
        self.n_cltr_i = n_cltr_i
        self.n_epochs = n_epochs
        self.verbose = verbose
        self.random_state = random_state

    def _build_model(self):
        return engine_model("CoClustering", user_clusters=self.n_cltr_u,
                            item_clusters=self.n_cltr_i, epochs=self.n_epochs, clip=False,
                            verbose=self.verbose, seed=engine_seed(self.random_state),
                            surprise_compat=True)
