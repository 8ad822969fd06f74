"""Benchmark cases and the data they fit.

A :class:`Case` names one comparison: a dataset (:class:`DataSpec`), the
estimator parameters both libraries receive, and the parameters only fastloss
receives (its opt-in features, compared against scikit-learn's plain fit).
Nothing is downloaded: the quick and full suites generate their data from a
planted linear model so that both libraries reach a meaningful held-out score;
the ``datasets`` suite fits scikit-learn's bundled datasets and generators.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

__all__ = ["CLASSIFICATION", "REGRESSION", "Case", "DataSpec", "Dataset", "make_dataset", "suite"]

CLASSIFICATION = "classification"
REGRESSION = "regression"

#: Held-out rows beside the training rows, as a share of them.
TEST_SHARE = 0.2

#: Names of the suites :func:`suite` knows.
SUITES = ("quick", "full", "datasets")

#: scikit-learn's bundled datasets, by :attr:`DataSpec.kind`: fitted at their own
#: size, standardised.
_BUNDLED = {"breast_cancer": load_breast_cancer, "digits": load_digits}


@dataclass(frozen=True)
class DataSpec:
    """How to generate (or load) one dataset.

    Attributes
    ----------
    kind : str
        Planted-model problem type, ``"binary"``, ``"multiclass"``,
        ``"sparse"`` (a text-like binary CSR problem) or ``"regression"``;
        or one of scikit-learn's: the generators ``"make_classification"``
        and ``"make_regression"``, the bundled ``"breast_cancer"`` and
        ``"digits"`` (their own shape).
    n_samples, n_features : int
        Shape of the training set (held-out rows come on top).
    dtype : {"float64", "float32"}
    nnz_per_row : int
        Mean stored values per row (``"sparse"`` only).
    n_classes : int
        Number of classes (``"multiclass"`` only).
    """

    kind: str
    n_samples: int
    n_features: int
    dtype: str = "float64"
    nnz_per_row: int = 50
    n_classes: int = 10

    @property
    def task(self) -> str:
        """``"regression"`` or ``"classification"``."""
        return REGRESSION if self.kind in ("regression", "make_regression") else CLASSIFICATION

    @property
    def is_dense(self) -> bool:
        """Whether ``X`` is a dense array (the cases that get memory floors)."""
        return self.kind != "sparse"

    @property
    def is_bundled(self) -> bool:
        """Whether the rows are one of scikit-learn's bundled datasets (fixed size)."""
        return self.kind in _BUNDLED

    @property
    def shape_label(self) -> str:
        """``"n x d"`` with thousands separators."""
        return f"{self.n_samples:,} x {self.n_features:,}"


@dataclass(frozen=True)
class Case:
    """One comparison of fastloss with scikit-learn.

    Attributes
    ----------
    name : str
        Short label used in the table, the JSON file and the chart.
    data : DataSpec
    params : dict
        Parameters given to both estimators (``random_state`` is added by the
        harness, and with ``fixed_epochs`` ``max_iter`` and ``tol=None`` too).
    fastloss_only : dict
        Extra parameters for fastloss alone (e.g. ``n_jobs=2``,
        ``shuffle="block"``); scikit-learn then fits with ``params`` only.
    sklearn_only : dict
        Extra parameters for scikit-learn alone.
    fixed_epochs : bool, default=True
        Both estimators run exactly the harness's ``E`` epochs and the timing
        is of one epoch.  ``False`` keeps each estimator's own ``max_iter``
        and ``tol`` (it stops when it converges) and times a whole fit.
    """

    name: str
    data: DataSpec
    params: dict = field(default_factory=dict)
    fastloss_only: dict = field(default_factory=dict)
    sklearn_only: dict = field(default_factory=dict)
    fixed_epochs: bool = True

    @property
    def fastloss_params(self) -> dict:
        """Everything the fastloss estimator receives, besides the harness's own."""
        return {**self.params, **self.fastloss_only}

    @property
    def sklearn_params(self) -> dict:
        """Everything the scikit-learn estimator receives, besides the harness's own."""
        return {**self.params, **self.sklearn_only}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train / held-out pair.

    Attributes
    ----------
    spec : DataSpec
    X_train, X_test : ndarray or scipy.sparse.csr_matrix
    y_train, y_test : ndarray
    """

    spec: DataSpec
    X_train: np.ndarray | sp.csr_matrix
    X_test: np.ndarray | sp.csr_matrix
    y_train: np.ndarray
    y_test: np.ndarray


# ------------------------------------------------------------------ generators
def _dense_scores(rng, n: int, d: int, n_outputs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Standard normal ``X`` and noisy planted scores ``X @ W`` (one column per output)."""
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, n_outputs)) / np.sqrt(d)
    scores = X @ W
    scores += 0.3 * rng.standard_normal(scores.shape)
    return X, scores


