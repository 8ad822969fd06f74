"""A corpus of bad inputs, one table: every case names the error it expects.

Each row builds an estimator (fitted first unless the case is about a first
call), calls one public method with one bad argument, and expects either a
given exception whose message contains a given fragment (scikit-learn's own
wording wherever scikit-learn raises one) or, for the inputs that are valid, a
fit with finite coefficients.  Whatever happens, a call that raises must leave
the estimator exactly as it was (``pickle.dumps`` before and after): fastloss
promises all-or-nothing fits.

The last test runs the whole table again in a child interpreter, so that a case
that crashed the process (a segfault in compiled code) would show up as a
failing return code instead of killing the test session.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

import fastloss
from fastloss import losses

# ---------------------------------------------------------------------- data
X, Y = make_classification(n_samples=40, n_features=4, random_state=0)
XR, YR = make_regression(n_samples=40, n_features=4, noise=1.0, random_state=0)
XR = XR / np.abs(XR).max()
YR = YR / np.abs(YR).max()
BASE = dict(random_state=0, max_iter=20, tol=None)  # tol=None: no ConvergenceWarning

# Loss-method inputs: three samples, targets in {-1, +1}.
LY = np.array([1.0, -1.0, 1.0])
LP = np.array([0.5, -2.0, 3.0])


def put(a, idx, value):
    """A float copy of ``a`` with ``a[idx] = value``."""
    a = np.array(a, dtype=float)
    a[idx] = value
    return a


ONES = np.ones(40)
OBJECT_WITH_NONE = X.astype(object)
OBJECT_WITH_NONE[0, 0] = None


# --------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Raises:
    """The call raises ``exc`` (or a subclass) with ``fragment`` in its message."""

    exc: type[BaseException]
    fragment: str

    def check(self, result, raised):
        if raised is None:
            raise AssertionError(f"expected {self.exc.__name__}({self.fragment!r}); got {result!r}")
        if not isinstance(raised, self.exc) or self.fragment not in str(raised):
            raise AssertionError(
                f"expected {self.exc.__name__} containing {self.fragment!r}; got "
                f"{type(raised).__name__}: {raised}"
            ) from raised


@dataclass(frozen=True)
class Fits:
    """The call succeeds and returns a fitted estimator with finite weights."""

    def check(self, result, raised):
        if raised is not None:
            raise AssertionError(f"expected a fit; got {type(raised).__name__}: {raised}")
        assert np.all(np.isfinite(result.coef_)), result.coef_
        assert np.all(np.isfinite(result.intercept_)), result.intercept_


@dataclass(frozen=True)
class NanOut:
    """A NaN input gives NaN at its position (or a ValueError), never a number."""

    position: int = 0

    def check(self, result, raised):
        if raised is not None:
            assert isinstance(raised, ValueError) and "contains NaN" in str(raised), raised
            return
        assert np.isnan(np.asarray(result)[self.position]), result


@dataclass(frozen=True)
class Close:
    """The call returns ``value`` (a float) to within a relative 1e-12."""

    value: float

    def check(self, result, raised):
        if raised is not None:
            raise AssertionError(f"expected {self.value}; got {type(raised).__name__}: {raised}")
        assert np.isclose(result, self.value, rtol=1e-12, atol=0), result


DIVERGES = Raises(ValueError, "Floating-point under-/overflow occurred")
NAN_X = Raises(ValueError, "Input X contains NaN")
INF_X = Raises(ValueError, "Input X contains infinity")


def invalid(est: str, name: str) -> Raises:
    return Raises(InvalidParameterError, f"The {name!r} parameter of {est} must be")


# -------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One row of the corpus.

    target : "clf", "reg" or "loss" (no estimator: ``call`` gets ``None``)
    call : est -> result, the one call under test
    expect : Raises, Fits, NanOut or Close
    prefit : "fit", "partial_fit" or None: how the estimator is prepared
    init : constructor parameters (on top of ``BASE``), used by the prefit too
    params : set on the estimator after the prefit, before the snapshot
    """

    id: str
    target: str
    call: Callable[[Any], Any]
    expect: Any
    prefit: str | None = "fit"
    init: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def build(self):
        if self.target == "loss":
            return None
        if self.target == "clf":
            est = fastloss.SGDClassifier(**BASE, **self.init)
            if self.prefit == "fit":
                est.fit(X, Y)
            elif self.prefit == "partial_fit":
                est.partial_fit(X, Y, classes=[0, 1])
        else:
            est = fastloss.SGDRegressor(**BASE, **self.init)
            if self.prefit == "fit":
                est.fit(XR, YR)
            elif self.prefit == "partial_fit":
                est.partial_fit(XR, YR)
        return est.set_params(**self.params)


