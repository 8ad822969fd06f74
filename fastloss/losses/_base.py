"""The loss contract shared by every loss, the estimators and the kernels."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, validate_parameter_constraints

from .._kernels import _layout as L
from .._kernels import _loss_switch
from .._registry import named_subclasses
from ._link import IDENTITY, IdentityLink
from ._user import kernel_for

#: What every hyperparameter of a user-defined loss must be: it reaches the
#: compiled loss as a float64.
FINITE_REAL = Interval(Real, -np.inf, np.inf, closed="neither")

#: Target domains a loss can declare, with how to state them in an error.
TARGET_DOMAINS = {
    "binary": "in {-1, +1}",
    "real": "finite",
    "nonnegative": ">= 0",
    "positive": "> 0",
    "unit_interval": "in [0, 1]",
}


class Loss(BaseEstimator):
    """Base class of fastloss losses: hyperparameters, a target domain and a link.

    A loss is a scikit-learn style parameter holder (``get_params`` /
    ``set_params``, so ``clone`` and nested search such as ``loss__epsilon``
    work) plus two compiled scalar functions that the kernels call: its value
    and its derivative in the raw prediction.  Built-in losses name their
    compiled pair by an integer code (``_code``) and pass their
    hyperparameters as a float64 array (:meth:`_kernel_params`).

    Built-in subclasses set ``name`` (the string estimators accept; the
    registries of :mod:`fastloss.losses` are built from it), ``_code``,
    ``is_classification`` and ``link``, and when they have hyperparameters
    ``_parameter_constraints`` (scikit-learn's, checked by :meth:`_validate`)
    and :meth:`_kernel_params`.

    **Your own loss.**  Subclass ``Loss``, take the hyperparameters as
    ``__init__`` arguments (stored verbatim, as in any scikit-learn
    estimator) and define two static methods that Numba can compile:
    ``sample_loss(y, p, <hyperparameters>)`` and
    ``sample_derivative(y, p, <hyperparameters>)`` -- the loss of one sample
    and its derivative in the raw prediction ``p``.  Their arguments after
    ``y, p`` name hyperparameters, which reach them as float64 values::

        class AsymmetricSquaredError(Loss):
            def __init__(self, under=2.0):
                self.under = under

            @staticmethod
            def sample_loss(y, p, under):
                r = p - y
                return 0.5 * r * r * (under if r < 0.0 else 1.0)

            @staticmethod
            def sample_derivative(y, p, under):
                r = p - y
                return r * (under if r < 0.0 else 1.0)

    Set ``is_classification = True`` for a margin loss on targets in
    {-1, +1}, ``target_domain`` ("real", "nonnegative", "positive",
    "unit_interval") to have targets checked, and ``link`` (e.g.
    ``LogitLink()``) for probabilities or predictions on another scale.  The
    kernels are compiled for the class once per process; changing
    hyperparameters recompiles nothing.  Each hyperparameter must be a finite
    real number unless the class states its own ``_parameter_constraints``
    (scikit-learn's format).  :func:`fastloss.losses.check_loss` compares the
    derivative with finite differences (estimators run it before fitting).
    """

    _code: ClassVar[int] = L.USER_DEFINED
    #: The string that selects a built-in loss in an estimator's ``loss``
    #: parameter; ``None`` for the losses no string selects.
    name: ClassVar[str | None] = None
    #: Whether ``name`` is one of scikit-learn's SGD loss names too.
    sklearn_name: ClassVar[bool] = False
    #: scikit-learn's parameter constraints of the hyperparameters.
    _parameter_constraints: ClassVar[dict] = {}
    #: Binary classification losses take targets in {-1, +1}.
    is_classification: ClassVar[bool] = False
    #: One of TARGET_DOMAINS; ``None`` means "binary" for classification
    #: losses and "real" otherwise.
    target_domain: ClassVar[str | None] = None
    link: ClassVar[IdentityLink] = IDENTITY
    #: Whether the derivative vanishes on samples the loss still charges (a
    #: redescending or truncated loss, e.g. Tukey, Ramp): from a start where
    #: every sample is there, SGD cannot move, and estimators say so.
    can_stall: ClassVar[bool] = False

    # ------------------------------------------------------------------ contract
    @classmethod
    def _is_user_defined(cls) -> bool:
        """Whether the loss brings its own ``sample_loss`` / ``sample_derivative``."""
        return getattr(cls, "sample_loss", None) is not None

    @classmethod
    def _hyperparameter_names(cls) -> list[str]:
        """Names of a user-defined loss's hyperparameters, in the order its
        scalar methods take them (their arguments after ``y, p``)."""
        from ._user import scalar_methods  # noqa: PLC0415 (user losses only)

        return scalar_methods(cls).hyperparameters

    def _kernel_params(self) -> np.ndarray:
        """Hyperparameters in the order the compiled scalar functions read them."""
        if self._is_user_defined():
            names = self._hyperparameter_names()
            return np.array([float(getattr(self, name)) for name in names] or [0.0])
        return np.zeros(1)

    def _validate(self) -> None:
        """Raise ``ValueError`` for invalid hyperparameters (scikit-learn's
        ``InvalidParameterError``), ``TypeError`` for a class that is no loss."""
        constraints = self._parameter_constraints
        if self._is_user_defined():
            names = self._hyperparameter_names()
            constraints = {**dict.fromkeys(names, [FINITE_REAL]), **constraints}
        elif self._code == L.USER_DEFINED:
            raise TypeError(
                f"{type(self).__name__} subclasses Loss but defines no compiled loss: "
                "give it the static methods sample_loss(y, p, ...) and "
                "sample_derivative(y, p, ...) (see help(fastloss.losses.Loss))."
            )
        validate_parameter_constraints(
            constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )

    def _target_domain(self) -> str:
        if self.target_domain is not None:
            return self.target_domain
        return "binary" if self.is_classification else "real"

    def _check_target(self, y_true: np.ndarray) -> None:
        if not np.all(np.isfinite(y_true)):
            raise ValueError(
                f"{type(self).__name__}: y_true contains NaN or infinity; "
                "remove or impute those targets."
            )
        domain = self._target_domain()
        outside = {
            "nonnegative": lambda y: y < 0,
            "positive": lambda y: y <= 0,
            "unit_interval": lambda y: (y < 0) | (y > 1),
        }.get(domain)
        if outside is not None:
            bad = outside(y_true)
            if np.any(bad):
                raise ValueError(
                    f"{self!r} needs targets {TARGET_DOMAINS[domain]}; got "
                    f"{int(bad.sum())} outside, e.g. {np.unique(y_true[bad])[:5].tolist()}. "
                    f"{self._domain_advice()}"
                )
        if domain == "binary":
            bad = (y_true != 1.0) & (y_true != -1.0)
            if np.any(bad):
                raise ValueError(
                    f"{type(self).__name__} is a binary classification loss and "
                    "expects y_true in {-1, +1}; got "
                    f"{np.unique(y_true[bad])[:5].tolist()}. Encode the positive "
                    "class as +1 and the negative class as -1 (SGDClassifier does "
                    "this for you)."
                )

    def _domain_advice(self) -> str:
        """What to do about targets outside the domain (said in the error)."""
        return "Transform the targets or choose a loss whose domain contains them."

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
        check_scores(y, p)
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
        kernel_for(_loss_switch.loss_array, self)(self._code, y, p, self._kernel_params(), out)
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
        kernel = kernel_for(_loss_switch.derivative_array, self)
        kernel(self._code, y, p, self._kernel_params(), out)
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

    # ------------------------------------------------- composite losses
    def _weighted_terms(self):
        """(terms, weights) of this loss as a term of a sum."""
        return [self], [1.0]

    def __add__(self, other):
        """``loss_a + loss_b``: a :class:`~fastloss.losses.Sum` of both (flat)."""
        if not isinstance(other, Loss):
            return NotImplemented
        from ._composite import Sum  # noqa: PLC0415 (_composite imports this module)

        terms, weights = self._weighted_terms()
        other_terms, other_weights = other._weighted_terms()
        return Sum(terms + other_terms, weights=weights + other_weights)

    def __radd__(self, other):
        # sum([a, b]) starts from 0
        if isinstance(other, Real) and other == 0:
            return self
        return NotImplemented

    def __mul__(self, weight):
        """``weight * loss``: a :class:`~fastloss.losses.Sum` of one weighted term."""
        if not isinstance(weight, Real) or isinstance(weight, bool):
            return NotImplemented
        from ._composite import Sum  # noqa: PLC0415

        terms, weights = self._weighted_terms()
        return Sum(terms, weights=[float(weight) * w for w in weights])

    __rmul__ = __mul__


def check_scores(y: np.ndarray, p: np.ndarray) -> None:
    """Reject an empty sample and NaN raw predictions (shapes already checked)."""
    if y.shape[0] == 0:
        raise ValueError(
            "Found array with 0 sample(s) (shape=(0,)) while a minimum of 1 is required."
        )
    if np.isnan(p).any():
        raise ValueError("raw_prediction contains NaN; the model producing it diverged.")


def named_losses() -> list[type[Loss]]:
    """The built-in loss classes that carry a ``name``, in definition order."""
    return named_subclasses(Loss, __package__)
