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
    Override :meth:`smoothness_constant` to declare a bound on the second
    derivative (the variance-reduced solvers need one; ``check_loss`` checks
    it), and set ``is_convex = False`` for a loss that is not convex.
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
    #: Whether the per-sample loss is convex in the raw prediction (the
    #: variance-reduced solvers' guarantees assume it).  A user-defined loss
    #: that is not convex should set it to False.
    is_convex: ClassVar[bool] = True
    #: The smooth loss to use instead when :meth:`smoothness_constant` is ``None``
    #: (named in the error of the solvers that need a smoothness constant).
    smooth_alternative: ClassVar[str | None] = None
    #: Whether ``fit`` starts the intercept at :meth:`best_constant` rather
    #: than at zero (when it starts from zeros and fits an intercept).  False
    #: for scikit-learn's loss names, whose start at zero stays bit-exact.
    starts_at_best_constant: ClassVar[bool] = False

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

    # ------------------------------------------------------ solver support
    def smoothness_constant(self) -> float | None:
        """Upper bound ``L`` on the second derivative of the per-sample loss in
        the raw prediction ``p``, over every target of the domain and every
        ``p``: the derivative is ``L``-Lipschitz in ``p``.

        The variance-reduced solvers (SAGA, SVRG) derive their step size from
        it.  ``None`` means the loss is not smooth (a kink in the loss, such
        as the hinge's, or a second derivative without bound, such as
        ``exp(p)`` of the log-link losses); :attr:`smooth_alternative` then
        names a smooth loss to use instead.

        A user-defined loss returns ``None`` unless it overrides this method;
        :func:`~fastloss.losses.check_loss` compares a declared constant with
        finite differences of the derivative.  (Not called ``smoothness``:
        that is a hyperparameter of :class:`~fastloss.losses.SmoothHinge`.)

        Returns
        -------
        float or None
        """
        return None

    def _smoothness_or_raise(self, solver: str) -> float:
        """:meth:`smoothness_constant`, or a ``ValueError`` saying why ``solver``
        cannot run this loss and which loss to use instead."""
        constant = self.smoothness_constant()
        if constant is not None:
            return float(constant)
        name = type(self).__name__
        if self._is_user_defined():
            remedy = (
                f"Declare one: give {name} a method smoothness_constant(self) returning "
                "an upper bound on |d^2 loss / dp^2| (see docs/user_guide/custom_losses.rst), "
                "or use another optimizer."
            )
        elif self.smooth_alternative:
            remedy = f"Use {self.smooth_alternative}, or another optimizer."
        else:
            remedy = "Use another optimizer."
        raise ValueError(
            f"{solver} needs a smooth loss (a derivative that is Lipschitz in the raw "
            f"prediction, with a known constant); {self!r} has none. {remedy}"
        )

    def step_scale(self, y, sample_weight=None) -> float:
        """Factor on an estimator's default step size, in the targets' units.

        1 for most losses: their derivative grows with the residual, so a step
        already carries the targets' scale.  A loss that starts at its best
        constant (:attr:`starts_at_best_constant`: Quantile, AbsoluteError) has
        a derivative bounded whatever the residual, so plain SGD with the
        default step would move the prediction by about ``eta0`` a sample on
        targets of any size (coverage 0.838 instead of 0.8 after 200 epochs on
        targets of order 100, issue 18); for it the factor is the targets'
        weighted mean absolute deviation from that constant (1 when it is 0).

        Parameters
        ----------
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        if not self.starts_at_best_constant:
            return 1.0
        y, w = self._targets_and_weights(y, sample_weight)
        spread = float(np.average(np.abs(y - self.best_constant(y, w)), weights=w))
        return spread if spread > 0.0 and np.isfinite(spread) else 1.0

    def best_constant(self, y, sample_weight=None) -> float:
        """The raw prediction ``c`` that minimises the weighted mean loss of a
        model predicting ``c`` for every sample.

        Estimators start the intercept there for the losses that set
        :attr:`starts_at_best_constant`.  This base version minimises the
        loss numerically over a bounded interval (the targets' range for an
        identity link, ``[-40, 40]`` otherwise); losses with a closed form
        (mean, quantile, logit of the positive fraction...) override it.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Targets in the loss's domain.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, not all zero; ``None`` weighs samples equally.

        Returns
        -------
        float
        """
        from scipy.optimize import minimize_scalar  # noqa: PLC0415 (rarely needed)

        y, w = self._targets_and_weights(y, sample_weight)
        if type(self.link) is IdentityLink and not self.is_classification:
            low, high = float(y.min()), float(y.max())
        else:
            low, high = -40.0, 40.0
        if low == high:
            return low

        def objective(c):
            return self(y, np.full_like(y, c), w)

        return float(minimize_scalar(objective, bounds=(low, high), method="bounded").x)

    def _targets_and_weights(self, y, sample_weight):
        """``y`` and ``sample_weight`` as float64 arrays, checked for :meth:`best_constant`."""
        self._validate()
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1 or y.shape[0] == 0:
            raise ValueError(f"y must be a non-empty 1-D array; got shape {y.shape}.")
        self._check_target(y)
        if sample_weight is None:
            return y, np.ones_like(y)
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != y.shape:
            raise ValueError(f"sample_weight has shape {w.shape}; expected {y.shape}.")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
            raise ValueError("sample_weight must be finite, non-negative and not all zero.")
        return y, w

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


def weighted_quantile(y: np.ndarray, w: np.ndarray, q: float) -> float:
    """A minimiser of ``sum_i w_i pinball_q(y_i - c)``: the weighted ``q``-quantile.

    The smallest ``y_k`` (in sorted order) whose cumulative weight reaches
    ``q`` times the total; where it reaches it exactly, every value up to the
    next target minimises too and the midpoint is returned (so that ``q=0.5``
    without weights is ``np.median``).

    Parameters
    ----------
    y, w : float64 ndarray of shape (n_samples,)
        Targets and non-negative weights (not all zero).
    q : float in (0, 1)
    """
    order = np.argsort(y, kind="stable")
    y, w = y[order], w[order]
    keep = w > 0  # a sample of weight 0 is not there
    y, w = y[keep], w[keep]
    cumulative = np.cumsum(w)
    target = q * cumulative[-1]
    k = int(np.searchsorted(cumulative, target * (1.0 - 4 * np.finfo(float).eps)))
    k = min(k, y.size - 1)
    if k + 1 < y.size and np.isclose(cumulative[k], target, rtol=1e-12, atol=0.0):
        return 0.5 * (float(y[k]) + float(y[k + 1]))
    return float(y[k])
