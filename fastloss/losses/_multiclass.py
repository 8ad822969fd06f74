"""Multiclass losses: one loss per sample over the scores of all classes at once.

Unlike the binary and regression losses, which see one raw score per sample,
these see a row of ``n_classes`` scores and the sample's class index.  An
``SGDClassifier`` trained with one of them fits all classes jointly (one
weight vector per class, coupled through the loss) instead of one-vs-rest.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import expit, softmax

from .._kernels import _layout as L
from .._kernels import _multiclass_losses
from ._base import Loss, check_scores


class SoftmaxLink:
    """Class probabilities ``softmax(raw)`` over the columns of ``raw``; a 1-D
    ``raw`` (two classes, one score) gives ``expit(raw)``, the positive class's."""

    gives_probabilities = True

    def inverse(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim == 1:
            return expit(raw)
        return softmax(raw, axis=1)


SOFTMAX = SoftmaxLink()


class MulticlassLoss(Loss):
    """Base class of the multiclass losses (not public).

    ``loss`` and ``gradient`` take ``y_true`` as class indices in
    ``[0, n_classes)`` and ``raw_prediction`` as an ``(n_samples, n_classes)``
    matrix of scores.  ``_mode`` is the integer code the multi-output kernel
    switches on; ``binary_loss`` is what the loss reduces to with two classes.
    """

    _code = L.MULTICLASS  # the multi-output kernel uses ``_mode``
    _mode: ClassVar[int]
    is_classification = True
    #: Marks the losses that train all classes jointly.
    is_multiclass: ClassVar[bool] = True

    def binary_loss(self) -> Loss:
        """The scalar loss on margins that this loss equals with two classes."""
        raise NotImplementedError

    def _prepare(self, y_true, raw_prediction):
        self._validate()
        p = np.asarray(raw_prediction, dtype=np.float64)
        y = np.asarray(y_true)
        if p.ndim != 2 or y.ndim != 1 or p.shape[0] != y.shape[0] or p.shape[1] < 2:
            raise ValueError(
                f"{type(self).__name__} expects y_true of shape (n_samples,) and "
                "raw_prediction of shape (n_samples, n_classes) with n_classes >= 2; "
                f"got shapes {y.shape} and {p.shape}."
            )
        check_scores(y, p)
        labels = y.astype(np.int64) if np.issubdtype(y.dtype, np.number) else None
        if labels is None or np.any(labels != y) or labels.min() < 0 or labels.max() >= p.shape[1]:
            raise ValueError(
                f"{type(self).__name__} expects y_true as class indices in "
                f"[0, {p.shape[1]}) (the column of each sample's class in "
                "raw_prediction); encode labels with sklearn.preprocessing.LabelEncoder."
            )
        return np.ascontiguousarray(labels), np.ascontiguousarray(p)

    def _loss_and_gradient(self, y_true, raw_prediction):
        labels, p = self._prepare(y_true, raw_prediction)
        out = np.empty(labels.shape[0])
        grad = np.empty_like(p)
        _multiclass_losses.multiclass_loss_array(self._mode, labels, p, out, grad)
        return out, grad

    def loss(self, y_true, raw_prediction) -> np.ndarray:
        """Per-sample loss.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices in ``[0, n_classes)``.
        raw_prediction : array-like of shape (n_samples, n_classes)
            Raw scores ``X @ coef.T + intercept`` of every class.

        Returns
        -------
        ndarray of shape (n_samples,), float64
        """
        return self._loss_and_gradient(y_true, raw_prediction)[0]

    def gradient(self, y_true, raw_prediction) -> np.ndarray:
        """Per-sample gradient of the loss in the raw scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices in ``[0, n_classes)``.
        raw_prediction : array-like of shape (n_samples, n_classes)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float64
        """
        return self._loss_and_gradient(y_true, raw_prediction)[1]


class Multinomial(MulticlassLoss):
    """Softmax cross-entropy over all classes: multinomial logistic regression.

    ``loss(y, p) = log(sum_k exp(p_k)) - p_y`` for the scores ``p`` of all
    classes and the sample's class ``y``; gradient ``softmax(p) - onehot(y)``.

    Notes
    -----
    Target domain: class indices (``SGDClassifier`` encodes any labels).  Link
    softmax, so ``predict_proba`` gives ``softmax(decision_function(X))``:
    calibrated probabilities that sum to one by construction, unlike the
    normalised one-vs-rest estimates.  Use it when you need class
    probabilities, or when classes are not separable one from all the others.
    With two classes it equals :class:`LogLoss` on the score difference, and
    ``SGDClassifier`` then fits one weight vector, as scikit-learn's
    ``LogisticRegression`` does.  Evaluated stably (shifted by the largest
    score).  Selected by ``SGDClassifier(loss="log_loss",
    multi_class="multinomial")``.
    """

    _mode = L.MULTINOMIAL
    link = SOFTMAX

    def __init__(self):
        pass

    def smoothness_constant(self) -> float:
        """1/2, in the joint sense: the gradient ``softmax(p) - onehot(y)`` is
        1/2-Lipschitz in the Euclidean norm of the score vector ``p``.

        The Hessian is ``H = diag(s) - s s^T``, ``s = softmax(p)``;
        ``v^T H v`` is the variance of ``v`` under the distribution ``s``, at
        most ``(max v - min v)^2 / 4 <= 1/2`` for a unit ``v`` (Popoviciu),
        attained with two classes at equal scores.  One class's own curvature
        (a diagonal entry ``s_k (1 - s_k)``) is at most 1/4; a solver that
        steps all classes of a row together needs the joint 1/2.
        """
        return 0.5

    def binary_loss(self) -> Loss:
        from ._classification import LogLoss

        return LogLoss()


class MulticlassHinge(MulticlassLoss):
    """Crammer-Singer multiclass hinge: ``max(0, 1 + max_{k != y} p_k - p_y)``.

    Penalises a sample until its own class outscores every other class by a
    margin of one; its subgradient moves the sample's class up and the
    strongest rival down.

    Notes
    -----
    Target domain: class indices (``SGDClassifier`` encodes any labels).  No
    probabilities.  The joint multiclass SVM of Crammer and Singer (2001), as
    ``sklearn.svm.LinearSVC(multi_class="crammer_singer")``; use it instead of
    one-vs-rest hinge when classes are not separable one from all the others.
    With two classes it equals :class:`Hinge` on the score difference, and
    ``SGDClassifier`` then fits one weight vector.  Selected by
    ``SGDClassifier(loss="hinge", multi_class="multinomial")``.
    """

    _mode = L.CRAMMER_SINGER
    smooth_alternative = "Multinomial (loss='log_loss', multi_class='multinomial')"

    def __init__(self):
        pass

    def smoothness_constant(self) -> None:
        """``None``: the subgradient jumps where the margin crosses 1 or the rival changes."""
        return None

    def binary_loss(self) -> Loss:
        from ._classification import Hinge

        return Hinge()