def C(id, call, expect, **kw):  # a classifier row
    return Case(id, "clf", call, expect, **kw)


def R(id, call, expect, **kw):  # a regressor row
    return Case(id, "reg", call, expect, **kw)


def L(id, call, expect, **kw):  # a loss-object row
    return Case(id, "loss", lambda _: call(), expect, prefit=None, **kw)


NO_1D = "Expected 2D array, got 1D array instead"

CASES = [
    # ---- non-finite and huge values in X
    C("clf-fit-X-nan", lambda e: e.fit(put(X, (0, 0), np.nan), Y), NAN_X),
    R("reg-fit-X-inf", lambda e: e.fit(put(XR, (3, 1), np.inf), YR), INF_X),
    C(
        "clf-partial_fit-X-neginf",
        lambda e: e.partial_fit(put(X, (5, 2), -np.inf), Y),
        INF_X,
        prefit="partial_fit",
    ),
    # One huge entry: scikit-learn fits finite weights, and so must we.
    C("clf-fit-X-one-1e308", lambda e: e.fit(put(X, (0, 0), 1e308), Y), Fits(), prefit=None),
    # Every entry huge, or a squared loss on a huge entry: the first update
    # overflows.  scikit-learn and fastloss both raise the divergence error, the
    # one correct answer short of finite weights (never NaN or inf in coef_).
    C("clf-fit-X-all-1e308", lambda e: e.fit(np.full_like(X, 1e308), Y), DIVERGES),
    R("reg-fit-X-1e308", lambda e: e.fit(put(XR, (0, 0), 1e308), YR), DIVERGES),
    R(
        "reg-partial_fit-X-1e308",
        lambda e: e.partial_fit(put(XR, (7, 3), -1e308), YR),
        DIVERGES,
        prefit="partial_fit",
    ),
    # ---- non-finite and huge values in y
    R(
        "reg-fit-y-nan",
        lambda e: e.fit(XR, put(YR, 0, np.nan)),
        Raises(ValueError, "Input y contains NaN"),
    ),
    C(
        "clf-fit-y-inf",
        lambda e: e.fit(X, put(Y, 0, np.inf)),
        Raises(ValueError, "Input y contains infinity"),
    ),
    R(
        "reg-partial_fit-y-inf",
        lambda e: e.partial_fit(XR, put(YR, 1, -np.inf)),
        Raises(ValueError, "Input y contains infinity"),
    ),
    R("reg-fit-y-1e308", lambda e: e.fit(XR, put(YR, 0, 1e308)), DIVERGES),
    # ---- sample_weight
    C(
        "clf-fit-sw-nan",
        lambda e: e.fit(X, Y, sample_weight=put(ONES, 0, np.nan)),
        Raises(ValueError, "Input sample_weight contains NaN"),
    ),
    R(
        "reg-partial_fit-sw-inf",
        lambda e: e.partial_fit(XR, YR, sample_weight=put(ONES, 0, np.inf)),
        Raises(ValueError, "Input sample_weight contains infinity"),
    ),
    R("reg-fit-sw-1e308", lambda e: e.fit(XR, YR, sample_weight=put(ONES, 0, 1e308)), DIVERGES),
    C(
        "clf-fit-sw-negative",
        lambda e: e.fit(X, Y, sample_weight=put(ONES, 0, -1.0)),
        Raises(ValueError, "Negative values in data passed to `sample_weight`"),
    ),
    R(
        "reg-partial_fit-sw-negative",
        lambda e: e.partial_fit(XR, YR, sample_weight=-ONES),
        Raises(ValueError, "Negative values in data passed to `sample_weight`"),
    ),
    C(
        "clf-fit-sw-all-zero",
        lambda e: e.fit(X, Y, sample_weight=np.zeros(40)),
        Raises(ValueError, "Sample weights must contain at least one non-zero number"),
    ),
    R(
        "reg-partial_fit-sw-all-zero",
        lambda e: e.partial_fit(XR, YR, sample_weight=np.zeros(40)),
        Raises(ValueError, "Sample weights must contain at least one non-zero number"),
    ),
    R(
        "reg-fit-sw-all-zero-early-stopping",
        lambda e: e.fit(XR, YR, sample_weight=np.zeros(40)),
        Raises(ValueError, "Sample weights must contain at least one non-zero number"),
        params=dict(early_stopping=True),
    ),
    C(
        "clf-fit-sw-wrong-length",
        lambda e: e.fit(X, Y, sample_weight=np.ones(39)),
        Raises(ValueError, "sample_weight.shape == (39,), expected (40,)!"),
    ),
    C(
        "clf-partial_fit-sw-2d",
        lambda e: e.partial_fit(X, Y, sample_weight=np.ones((40, 1))),
        Raises(ValueError, "Sample weights must be 1D array or scalar, got 2D array"),
    ),
    # ---- dtypes
    C(
        "clf-fit-X-object-with-None",
        lambda e: e.fit(OBJECT_WITH_NONE, Y),
        NAN_X,
    ),
    C("clf-fit-X-object-numbers", lambda e: e.fit(X.astype(object), Y), Fits(), prefit=None),
    C("clf-fit-X-numeric-strings", lambda e: e.fit(X.astype(str), Y), Fits(), prefit=None),
    C(
        "clf-fit-X-words",
        lambda e: e.fit(np.full(X.shape, "a"), Y),
        Raises(ValueError, "could not convert string to float"),
    ),
    R(
        "reg-predict-X-strings",
        lambda e: e.predict(np.full((3, 4), "a")),
        Raises(ValueError, "dtype='numeric' is not compatible with arrays of bytes/strings"),
    ),
    C(
        "clf-decision_function-X-complex",
        lambda e: e.decision_function(X.astype(complex)),
        Raises(ValueError, "Complex data not supported"),
    ),
    R(
        "reg-fit-y-strings",
        lambda e: e.fit(XR, np.array(["a"] * 40)),
        Raises(ValueError, "could not convert string to float"),
    ),
    C(
        "clf-fit-y-continuous",
        lambda e: e.fit(X, Y + 0.5),
        Raises(ValueError, "Unknown label type"),
    ),
    # ---- shapes
    C(
        "clf-fit-X-ragged",
        lambda e: e.fit([[1.0, 2.0], [3.0]], [0, 1]),
        Raises(ValueError, "inhomogeneous shape"),
    ),
    C(
        "clf-fit-X-0d",
        lambda e: e.fit(np.float64(3.0), [0]),
        Raises(ValueError, "Expected 2D array, got scalar array instead"),
    ),
    R("reg-fit-X-1d", lambda e: e.fit(XR[:, 0], YR), Raises(ValueError, NO_1D)),
    R(
        "reg-fit-X-3d",
        lambda e: e.fit(XR[:, :, None], YR),
        Raises(ValueError, "Found array with dim 3, while dim <= 2 is required by SGDRegressor"),
    ),
    C(
        "clf-decision_function-X-1d",
        lambda e: e.decision_function(X[0]),
        Raises(ValueError, NO_1D),
    ),
    C(
        "clf-fit-0-samples",
        lambda e: e.fit(np.empty((0, 4)), np.empty(0)),
        Raises(
            ValueError,
            "Found array with 0 sample(s) (shape=(0, 4)) while a minimum of 1 is "
            "required by SGDClassifier",
        ),
    ),
    R(
        "reg-partial_fit-0-samples",
        lambda e: e.partial_fit(np.empty((0, 4)), np.empty(0)),
        Raises(ValueError, "Found array with 0 sample(s)"),
        prefit="partial_fit",
    ),
    R(
        "reg-predict-0-samples",
        lambda e: e.predict(np.empty((0, 4))),
        Raises(ValueError, "Found array with 0 sample(s)"),
    ),
    C(
        "clf-fit-0-features",
        lambda e: e.fit(np.empty((40, 0)), Y),
        Raises(ValueError, "Found array with 0 feature(s) (shape=(40, 0))"),
    ),
    R("reg-fit-one-sample", lambda e: e.fit(XR[:1], YR[:1]), Fits(), prefit=None),
    R("reg-partial_fit-one-sample", lambda e: e.partial_fit(XR[:1], YR[:1]), Fits(), prefit=None),
    R(
        "reg-fit-one-sample-averaged",
        lambda e: e.fit(XR[:1], YR[:1]),
        Fits(),
        prefit=None,
        params=dict(average=True),
    ),
    C(
        "clf-partial_fit-one-sample",
        lambda e: e.partial_fit(X[:1], Y[:1], classes=[0, 1]),
        Fits(),
        prefit=None,
    ),
    C(
        "clf-fit-one-sample",
        lambda e: e.fit(X[:1], Y[:1]),
        Raises(ValueError, "The number of classes has to be greater than one; got 1 class"),
    ),
    C("clf-fit-one-feature", lambda e: e.fit(X[:, :1], Y), Fits(), prefit=None),
    R("reg-fit-one-feature", lambda e: e.fit(XR[:, :1], YR), Fits(), prefit=None),
    C(
        "clf-fit-y-too-short",
        lambda e: e.fit(X, Y[:-1]),
        Raises(ValueError, "Found input variables with inconsistent numbers of samples: [40, 39]"),
    ),
    R(
        "reg-partial_fit-y-too-long",
        lambda e: e.partial_fit(XR, np.r_[YR, 0.0]),
        Raises(ValueError, "Found input variables with inconsistent numbers of samples: [40, 41]"),
    ),
    C(
        "clf-fit-y-2d",
        lambda e: e.fit(X, np.column_stack([Y, Y])),
        Raises(ValueError, "y should be a 1d array, got an array of shape (40, 2) instead"),
    ),
    R(
        "reg-fit-y-2d",
        lambda e: e.fit(XR, np.column_stack([YR, YR])),
        Raises(ValueError, "y should be a 1d array, got an array of shape (40, 2) instead"),
    ),
    # ---- classes
    C(
        "clf-fit-single-class",
        lambda e: e.fit(X, np.zeros(40)),
        Raises(ValueError, "The number of classes has to be greater than one; got 1 class"),
    ),
    C(
        "clf-partial_fit-first-call-without-classes",
        lambda e: e.partial_fit(X, Y),
        Raises(ValueError, "classes must be passed on the first call to partial_fit"),
        prefit=None,
    ),
    # scikit-learn says "classes should include all valid labels that can be in
    # y" here; fastloss names the offending labels (scikit-learn's naive Bayes
    # wording), which is clearer.
    C(
        "clf-partial_fit-first-call-label-not-in-classes",
        lambda e: e.partial_fit(X, Y, classes=[0, 2]),
        Raises(
            ValueError, "The target label(s) [1] in y do not exist in the initial classes [0, 2]"
        ),
        prefit=None,
    ),
    C(
        "clf-partial_fit-label-not-in-classes",
        lambda e: e.partial_fit(X, np.where(Y == 1, 7, Y)),
        Raises(
            ValueError, "The target label(s) [7] in y do not exist in the initial classes [0, 1]"
        ),
        prefit="partial_fit",
    ),
    C(
        "clf-partial_fit-classes-changed",
        lambda e: e.partial_fit(X, Y, classes=[0, 1, 2]),
        Raises(ValueError, "`classes=[0, 1, 2]` is not the same as on last call to partial_fit"),
        prefit="partial_fit",
    ),
    C(
        "clf-partial_fit-one-class",
        lambda e: e.partial_fit(X, np.zeros(40), classes=[0]),
        Raises(ValueError, "The number of classes has to be greater than one; got 1 class"),
        prefit=None,
    ),
    C(
        "clf-partial_fit-classes-nan",
        lambda e: e.partial_fit(X, Y, classes=[0, 1, np.nan]),
        Raises(ValueError, "Input contains NaN"),
        prefit=None,
    ),
    C(
        "clf-fit-warm-start-classes-changed",
        lambda e: e.fit(X, np.arange(40) % 3),
        Raises(ValueError, "does not match dataset"),
        params=dict(warm_start=True),
    ),
    # ---- feature count
    C(
        "clf-predict-fewer-features",
        lambda e: e.predict(X[:, :3]),
        Raises(ValueError, "X has 3 features, but SGDClassifier is expecting 4 features as input"),
    ),
    R(
        "reg-predict-more-features",
        lambda e: e.predict(np.hstack([XR, XR[:, :1]])),
        Raises(ValueError, "X has 5 features, but SGDRegressor is expecting 4 features as input"),
    ),
    C(
        "clf-predict_proba-fewer-features",
        lambda e: e.predict_proba(X[:, :3]),
        Raises(ValueError, "X has 3 features, but SGDClassifier is expecting 4 features as input"),
        init=dict(loss="log_loss"),
    ),
    C(
        "clf-partial_fit-features-changed",
        lambda e: e.partial_fit(X[:, :3], Y),
        Raises(ValueError, "X has 3 features, but SGDClassifier is expecting 4 features as input"),
        prefit="partial_fit",
    ),
    R(
        "reg-partial_fit-after-fit-features-changed",
        lambda e: e.partial_fit(XR[:, :3], YR),
        Raises(ValueError, "X has 3 features, but SGDRegressor is expecting 4 features as input"),
    ),
    R(
        "reg-fit-warm-start-features-changed",
        lambda e: e.fit(XR[:, :3], YR),
        Raises(ValueError, "does not match dataset"),
        params=dict(warm_start=True),
    ),
    C(
        "clf-fit-coef_init-wrong-shape",
        lambda e: e.fit(X, Y, coef_init=np.zeros((1, 3))),
        Raises(ValueError, "Provided coef_init does not match dataset"),
    ),
    R(
        "reg-fit-intercept_init-wrong-shape",
        lambda e: e.fit(XR, YR, intercept_init=np.zeros(2)),
        Raises(ValueError, "Provided intercept_init does not match dataset"),
    ),
    # ---- prediction before fit, and values at prediction time
    C(
        "clf-predict-before-fit",
        lambda e: e.predict(X),
        Raises(NotFittedError, "This SGDClassifier instance is not fitted yet"),
        prefit=None,
    ),
    C(
        "clf-decision_function-before-fit",
        lambda e: e.decision_function(X),
        Raises(NotFittedError, "This SGDClassifier instance is not fitted yet"),
        prefit=None,
    ),
    C(
        "clf-predict_proba-before-fit",
        lambda e: e.predict_proba(X),
        Raises(NotFittedError, "This SGDClassifier instance is not fitted yet"),
        prefit=None,
        init=dict(loss="log_loss"),
    ),
    R(
        "reg-predict-before-fit",
        lambda e: e.predict(XR),
        Raises(NotFittedError, "This SGDRegressor instance is not fitted yet"),
        prefit=None,
    ),
    C(
        "clf-predict_proba-hinge",
        lambda e: e.predict_proba(X),
        Raises(AttributeError, "has no attribute 'predict_proba'"),
    ),
    C("clf-predict-X-nan", lambda e: e.predict(put(X, (1, 1), np.nan)), NAN_X),
    R("reg-predict-X-inf", lambda e: e.predict(put(XR, (1, 1), np.inf)), INF_X),
    # ---- hyperparameters, each through scikit-learn's parameter validation
    C(
        "clf-param-loss-name",
        lambda e: e.fit(X, Y),
        invalid("SGDClassifier", "loss"),
        params=dict(loss="nope"),
    ),
    R(
        "reg-param-loss-clf-name",
        lambda e: e.fit(XR, YR),
        invalid("SGDRegressor", "loss"),
        params=dict(loss="hinge"),
    ),
    R(
        "reg-param-penalty",
        lambda e: e.fit(XR, YR),
        invalid("SGDRegressor", "penalty"),
        params=dict(penalty="l3"),
    ),
    C(
        "clf-param-alpha",
        lambda e: e.fit(X, Y),
        invalid("SGDClassifier", "alpha"),
        params=dict(alpha=-1.0),
    ),
    R(
        "reg-param-l1_ratio",
        lambda e: e.fit(XR, YR),
        invalid("SGDRegressor", "l1_ratio"),
        params=dict(l1_ratio=1.5),
    ),
    C(
        "clf-param-max_iter",
        lambda e: e.fit(X, Y),
        invalid("SGDClassifier", "max_iter"),
        params=dict(max_iter=0),
    ),
    R(
        "reg-param-tol",
        lambda e: e.fit(XR, YR),
        invalid("SGDRegressor", "tol"),
        params=dict(tol=-1.0),
    ),
    C(
        "clf-param-eta0-zero",
        lambda e: e.fit(X, Y),
        invalid("SGDClassifier", "eta0"),
        params=dict(eta0=0.0),
    ),
    R(
        "reg-param-eta0-negative-partial_fit",
        lambda e: e.partial_fit(XR, YR),
        invalid("SGDRegressor", "eta0"),
        prefit=None,
        params=dict(eta0=-0.1),
    ),
    C(
        "clf-param-power_t",
        lambda e: e.fit(X, Y),
        invalid("SGDClassifier", "power_t"),
        params=dict(power_t=-0.5),
    ),
    R(
        "reg-param-learning_rate",
        lambda e: e.fit(XR, YR),
        invalid("SGDRegressor", "learning_rate"),
        params=dict(learning_rate="fast"),
    ),
    C(
        "clf-param-validation_fraction",
        lambda e: e.fit(X, Y),
        invalid("SGDClassifier", "validation_fraction"),
        params=dict(validation_fraction=1.0),
    ),
    R(
        "reg-param-n_iter_no_change",
        lambda e: e.fit(XR, YR),
        invalid("SGDRegressor", "n_iter_no_change"),
        params=dict(n_iter_no_change=0),
    ),
    C(
        "clf-param-class_weight-list",
        lambda e: e.fit(X, Y),
        invalid("SGDClassifier", "class_weight"),
        params=dict(class_weight=[1.0, 2.0]),
    ),
    R(
        "reg-param-average",
        lambda e: e.fit(XR, YR),
        invalid("SGDRegressor", "average"),
        params=dict(average=-1),
    ),
    C(
        "clf-param-epsilon",
        lambda e: e.fit(X, Y),
        invalid("SGDClassifier", "epsilon"),
        params=dict(epsilon=-0.1),
    ),
    C(
        "clf-param-n_jobs-string",
        lambda e: e.fit(X, Y),
        invalid("SGDClassifier", "n_jobs"),
        params=dict(n_jobs="2"),
    ),
    C(
        "clf-param-loss-object-invalid",
        lambda e: e.fit(X, Y),
        Raises(
            ValueError,
            "The 'threshold' parameter of Hinge must be a float in the range [0.0, inf). Got -1.0",
        ),
        params=dict(loss=losses.Hinge(threshold=-1.0)),
    ),
    R(
        "reg-param-loss-object-nan-partial_fit",
        lambda e: e.partial_fit(XR, YR),
        Raises(
            ValueError,
            "The 'epsilon' parameter of Huber must be a float in the range [0.0, inf). Got nan",
        ),
        prefit="partial_fit",
        params=dict(loss=losses.Huber(epsilon=np.nan)),
    ),
    R(
        "reg-param-classification-loss-object",
        lambda e: e.fit(XR, YR),
        Raises(ValueError, "LogLoss is a classification loss"),
        params=dict(loss=losses.LogLoss()),
    ),
    C(
        "clf-partial_fit-early_stopping",
        lambda e: e.partial_fit(X, Y, classes=[0, 1]),
        Raises(ValueError, "early_stopping should be False with partial_fit"),
        prefit=None,
        params=dict(early_stopping=True),
    ),
    R(
        "reg-partial_fit-early_stopping",
        lambda e: e.partial_fit(XR, YR),
        Raises(ValueError, "early_stopping should be False with partial_fit"),
        prefit=None,
        params=dict(early_stopping=True),
    ),
    C(
        "clf-fit-optimal-alpha-0",
        lambda e: e.fit(X, Y),
        Raises(ValueError, "alpha must be > 0 since learning_rate is 'optimal'"),
        params=dict(alpha=0.0),
    ),
    R(
        "reg-partial_fit-optimal-alpha-0",
        lambda e: e.partial_fit(XR, YR),
        Raises(ValueError, "alpha must be > 0 since learning_rate is 'optimal'"),
        prefit=None,
        params=dict(learning_rate="optimal", alpha=0.0),
    ),
    C(
        "clf-partial_fit-again-optimal-alpha-0",
        lambda e: e.partial_fit(X, Y),
        Raises(ValueError, "alpha must be > 0 since learning_rate is 'optimal'"),
        prefit="partial_fit",
        params=dict(alpha=0.0),
    ),
    # ---- invalid hyperparameters set between partial_fit calls
    R(
        "reg-partial_fit-again-eta0-negative",
        lambda e: e.partial_fit(XR, YR),
        invalid("SGDRegressor", "eta0"),
        prefit="partial_fit",
        params=dict(eta0=-0.1),
    ),
    C(
        "clf-partial_fit-after-fit-learning_rate",
        lambda e: e.partial_fit(X, Y),
        invalid("SGDClassifier", "learning_rate"),
        params=dict(learning_rate="fast"),
    ),
    R(
        "reg-partial_fit-again-average-negative",
        lambda e: e.partial_fit(XR, YR),
        invalid("SGDRegressor", "average"),
        prefit="partial_fit",
        params=dict(average=-5),
    ),
    C(
        "clf-partial_fit-after-fit-penalty",
        lambda e: e.partial_fit(X, Y),
        invalid("SGDClassifier", "penalty"),
        params=dict(penalty="l3"),
    ),
    R(
        "reg-partial_fit-again-loss-name",
        lambda e: e.partial_fit(XR, YR),
        invalid("SGDRegressor", "loss"),
        prefit="partial_fit",
        params=dict(loss="nope"),
    ),
    C(
        "clf-partial_fit-balanced",
        lambda e: e.partial_fit(X, Y, classes=[0, 1]),
        Raises(ValueError, "class_weight 'balanced' is not supported for partial_fit"),
        prefit=None,
        params=dict(class_weight="balanced"),
    ),
    C(
        "clf-fit-elasticnet-l1_ratio-None",
        lambda e: e.fit(X, Y),
        Raises(ValueError, "l1_ratio must be set when penalty is 'elasticnet'"),
        params=dict(penalty="elasticnet", l1_ratio=None),
    ),
    R(
        "reg-partial_fit-again-elasticnet-l1_ratio-None",
        lambda e: e.partial_fit(XR, YR),
        Raises(ValueError, "l1_ratio must be set when penalty is 'elasticnet'"),
        prefit="partial_fit",
        params=dict(penalty="elasticnet", l1_ratio=None),
    ),
    C(
        "clf-param-class_weight-unknown-label",
        lambda e: e.fit(X, Y),
        Raises(ValueError, "The classes, [0, 1], are not in class_weight"),
        params=dict(class_weight={5: 1.0}),
    ),
    # ---- loss objects' public methods
    L(
        "Hinge.loss-labels-0-1",
        lambda: losses.Hinge().loss([0.0, 1.0, 1.0], LP),
        Raises(ValueError, "Hinge is a binary classification loss and expects y_true in {-1, +1}"),
    ),
    L(
        "LogLoss.gradient-label-2",
        lambda: losses.LogLoss().gradient([2.0, 1.0, -1.0], LP),
        Raises(
            ValueError, "LogLoss is a binary classification loss and expects y_true in {-1, +1}"
        ),
    ),
    L(
        "ModifiedHuber.call-labels-0-1",
        lambda: losses.ModifiedHuber()(np.array([0, 1, 0]), LP),
        Raises(ValueError, "ModifiedHuber is a binary classification loss"),
    ),
    L(
        "SquaredHinge.loss-length-mismatch",
        lambda: losses.SquaredHinge().loss(LY, LP[:2]),
        Raises(ValueError, "y_true and raw_prediction must be 1-D arrays of the same length"),
    ),
    L(
        "Huber.gradient-2d",
        lambda: losses.Huber().gradient(LY[:, None], LP[:, None]),
        Raises(ValueError, "y_true and raw_prediction must be 1-D arrays of the same length"),
    ),
    L(
        "SquaredError.loss-nan-target",
        lambda: losses.SquaredError().loss(put(LY, 0, np.nan), LP),
        Raises(ValueError, "SquaredError: y_true contains NaN or infinity"),
    ),
    L(
        "Perceptron.gradient-inf-target",
        lambda: losses.Perceptron().gradient(put(LY, 1, -np.inf), LP),
        Raises(ValueError, "Perceptron: y_true contains NaN or infinity"),
    ),
    L(
        "Huber.loss-invalid-epsilon",
        lambda: losses.Huber(epsilon=-1.0).loss(LY, LP),
        Raises(
            ValueError,
            "The 'epsilon' parameter of Huber must be a float in the range [0.0, inf). Got -1.0",
        ),
    ),
    L(
        "EpsilonInsensitive.call-sw-negative",
        lambda: losses.EpsilonInsensitive()(LY, LP, sample_weight=[1.0, -1.0, 1.0]),
        Raises(ValueError, "sample_weight must be finite, non-negative and not all zero"),
    ),
    L(
        "SquaredEpsilonInsensitive.call-sw-nan",
        lambda: losses.SquaredEpsilonInsensitive()(LY, LP, sample_weight=[1.0, np.nan, 1.0]),
        Raises(ValueError, "sample_weight must be finite, non-negative and not all zero"),
    ),
    L(
        "LogLoss.call-sw-all-zero",
        lambda: losses.LogLoss()(LY, LP, sample_weight=np.zeros(3)),
        Raises(ValueError, "sample_weight must be finite, non-negative and not all zero"),
    ),
    L(
        "Hinge.call-sw-wrong-length",
        lambda: losses.Hinge()(LY, LP, sample_weight=[1.0, 1.0]),
        Raises(ValueError, "sample_weight has shape (2,); expected (3,)"),
    ),
    L(
        "SquaredError.call-sw-1e308",
        # Weights (1e308, 1e308, 1): the mean of the first two losses, 0.5 * (1.125 + 0).
        lambda: losses.SquaredError()(LY, [-0.5, -1.0, 1.0], sample_weight=[1e308, 1e308, 1.0]),
        Close(0.5625),
    ),
    L(
        "Hinge.call-empty",
        lambda: losses.Hinge()([], []),
        Raises(ValueError, "Found array with 0 sample(s)"),
    ),
    L(
        "Hinge.loss-nan-raw_prediction",
        lambda: losses.Hinge().loss(LY, put(LP, 0, np.nan)),
        NanOut(0),
    ),
    L(
        "EpsilonInsensitive.loss-nan-raw_prediction",
        lambda: losses.EpsilonInsensitive().loss(LY, put(LP, 0, np.nan)),
        NanOut(0),
    ),
    L(
        "ModifiedHuber.gradient-nan-raw_prediction",
        lambda: losses.ModifiedHuber().gradient(LY, put(LP, 0, np.nan)),
        NanOut(0),
    ),
    L(
        "SquaredError.gradient-nan-raw_prediction",
        lambda: losses.SquaredError().gradient(LY, put(LP, 0, np.nan)),
        NanOut(0),
    ),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input(case: Case):
    est = case.build()
    before = pickle.dumps(est)
    result = raised = None
    try:
        result = case.call(est)
    except Exception as exc:  # the outcome decides what was expected
        raised = exc
    problems = []
    if raised is not None and pickle.dumps(est) != before:
        problems.append(f"the call raised {type(raised).__name__} but changed the estimator")
    try:
        case.expect.check(result, raised)
    except AssertionError as exc:
        problems.append(str(exc))
    assert not problems, "\n".join(problems)


def test_corpus_is_large_and_ids_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 45
    assert {c.target for c in CASES} == {"clf", "reg", "loss"}


@pytest.mark.slow
def test_corpus_in_subprocess_does_not_crash_the_interpreter(rerun_in_subprocess):
    proc = rerun_in_subprocess(__file__)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
