"""The loss contract shared by every loss, the estimators and the kernels."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from . import _scalar
from ._link import IDENTITY, IdentityLink


class Loss(BaseEstimator):
    """Base class of fastloss losses: hyperparameters, a target domain and a link.

    A loss is a scikit-learn style parameter holder (``get_params`` /
    ``set_params``, so ``clone`` and nested search such as ``loss__epsilon``
    work) plus two compiled scalar functions that the kernels call: its value
    and its derivative in the raw prediction.  Built-in losses name their
    compiled pair by an integer code (``_code``) and pass their
    hyperparameters as a float64 array (:meth:`_kernel_params`).

    Subclasses set ``_code``, ``is_classification`` and ``link``, and
    override :meth:`_kernel_params` and :meth:`_validate` when they have
    hyperparameters.
    """

    _code: ClassVar[int]
    #: Binary classification losses take targets in {-1, +1}.
    is_classification: ClassVar[bool] = False
    link: ClassVar[IdentityLink] = IDENTITY

    # ------------------------------------------------------------------ contract
    def _kernel_params(self) -> np.ndarray:
        """Hyperparameters in the order the compiled scalar functions read them."""
        return np.zeros(1)

    def _validate(self) -> None:
        """Raise ``ValueError`` for invalid hyperparameters."""

    def _check_target(self, y_true: np.ndarray) -> None:
        if not np.all(np.isfinite(y_true)):
            raise ValueError(
                f"{type(self).__name__}: y_true contains NaN or infinity; "
                "remove or impute those targets."
            )
        if self.is_classification:
            bad = (y_true != 1.0) & (y_true != -1.0)
            if np.any(bad):
                raise ValueError(
                    f"{type(self).__name__} is a binary classification loss and "
                    "expects y_true in {-1, +1}; got "
                    f"{np.unique(y_true[bad])[:5].tolist()}. Encode the positive "
                    "class as +1 and the negative class as -1 (SGDClassifier does "
                    "this for you)."
                )

    # ------------------------------------------------------------ public API
    def _prepare(self, y_true, raw_prediction):
        self._validate()
        y = np.asarray(y_true, dtype=np.float64)
        p = np.asarray(raw_prediction, dtype=np.float64)
        if y.ndim != 1 or p.shape != y.shape:
            raise ValueError(
                "y_true and raw_prediction must be 1-D arrays of the same length; "
                f"got shapes {y.shape} and {p.shape}."
            )
        if y.shape[0] == 0:
            raise ValueError(
                "Found array with 0 sample(s) (shape=(0,)) while a minimum of 1 is required."
            )
        if np.isnan(p).any():
            raise ValueError("raw_prediction contains NaN; the model producing it diverged.")
        self._check_target(y)
        return np.ascontiguousarray(y), np.ascontiguousarray(p)

    def loss(self, y_true, raw_prediction) -> np.ndarray:
        """Per-sample loss.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Targets ({-1, +1} for binary classification losses).
        raw_prediction : array-like of shape (n_samples,)
            Raw linear scores ``X @ coef + intercept``.

        Returns
        -------
        ndarray of shape (n_samples,), float64
        """
        y, p = self._prepare(y_true, raw_prediction)
        out = np.empty_like(y)
        _scalar.loss_array(self._code, y, p, self._kernel_params(), out)
        return out

    def gradient(self, y_true, raw_prediction) -> np.ndarray:
        """Per-sample derivative of the loss in the raw prediction.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
        raw_prediction : array-like of shape (n_samples,)

        Returns
        -------
        ndarray of shape (n_samples,), float64
        """
        y, p = self._prepare(y_true, raw_prediction)
        out = np.empty_like(y)
        _scalar.derivative_array(self._code, y, p, self._kernel_params(), out)
        return out

    def __call__(self, y_true, raw_prediction, sample_weight=None) -> float:
        """Weighted mean loss ``sum(w * loss) / sum(w)``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
        raw_prediction : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; ``None`` weighs every sample equally.

        Returns
        -------
        float
        """
        per_sample = self.loss(y_true, raw_prediction)
        if sample_weight is None:
            return float(per_sample.mean())
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != per_sample.shape:
            raise ValueError(f"sample_weight has shape {w.shape}; expected {per_sample.shape}.")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
            raise ValueError("sample_weight must be finite, non-negative and not all zero.")
        w = w / w.max()  # weights near the float64 maximum must not overflow the sum
        return float(np.dot(w, per_sample) / w.sum())
