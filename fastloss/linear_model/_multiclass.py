"""How SGDClassifier trains more than two classes: one-vs-rest or a joint loss.

Both run through one multi-output kernel that reads each row once an epoch
for all classes (``_runners.ClassBlockRunner``).  This module turns the estimator's
parameters and labels into that kernel's inputs.
"""

from __future__ import annotations

import functools

import numpy as np
from joblib import effective_n_jobs
from sklearn.utils import check_random_state

from .._kernels._layout import OVR
from ..losses import Hinge, LogLoss, Loss, MulticlassHinge, MulticlassLoss, Multinomial
from ._base import MAX_INT
from ._runners import ClassBlockRunner
from ._training import train


def resolve_multi_class(loss: Loss, multi_class: str) -> Loss:
    """The loss to train with under ``multi_class``.

    ``"multinomial"`` turns ``log_loss`` into :class:`Multinomial` and
    ``hinge`` into :class:`MulticlassHinge`; a multiclass loss object selects
    the joint model whatever ``multi_class`` says.
    """
    if isinstance(loss, MulticlassLoss) or multi_class == "ovr":
        return loss
    if type(loss) is LogLoss:
        return Multinomial()
    if type(loss) is Hinge and loss.threshold == 1.0:
        return MulticlassHinge()
    raise ValueError(
        f"multi_class='multinomial' needs loss='log_loss' (softmax cross-entropy) or "
        f"loss='hinge' (Crammer-Singer), or a fastloss.losses.Multinomial or "
        f"MulticlassHinge object; got loss={loss!r}. Use multi_class='ovr' for "
        "other losses."
    )


def train_classes(
    estimator, X, y, classes, sample_weight, class_weight, settings, split, start, callbacks=None
):
    """Train all ``classes`` (more than two) of ``estimator`` from one read of each
    row an epoch (:class:`._runners.ClassBlockRunner`).

    Parameters
    ----------
    estimator : SGDClassifier
        Supplies ``random_state`` and ``n_jobs``.
    X : ndarray or CSR (n_samples, n_features)
    y : ndarray (n_samples,)
        Labels, each in ``classes``.
    classes : ndarray (n_classes,)
        Sorted.
    sample_weight : float64 (n_samples,)
    class_weight : float64 (n_classes,)
    settings : Settings
        With ``settings.loss`` the scalar loss of one-vs-rest or a
        :class:`MulticlassLoss`.
    split : (train_idx, val_idx)
        ``val_idx`` is None without early stopping.
    start : TrainingState
        One model a class.
    callbacks : list of EpochCallbacks, optional
        One a class for one-vs-rest, one for a joint loss.

    Returns
    -------
    TrainingRecord
        One-vs-rest classes each stop on their own criterion (as trained
        alone); a joint loss's classes share one.
    """
    train_idx, val_idx = split
    labels = np.searchsorted(classes, y).astype(np.int64)
    class_weight = np.ascontiguousarray(class_weight, dtype=np.float64)
    loss = settings.loss
    mode = loss._mode if isinstance(loss, MulticlassLoss) else OVR
    seed = check_random_state(estimator.random_state).randint(MAX_INT)
    n_classes = classes.shape[0]
    criteria = [[k] for k in range(n_classes)] if mode == OVR else [list(range(n_classes))]
    scores = None
    if val_idx is not None:
        score = _validation_scores(X, labels, sample_weight, class_weight, val_idx, mode)
        scores = [functools.partial(score, k) for k in range(n_classes)] if mode == OVR else [score]
    n_threads = effective_n_jobs(estimator.n_jobs)
    runner = ClassBlockRunner(
        X, labels, sample_weight, class_weight, train_idx, settings, mode, start, n_threads
    )
    return train(runner, settings, seed, scores, callbacks, criteria)


def _validation_scores(X, labels, sample_weight, class_weight, val_idx, mode):
    """Early-stopping score: one-vs-rest scores each class's binary problem (as
    when the class trains alone, ``score(k, coef, intercept)``), a joint model
    its multiclass accuracy (``score(coefs, intercepts)``)."""
    X_val, labels_val = X[val_idx], labels[val_idx]
    w_val = sample_weight[val_idx]

    def ovr_score(k, coef, intercept):
        positive = labels_val == k
        pred = X_val @ coef + intercept > 0
        w = w_val * np.where(positive, class_weight[k], 1.0)
        return float(np.average(pred == positive, weights=w))

    def joint_score(coefs, intercepts):
        pred = np.argmax(X_val @ coefs.T + intercepts, axis=1)
        w = w_val * class_weight[labels_val]
        return float(np.average(pred == labels_val, weights=w))

    return ovr_score if mode == OVR else joint_score