def _sparse_scores(rng, n: int, d: int, nnz_per_row: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Text-like CSR ``X`` (values uniform on [0, 1)) and noisy planted scores."""
    X = sp.random(n, d, density=nnz_per_row / d, format="csr", rng=rng, dtype=np.float64)
    X.sum_duplicates()
    X.sort_indices()
    scores = X @ rng.standard_normal(d)
    scores += 0.1 * scores.std() * rng.standard_normal(n)
    return X, scores[:, None]


def _targets(kind: str, scores: np.ndarray) -> np.ndarray:
    """Labels or a standardised target from the planted scores (or a generator's ``y``)."""
    if kind == "multiclass":
        return np.argmax(scores, axis=1).astype(np.int64)
    score = scores[:, 0]
    if kind in ("regression", "make_regression"):
        return (score - score.mean()) / score.std()
    return (score > np.median(score)).astype(np.int64)


def _generate(spec: DataSpec, n: int, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of ``X`` (float64) and their targets."""
    d = spec.n_features
    if spec.kind == "make_classification":
        return make_classification(
            n,
            d,
            n_informative=d // 5,
            n_clusters_per_class=1,
            flip_y=0.01,
            random_state=random_state,
        )
    if spec.kind == "make_regression":
        X, y = make_regression(n, d, n_informative=d // 2, noise=50.0, random_state=random_state)
        return X, _targets(spec.kind, y[:, None])
    rng = np.random.default_rng(random_state)
    if spec.kind == "sparse":
        X, scores = _sparse_scores(rng, n, d, spec.nnz_per_row)
    else:
        n_outputs = spec.n_classes if spec.kind == "multiclass" else 1
        X, scores = _dense_scores(rng, n, d, n_outputs)
    return X, _targets(spec.kind, scores)


@functools.cache
def _bundled(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``X, y`` of one of scikit-learn's bundled datasets (loaded once)."""
    return _BUNDLED[kind](return_X_y=True)


def _bundled_spec(kind: str) -> DataSpec:
    """A bundled dataset's :class:`DataSpec`: the rows left for training once
    :data:`TEST_SHARE` of them (relative to the training rows) are held out."""
    X, _ = _bundled(kind)
    return DataSpec(kind, round(X.shape[0] / (1 + TEST_SHARE)), X.shape[1])


def make_dataset(spec: DataSpec, random_state: int = 0) -> Dataset:
    """Generate (or load and split) the training and held-out rows of one dataset.

    Parameters
    ----------
    spec : DataSpec
    random_state : int, default=0

    Returns
    -------
    Dataset
        ``X`` C-contiguous in ``spec.dtype`` (dense) or canonical CSR float64.
        A bundled dataset is split with its classes stratified and
        standardised with the training rows' mean and deviation.
    """
    if spec.is_bundled:
        X, y = _bundled(spec.kind)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=spec.n_samples, stratify=y, random_state=random_state
        )
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = (
            np.ascontiguousarray(scaler.transform(part), dtype=spec.dtype)
            for part in (X_train, X_test)
        )
        return Dataset(spec, X_train, X_test, y_train, y_test)
    n = spec.n_samples
    X, y = _generate(spec, n + max(1, int(TEST_SHARE * n)), random_state)
    if spec.is_dense:
        X = np.ascontiguousarray(X, dtype=spec.dtype)
    return Dataset(spec, X[:n], X[n:], y[:n], y[n:])


# ---------------------------------------------------------------------- suites
#: Training shapes (rows before ``scale``, features) of the planted-model suites.
_SHAPES = {
    "full": {
        "binary": (500_000, 100),
        "wide": (100_000, 1_000),
        "sparse": (200_000, 100_000),
        "multiclass": (100_000, 100),
        "regression": (500_000, 100),
    },
    "quick": {
        "binary": (200_000, 100),
        "wide": (20_000, 1_000),
        "sparse": (100_000, 50_000),
        "multiclass": (50_000, 100),
        "regression": (200_000, 50),
    },
}

#: The cases the quick suite keeps: one of each kind, under two minutes on two cores.
_QUICK_CASES = (
    "dense f64 hinge",
    "dense f64 hinge n_jobs=2*",
    "dense f64 hinge block*",
    "dense f32 log_loss",
    "dense wide hinge",
    "sparse CSR hinge",
    "10-class OvR n_jobs=2",
    "10-class multinomial*",
    "regression huber",
)


def _rows(n: int, scale: float) -> int:
    """``n`` scaled, at least 200 rows."""
    return max(200, int(round(n * scale)))


def _planted_cases(shapes: dict, scale: float) -> list[Case]:
    """The issue's full list of cases, on datasets of ``shapes``."""

    def spec(shape: str, kind: str | None = None, dtype: str = "float64") -> DataSpec:
        rows, features = shapes[shape]
        return DataSpec(kind or shape, _rows(rows, scale), features, dtype)

    binary, binary32, text = spec("binary"), spec("binary", dtype="float32"), spec("sparse")
    classes, target = spec("multiclass"), spec("regression")
    return [
        Case("dense f64 hinge", binary, {"loss": "hinge"}),
        Case("dense f64 log_loss", binary, {"loss": "log_loss"}),
        Case("dense f64 hinge n_jobs=2*", binary, {"loss": "hinge"}, {"n_jobs": 2}),
        Case("dense f64 hinge block*", binary, {"loss": "hinge"}, {"shuffle": "block"}),
        Case("dense f32 hinge", binary32, {"loss": "hinge"}),
        Case("dense f32 log_loss", binary32, {"loss": "log_loss"}),
        Case("dense f32 hinge block*", binary32, {"loss": "hinge"}, {"shuffle": "block"}),
        Case("dense wide hinge", spec("wide", "binary"), {}),
        Case("sparse CSR hinge", text, {}),
        Case("sparse CSR hinge n_jobs=2*", text, {}, {"n_jobs": 2}),
        Case("10-class OvR n_jobs=2", classes, {"n_jobs": 2}),
        Case(
            "10-class multinomial*",
            classes,
            {"loss": "log_loss"},
            {"multi_class": "multinomial"},
        ),
        Case("regression squared", target, {"loss": "squared_error"}),
        Case("regression huber", target, {"loss": "huber"}),
    ]


def _sklearn_cases(scale: float) -> list[Case]:
    """scikit-learn's datasets: two losses for ``E`` epochs each, then the defaults."""
    datasets = {
        "breast_cancer": _bundled_spec("breast_cancer"),
        "digits": _bundled_spec("digits"),
        "make_classification": DataSpec("make_classification", _rows(100_000, scale), 100),
        "sparse CSR": DataSpec("sparse", _rows(50_000, scale), 20_000),
        "make_regression": DataSpec("make_regression", _rows(100_000, scale), 100),
    }
    cases = []
    for label, spec in datasets.items():
        losses = ("squared_error", "huber") if spec.task == REGRESSION else ("hinge", "log_loss")
        cases += [Case(f"{label} {loss}", spec, {"loss": loss}) for loss in losses]
        cases.append(Case(f"{label} defaults", spec, fixed_epochs=False))
    return cases


def suite(name: str = "quick", scale: float = 1.0) -> list[Case]:
    """The cases of a named suite.

    Parameters
    ----------
    name : {"quick", "full", "datasets"}
        ``"datasets"``: scikit-learn's bundled breast cancer and digits sets
        (at their own size) and data from its generators, each fitted with two
        losses for ``E`` epochs and with the estimators' defaults.
    scale : float, default=1.0
        Multiplies every generated dataset's number of training rows (at
        least 200 are kept); the test suite uses a small value.

    Returns
    -------
    list of Case
        Names ending in ``*`` are fastloss-only variants, compared with
        scikit-learn's plain single-threaded fit.
    """
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; choose one of {SUITES}.")
    if not scale > 0:
        raise ValueError(f"scale must be positive; got {scale}.")
    if name == "datasets":
        return _sklearn_cases(scale)
    cases = _planted_cases(_SHAPES[name], scale)
    return [case for case in cases if case.name in _QUICK_CASES] if name == "quick" else cases
