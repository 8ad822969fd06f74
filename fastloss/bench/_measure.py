"""Measurements: epoch times, training objective, peak memory, memory floors.

Epoch time
    Each library fits with ``max_iter=E`` and with ``max_iter=1`` (``tol=None``,
    so exactly that many epochs run); ``(t_E - t_1) / (E - 1)`` is one epoch,
    with validation, setup and the output copies cancelled.  A case without
    fixed epochs (the estimators' own ``max_iter`` and ``tol``) times one whole
    fit instead.  Repeats alternate the libraries (sklearn, fastloss, sklearn,
    fastloss, ...), and the reported speed-up is the median of the pair-by-pair
    ratios, so that slow phases of a busy machine hit both sides of a pair.
    Where a fit lasts less than ``min_time`` (tiny datasets), each measurement
    repeats it until it lasts that long and keeps the mean, as ``timeit`` does.
Peak memory
    ``tracemalloc``'s peak during one untimed fit of ``E`` epochs: every NumPy
    array and Python object allocated by the fit, including the copies of
    ``X`` and the weights.  Memory allocated inside compiled code (Numba's
    runtime, scikit-learn's C ``malloc``) is not traced.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn import linear_model as sk_linear_model
from sklearn.exceptions import ConvergenceWarning

import fastloss

from ._suites import CLASSIFICATION, Case, Dataset

__all__ = [
    "EpochTiming",
    "FitQuality",
    "fit_quality",
    "make_estimators",
    "multiclass_objective",
    "quiet_fit",
    "time_epochs",
    "training_objective",
]

ESTIMATORS = {
    CLASSIFICATION: (sk_linear_model.SGDClassifier, fastloss.SGDClassifier),
    "regression": (sk_linear_model.SGDRegressor, fastloss.SGDRegressor),
}


@dataclass
class EpochTiming:
    """Per-epoch seconds of both libraries, measured in alternating pairs.

    Attributes
    ----------
    sklearn_epochs, fastloss_epochs : list of float
        Seconds per epoch, one per repeat (per whole fit for a case without
        fixed epochs).
    ratios : list of float
        ``sklearn / fastloss`` per repeat (pair by pair).
    """

    sklearn_epochs: list[float]
    fastloss_epochs: list[float]
    ratios: list[float]

    @property
    def sklearn_seconds(self) -> float:
        """Median seconds per scikit-learn epoch."""
        return statistics.median(self.sklearn_epochs)

    @property
    def fastloss_seconds(self) -> float:
        """Median seconds per fastloss epoch."""
        return statistics.median(self.fastloss_epochs)

    @property
    def speedup(self) -> float:
        """Median pair-by-pair ratio: above 1 means fastloss is faster."""
        return statistics.median(self.ratios)


@dataclass
class FitQuality:
    """What one fitted model achieved and cost in memory.

    Attributes
    ----------
    objective : float
        Mean training loss plus penalty.
    score : float
        Held-out accuracy or R^2.
    peak_mib : float
        ``tracemalloc`` peak during the fit, MiB.
    n_iter : int
    """

    objective: float
    score: float
    peak_mib: float
    n_iter: int


def quiet_fit(estimator, X, y):
    """``estimator.fit(X, y)`` with ConvergenceWarning silenced (``tol=None`` fits warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def make_estimators(case: Case, max_iter: int, random_state: int):
    """Fresh unfitted (scikit-learn, fastloss) estimators for one case.

    Parameters
    ----------
    case : Case
    max_iter : int
        Epochs, run exactly (``tol=None``); ignored, like ``tol``, for a case
        without fixed epochs.
    random_state : int

    Returns
    -------
    tuple of two estimators
    """
    sk_cls, fl_cls = ESTIMATORS[case.data.task]
    common = {"random_state": random_state}
    if case.fixed_epochs:
        common.update(max_iter=max_iter, tol=None)
    return sk_cls(**case.sklearn_params, **common), fl_cls(**case.fastloss_params, **common)


def _fit_seconds(estimator, X, y, min_time: float = 0.0) -> float:
    """Wall seconds of one ``fit``, garbage collection paused: the mean of as
    many fits in a row as last ``min_time`` (one when it is 0)."""
    gc.collect()
    gc.disable()
    try:
        start, fits = time.perf_counter(), 0
        while True:
            quiet_fit(estimator, X, y)
            fits += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                return elapsed / fits
    finally:
        gc.enable()


def _epoch_seconds(
    case: Case, which: int, data: Dataset, epochs: int, seed: int, min_time: float
) -> float:
    """One library's seconds per epoch: ``(t_E - t_1) / (E - 1)``, or of a whole
    fit for a case without fixed epochs.

    When noise makes ``t_E <= t_1`` (tiny problems), ``t_E / E`` is returned
    instead: an upper bound that still includes the setup cost.
    """
    X, y = data.X_train, data.y_train
    if not case.fixed_epochs:
        return _fit_seconds(make_estimators(case, epochs, seed)[which], X, y, min_time)
    t_one = _fit_seconds(make_estimators(case, 1, seed)[which], X, y, min_time)
    t_many = _fit_seconds(make_estimators(case, epochs, seed)[which], X, y, min_time)
    if t_many > t_one:
        return (t_many - t_one) / (epochs - 1)
    return t_many / epochs


def time_epochs(
    case: Case,
    data: Dataset,
    epochs: int = 5,
    repeat: int = 3,
    random_state: int = 0,
    min_time: float = 0.0,
) -> EpochTiming:
    """Seconds per epoch of both libraries, alternating them ``repeat`` times.

    Parameters
    ----------
    case : Case
    data : Dataset
    epochs : int, default=5
        ``E``, at least 2.
    repeat : int, default=3
    random_state : int, default=0
    min_time : float, default=0.0
        Shortest measurement, in seconds: a shorter fit is repeated within
        each measurement and the mean kept.

    Returns
    -------
    EpochTiming
        Seconds of one whole fit for a case without fixed epochs.
    """
    if epochs < 2:
        raise ValueError(f"epochs must be at least 2; got {epochs}.")
    sk_times, fl_times = [], []
    for _ in range(repeat):
        sk_times.append(_epoch_seconds(case, 0, data, epochs, random_state, min_time))
        fl_times.append(_epoch_seconds(case, 1, data, epochs, random_state, min_time))
    ratios = [s / f for s, f in zip(sk_times, fl_times, strict=True)]
    return EpochTiming(sk_times, fl_times, ratios)


# ------------------------------------------------------------------- objective
def _targets(estimator, y: np.ndarray) -> list[np.ndarray]:
    """The target of each row of ``coef_``: {-1, +1} per class, or ``y`` itself."""
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return [np.asarray(y, dtype=np.float64)]
    positives = classes[1:] if classes.shape[0] == 2 else classes
    return [np.where(y == positive, 1.0, -1.0) for positive in positives]


def training_objective(estimator, loss, X, y: np.ndarray) -> float:
    """Mean training loss plus ``alpha * 0.5 * ||w||^2`` of a fitted linear model.

    Parameters
    ----------
    estimator : fitted SGDClassifier or SGDRegressor (either library, l2 penalty)
    loss : fastloss.losses.Loss
        The same loss object for both libraries' models (the fastloss
        estimator's ``loss_function_``).
    X, y : training data

    Returns
    -------
    float
        For one-vs-rest models, the mean over the per-class problems; with a
        multiclass loss (a ``multi_class="multinomial"`` model's
        ``loss_function_``), that loss of all classes' scores
        (:func:`multiclass_objective`), for both models.
    """
    alpha = estimator.get_params()["alpha"]
    coef = np.atleast_2d(np.asarray(estimator.coef_, dtype=np.float64))
    intercept = np.ravel(estimator.intercept_)
    if getattr(loss, "is_multiclass", False):  # Multinomial, MulticlassHinge
        if coef.shape[0] > 1:
            return multiclass_objective(loss, coef, intercept, estimator.classes_, X, y, alpha)
        loss = loss.binary_loss()
    values = [
        loss(target, np.asarray(X @ w, dtype=np.float64).ravel() + b) + 0.5 * alpha * float(w @ w)
        for target, w, b in zip(_targets(estimator, y), coef, intercept, strict=True)
    ]
    return float(np.mean(values))


def multiclass_objective(loss, coef, intercept, classes, X, y, alpha: float) -> float:
    """Mean multiclass loss of the scores of all classes plus ``alpha/2 ||W||^2``.

    Parameters
    ----------
    loss : fastloss.losses.MulticlassLoss
    coef : ndarray (n_classes, n_features)
    intercept : ndarray (n_classes,)
    classes : ndarray (n_classes,)
        The model's ``classes_``; ``y`` is encoded as indices into it.
    X, y : training data
    alpha : float

    Returns
    -------
    float
    """
    raw = np.asarray(X @ coef.T, dtype=np.float64) + intercept
    labels = np.searchsorted(classes, y)
    return float(loss(labels, raw) + 0.5 * alpha * float(np.sum(coef * coef)))


def _traced_fit(estimator, X, y) -> float:
    """Fit under ``tracemalloc``; returns the peak traced MiB."""
    gc.collect()
    tracemalloc.start()
    try:
        quiet_fit(estimator, X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def fit_quality(
    case: Case, data: Dataset, epochs: int = 5, random_state: int = 0
) -> tuple[FitQuality, FitQuality]:
    """Fit both libraries once for ``epochs`` epochs (untimed) and score them.

    Parameters
    ----------
    case : Case
    data : Dataset
    epochs : int, default=5
    random_state : int, default=0

    Returns
    -------
    (sklearn, fastloss) : tuple of FitQuality
        Objectives both use the fastloss model's ``loss_function_``.
    """
    X, y = data.X_train, data.y_train
    models = make_estimators(case, epochs, random_state)
    peaks = [_traced_fit(model, X, y) for model in models]
    loss = models[1].loss_function_
    return tuple(
        FitQuality(
            objective=training_objective(model, loss, X, y),
            score=float(model.score(data.X_test, data.y_test)),
            peak_mib=peak,
            n_iter=int(np.max(model.n_iter_)),
        )
        for model, peak in zip(models, peaks, strict=True)
    )
