"""What training leaves behind: one object for every model of a fit.

A fitted estimator keeps a single :class:`TrainingState` (``_training_state``)
beside its public attributes.  ``partial_fit`` continues from all of it,
``warm_start`` from its weights, pickling stores it with the estimator, and
training never writes into it (the epoch runners work on copies), so that a
failed fit leaves it as it was.  :class:`TrainingRecord` is what one call of
the training loop reports besides: epochs, curves and the weights each model
predicts with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TrainingRecord", "TrainingState", "all_finite", "apply_pending_l1", "start_from"]


@dataclass
class TrainingState:
    """Trainable state of ``n_models`` linear models, one row a model.

    Attributes
    ----------
    coef, avg_coef : ndarray (n_models, n_features), X's dtype
        Weights SGD trains, and their running average (averaging only).
    intercept, avg_intercept : ndarray (n_models,)
        Float64 when a fit starts from given values, X's dtype once trained
        (as ``intercept_``).
    l1_received : float64 ndarray (n_models, n_features)
        L1 penalty each weight has received (Tsuruoka et al., 2009).
    l1_total : float64 ndarray (n_models,)
        L1 penalty every weight should have received.
    t : float
        Number of the next step (scikit-learn's ``t_``).
    opt_state : float64 ndarray (n_models, N_SLOTS, n_features + 1) or None
        The mini-batch optimizer's state (``_kernels._optim_rules``).
    opt_code : int or None
        The optimizer rule ``opt_state`` belongs to: another rule starts afresh.
    """

    coef: np.ndarray
    avg_coef: np.ndarray
    l1_received: np.ndarray
    intercept: np.ndarray
    avg_intercept: np.ndarray
    l1_total: np.ndarray
    t: float = 1.0
    opt_state: np.ndarray | None = None
    opt_code: int | None = None

    @classmethod
    def zeros(cls, n_models: int, n_features: int, dtype) -> TrainingState:
        """A fresh start: every weight, intercept and penalty zero, step 1."""
        return cls(
            coef=np.zeros((n_models, n_features), dtype),
            avg_coef=np.zeros((n_models, n_features), dtype),
            l1_received=np.zeros((n_models, n_features)),
            intercept=np.zeros(n_models),
            avg_intercept=np.zeros(n_models),
            l1_total=np.zeros(n_models),
        )

    @property
    def n_models(self) -> int:
        return self.coef.shape[0]

    def for_optimizer(self, code: int | None) -> TrainingState:
        """This state, without its optimizer state unless it belongs to rule
        ``code`` (``set_params`` may have changed the rule since)."""
        if self.opt_code == code:
            return self
        return TrainingState(**{**vars(self), "opt_state": None, "opt_code": None})


def start_from(coef, intercept, n_models: int, n_features: int, dtype) -> TrainingState:
    """A fresh state whose weights and intercepts start at the given values
    (``coef_init`` / ``intercept_init``, or a warm start's)."""
    state = TrainingState.zeros(n_models, n_features, dtype)
    state.coef[:] = np.reshape(coef, (n_models, n_features))
    state.intercept[:] = np.reshape(intercept, (n_models,))
    return state


@dataclass
class TrainingRecord:
    """What one call of the training loop produced, per model.

    Attributes
    ----------
    state : TrainingState
        Where the next call continues from.
    coef : list of ndarray (n_features,)
        The weights each model predicts with (averaged, or with the pending L1
        penalty applied: ``_runners.model_weights``).
    intercept : list of float
    n_iter : list of int
        Epochs each model trained.
    loss_curves, validation_scores : list of list of float
        Per model and epoch: training objective (NaN when the loss was not
        computed) and, with early stopping, validation score.  Models that
        share a stopping criterion (a joint multiclass loss) share a curve.
    """

    state: TrainingState
    coef: list = field(default_factory=list)
    intercept: list = field(default_factory=list)
    n_iter: list = field(default_factory=list)
    loss_curves: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)

    @classmethod
    def concatenate(cls, records: list[TrainingRecord]) -> TrainingRecord:
        """One record of the models of several records, in order (problems
        trained separately: binary, one-vs-rest with an optimizer)."""
        if len(records) == 1:
            return records[0]
        states = [r.state for r in records]

        def stacked(name):
            return np.concatenate([getattr(s, name) for s in states])

        opt = [s.opt_state for s in states]
        state = TrainingState(
            **{name: stacked(name) for name in _STACKED},
            t=max(s.t for s in states),
            opt_state=None if opt[0] is None else np.concatenate(opt),
            opt_code=states[0].opt_code,
        )
        merged = cls(state)
        for record in records:
            for name in ("coef", "intercept", "n_iter", "loss_curves", "validation_scores"):
                getattr(merged, name).extend(getattr(record, name))
        return merged


_STACKED = ("coef", "avg_coef", "l1_received", "intercept", "avg_intercept", "l1_total")


def all_finite(array: np.ndarray) -> bool:
    """Whether every value of ``array`` is finite.

    Its sum is finite exactly when no value is infinite or NaN, unless finite
    values overflow it; only then are the values checked one by one.  The
    training loop checks the weights every epoch, and on small models
    ``np.isfinite(a).all()`` cost several microseconds a call, a tenth of an
    epoch of 1,000 rows.
    """
    return math.isfinite(array.sum()) or bool(np.isfinite(array).all())


def apply_pending_l1(coef, l1_received, l1_total):
    """``coef`` with every weight's pending cumulative L1 penalty applied (a copy).

    The kernels truncate a weight only when a sample touches it; this is the
    truncation a touch would apply now (Tsuruoka et al., 2009).
    """
    pending_pos = l1_total + l1_received  # l1_received <= 0 for shrunk positive weights
    pending_neg = l1_total - l1_received
    return np.where(
        coef > 0,
        np.maximum(0.0, coef - pending_pos),
        np.where(coef < 0, np.minimum(0.0, coef + pending_neg), coef),
    ).astype(coef.dtype, copy=False)
