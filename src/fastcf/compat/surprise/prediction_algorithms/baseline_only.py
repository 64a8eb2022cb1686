"""``BaselineOnly``: :math:`\\hat r_{ui} = \\mu + b_u + b_i` (fastcf's ``BaselineOnly``)."""

from ....baseline import BaselineOnly as _FastBaseline
from .algo_base import EngineAlgo, baseline_model_params

__all__ = ["BaselineOnly"]


class BaselineOnly(EngineAlgo):
    r"""The baseline estimate :math:`\hat r_{ui} = \mu + b_u + b_i` (unknown user or item: 0 bias).

    Parameters
    ----------
    bsl_options : dict
        ``method`` "als" (``reg_u`` 15, ``reg_i`` 10, ``n_epochs`` 10) or "sgd"
        (``reg`` 0.02, ``learning_rate`` 0.005, ``n_epochs`` 20).
    verbose : bool
        Print what is computed.

    Attributes
    ----------
    bu, bi : ndarray
        The user and item biases, by inner id.
    """

    _ATTRIBUTES = {"bu": "user_bias_", "bi": "item_bias_"}

    def __init__(self, bsl_options={}, verbose=True):  # noqa: B006 (Surprise's signature; copied)
        EngineAlgo.__init__(self, bsl_options=bsl_options)
        self.verbose = verbose
        baseline_model_params(self.bsl_options)

    def _build_model(self):
        params = baseline_model_params(self.bsl_options)
        if self.verbose:
            print("Estimating biases using", params["method"] + "...")
        return _FastBaseline(**params, clip=False)
