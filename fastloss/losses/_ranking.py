"""Pairwise ranking losses: a binary margin loss of a score difference.

For two documents ``i`` and ``j`` of the same query with relevance
``r_i != r_j``, a pairwise loss is ``binary(sign(r_i - r_j), s_i - s_j)``: the
binary margin loss of the score difference with target +1 when ``i`` is the
more relevant.  The compiled kernels therefore need nothing new: a pairwise
loss hands them its binary loss's code and parameters (:meth:`binary_loss`).

These losses compare samples, so they carry no ``name`` (the registries of
:mod:`fastloss.losses` that ``SGDClassifier`` and ``SGDRegressor`` read stay
free of them) and set ``_compares_samples``, which those estimators refuse.
:data:`RANKING_LOSSES` holds the names ``fastloss.SGDRanker`` accepts.
"""

from __future__ import annotations

from typing import ClassVar

from sklearn.base import clone
from sklearn.utils._param_validation import validate_parameter_constraints

from ._base import Loss
from ._classification import NON_NEGATIVE, Hinge, LogLoss, SquaredHinge

__all__ = [
    "PairwiseLoss",
    "Pairwise",
    "PairwiseHinge",
    "PairwiseLogistic",
    "PairwiseSquaredHinge",
    "RANKING_LOSSES",
]


class PairwiseLoss(Loss):
    """Base class of the pairwise ranking losses (for ``fastloss.SGDRanker``).

    A pairwise loss is a binary margin loss (:meth:`binary_loss`) of the score
    difference ``s_i - s_j`` of two documents of one query, with target +1
    when ``i`` is the more relevant and -1 otherwise.  Its public
    :meth:`loss` and :meth:`gradient` take those targets and differences.
    """

    #: The string ``SGDRanker(loss=...)`` accepts (``None``: object only).
    ranking_name: ClassVar[str | None] = None
    #: Estimators that score samples one by one refuse losses that compare them.
    _compares_samples: ClassVar[bool] = True

    def binary_loss(self) -> Loss:
        """The binary margin loss applied to score differences (a new object)."""
        raise NotImplementedError

    # The kernels get the binary loss's code (``binary_loss()._code``) and
    # parameters; the class keeps Loss's USER_DEFINED code, so no registry or
    # loss switch counts it as a scalar loss of its own.
    def _kernel_params(self):
        return self.binary_loss()._kernel_params()

    def _validate(self) -> None:
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        self.binary_loss()._validate()

    def _target_domain(self) -> str:
        return "binary"

    # the binary loss applies to the score difference: same curvature in it
    def smoothness_constant(self) -> float | None:
        """The binary loss's constant, in the score difference ``s_i - s_j``."""
        return self.binary_loss().smoothness_constant()

    @property
    def is_convex(self) -> bool:
        return self.binary_loss().is_convex

    @property
    def smooth_alternative(self) -> str | None:
        return self.binary_loss().smooth_alternative

    def loss(self, y_true, raw_prediction):
        """Per-pair loss.

        Parameters
        ----------
        y_true : array-like of shape (n_pairs,)
            +1 where the pair's first document is the more relevant, else -1.
        raw_prediction : array-like of shape (n_pairs,)
            Score differences ``s_i - s_j``.

        Returns
        -------
        ndarray of shape (n_pairs,), float64
        """
        self._validate()
        return self.binary_loss().loss(y_true, raw_prediction)

    def gradient(self, y_true, raw_prediction):
        """Per-pair derivative of the loss in the score difference.

        Parameters
        ----------
        y_true : array-like of shape (n_pairs,)
        raw_prediction : array-like of shape (n_pairs,)

        Returns
        -------
        ndarray of shape (n_pairs,), float64
        """
        self._validate()
        return self.binary_loss().gradient(y_true, raw_prediction)


class Pairwise(PairwiseLoss):
    """Any binary margin loss, applied to score differences of pairs.

    Parameters
    ----------
    base_loss : Loss
        A binary classification loss (``is_classification``), built-in or
        user-defined, e.g. ``Pairwise(SmoothHinge(smoothness=0.5))``.  Its
        parameters are searchable as ``loss__base_loss__<name>``.

    Notes
    -----
    ``Pairwise(Hinge(threshold=m))`` is :class:`PairwiseHinge` ``(margin=m)``
    and ``Pairwise(LogLoss())`` is :class:`PairwiseLogistic`.
    """

    _parameter_constraints: ClassVar[dict] = {"base_loss": [Loss]}

    def __init__(self, base_loss: Loss | None = None):
        self.base_loss = base_loss

    def binary_loss(self) -> Loss:
        inner = self.base_loss
        if not isinstance(inner, Loss) or isinstance(inner, PairwiseLoss):
            raise ValueError(
                "Pairwise(base_loss) needs a binary margin loss object such as Hinge() or "
                f"LogLoss(); got {inner!r}."
            )
        if not inner.is_classification:
            raise ValueError(
                f"Pairwise needs a binary margin loss (targets in {{-1, +1}}); "
                f"{type(inner).__name__} is not one (is_classification is False)."
            )
        return clone(inner)

    def _validate(self) -> None:
        self.binary_loss()._validate()


class PairwiseHinge(PairwiseLoss):
    """Pairwise hinge ``max(0, margin - (s_i - s_j))``: RankSVM (Joachims, 2002).

    Parameters
    ----------
    margin : float, default=1.0
        Score difference below which a correctly ordered pair is penalised.
    """

    ranking_name = "pairwise_hinge"
    _parameter_constraints: ClassVar[dict] = {"margin": [NON_NEGATIVE]}

    def __init__(self, margin: float = 1.0):
        self.margin = margin

    def binary_loss(self) -> Loss:
        return Hinge(threshold=self.margin)


class PairwiseSquaredHinge(PairwiseLoss):
    """Pairwise squared hinge ``max(0, margin - (s_i - s_j)) ** 2``: a smooth RankSVM.

    Parameters
    ----------
    margin : float, default=1.0
    """

    ranking_name = "pairwise_squared_hinge"
    _parameter_constraints: ClassVar[dict] = {"margin": [NON_NEGATIVE]}

    def __init__(self, margin: float = 1.0):
        self.margin = margin

    def binary_loss(self) -> Loss:
        return SquaredHinge(threshold=self.margin)


class PairwiseLogistic(PairwiseLoss):
    """Pairwise logistic ``log(1 + exp(-(s_i - s_j)))``: RankNet (Burges et al., 2005).

    ``expit(s_i - s_j)`` estimates the probability that ``i`` is the more relevant.
    """

    ranking_name = "pairwise_logistic"

    def binary_loss(self) -> Loss:
        return LogLoss()


def _ranking_losses() -> dict:
    found, pending = {}, list(PairwiseLoss.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending[:0] = cls.__subclasses__()
        name = cls.__dict__.get("ranking_name")
        if isinstance(name, str) and cls.__module__ == __name__:
            found[name] = cls
    return found


#: Loss names ``fastloss.SGDRanker`` accepts, each with its class.
RANKING_LOSSES = _ranking_losses()
