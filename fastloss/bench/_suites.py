"""Benchmark cases and the synthetic data they fit.

A :class:`Case` names one comparison: a dataset (:class:`DataSpec`), the
estimator parameters both libraries receive, and the parameters only fastloss
receives (its opt-in features, compared against scikit-learn's plain fit).
Datasets are generated, never downloaded, from a planted linear model so that
both libraries reach a meaningful held-out score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["CLASSIFICATION", "REGRESSION", "Case", "DataSpec", "Dataset", "make_dataset", "suite"]

CLASSIFICATION = "classification"
REGRESSION = "regression"

#: Held-out rows generated beside the training rows, as a share of them.
TEST_SHARE = 0.2

#: Names of the suites :func:`suite` knows.
SUITES = ("quick", "full")


@dataclass(frozen=True)
class DataSpec:
    """How to generate one dataset.

    Attributes
    ----------
    kind : {"binary", "multiclass", "sparse", "regression"}
        Planted-model problem type; ``"sparse"`` is a text-like binary CSR problem.
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
        return REGRESSION if self.kind == "regression" else CLASSIFICATION

    @property
    def is_dense(self) -> bool:
        """Whether ``X`` is a dense array (the cases that get memory floors)."""
        return self.kind != "sparse"

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
        Parameters given to both estimators (``max_iter``, ``tol=None`` and
        ``random_state`` are added by the harness).
    fastloss_only : dict
        Extra parameters for fastloss alone (e.g. ``n_jobs=2``,
        ``shuffle="block"``); scikit-learn then fits with ``params`` only.
    sklearn_only : dict
        Extra parameters for scikit-learn alone.
    """

    name: str
    data: DataSpec
    params: dict = field(default_factory=dict)
    fastloss_only: dict = field(default_factory=dict)
    sklearn_only: dict = field(default_factory=dict)

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
    """A generated train / held-out pair.

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


def _targets(spec: DataSpec, scores: np.ndarray) -> np.ndarray:
    """Labels or a standardised target from the planted scores."""
    if spec.kind == "multiclass":
        return np.argmax(scores, axis=1).astype(np.int64)
    score = scores[:, 0]
    if spec.kind == "regression":
        return (score - score.mean()) / score.std()
    return (score > np.median(score)).astype(np.int64)


def make_dataset(spec: DataSpec, random_state: int = 0) -> Dataset:
    """Generate the training and held-out rows of one dataset.

    Parameters
    ----------
    spec : DataSpec
    random_state : int, default=0

    Returns
    -------
    Dataset
        ``X`` C-contiguous in ``spec.dtype`` (dense) or canonical CSR float64.
    """
    rng = np.random.default_rng(random_state)
    n_total = spec.n_samples + max(1, int(TEST_SHARE * spec.n_samples))
    if spec.kind == "sparse":
        X, scores = _sparse_scores(rng, n_total, spec.n_features, spec.nnz_per_row)
    else:
        n_outputs = spec.n_classes if spec.kind == "multiclass" else 1
        X, scores = _dense_scores(rng, n_total, spec.n_features, n_outputs)
        X = np.ascontiguousarray(X, dtype=spec.dtype)
    y = _targets(spec, scores)
    n = spec.n_samples
    return Dataset(spec, X[:n], X[n:], y[:n], y[n:])


# ---------------------------------------------------------------------- suites
def _rows(n: int, scale: float) -> int:
    """``n`` scaled, at least 200 rows."""
    return max(200, int(round(n * scale)))


def _full_cases(scale: float) -> list[Case]:
    """The issue's full list of cases."""
    binary = DataSpec("binary", _rows(500_000, scale), 100)
    binary32 = DataSpec("binary", _rows(500_000, scale), 100, dtype="float32")
    text = DataSpec("sparse", _rows(200_000, scale), 100_000)
    return [
        Case("dense f64 hinge", binary, {"loss": "hinge"}),
        Case("dense f64 log_loss", binary, {"loss": "log_loss"}),
        Case("dense f64 hinge n_jobs=2*", binary, {"loss": "hinge"}, {"n_jobs": 2}),
        Case("dense f64 hinge block*", binary, {"loss": "hinge"}, {"shuffle": "block"}),
        Case("dense f32 hinge", binary32, {"loss": "hinge"}),
        Case("dense f32 log_loss", binary32, {"loss": "log_loss"}),
        Case("dense f32 hinge block*", binary32, {"loss": "hinge"}, {"shuffle": "block"}),
        Case("dense wide hinge", DataSpec("binary", _rows(100_000, scale), 1_000), {}),
        Case("sparse CSR hinge", text, {}),
        Case("sparse CSR hinge n_jobs=2*", text, {}, {"n_jobs": 2}),
        Case(
            "10-class OvR n_jobs=2",
            DataSpec("multiclass", _rows(100_000, scale), 100),
            {"n_jobs": 2},
        ),
        Case(
            "10-class multinomial*",
            DataSpec("multiclass", _rows(100_000, scale), 100),
            {"loss": "log_loss"},
            {"multi_class": "multinomial"},
        ),
        Case(
            "regression squared",
            DataSpec("regression", _rows(500_000, scale), 100),
            {"loss": "squared_error"},
        ),
        Case(
            "regression huber",
            DataSpec("regression", _rows(500_000, scale), 100),
            {"loss": "huber"},
        ),
    ]


def _quick_cases(scale: float) -> list[Case]:
    """Fewer, smaller cases: one of each kind, under two minutes on two cores."""
    binary = DataSpec("binary", _rows(200_000, scale), 100)
    return [
        Case("dense f64 hinge", binary, {"loss": "hinge"}),
        Case("dense f64 hinge n_jobs=2*", binary, {"loss": "hinge"}, {"n_jobs": 2}),
        Case("dense f64 hinge block*", binary, {"loss": "hinge"}, {"shuffle": "block"}),
        Case(
            "dense f32 log_loss",
            DataSpec("binary", binary.n_samples, 100, "float32"),
            {"loss": "log_loss"},
        ),
        Case("dense wide hinge", DataSpec("binary", _rows(20_000, scale), 1_000), {}),
        Case("sparse CSR hinge", DataSpec("sparse", _rows(100_000, scale), 50_000), {}),
        Case(
            "10-class OvR n_jobs=2",
            DataSpec("multiclass", _rows(50_000, scale), 100),
            {"n_jobs": 2},
        ),
        Case(
            "10-class multinomial*",
            DataSpec("multiclass", _rows(50_000, scale), 100),
            {"loss": "log_loss"},
            {"multi_class": "multinomial"},
        ),
        Case(
            "regression huber",
            DataSpec("regression", _rows(200_000, scale), 50),
            {"loss": "huber"},
        ),
    ]


def suite(name: str = "quick", scale: float = 1.0) -> list[Case]:
    """The cases of a named suite.

    Parameters
    ----------
    name : {"quick", "full"}
    scale : float, default=1.0
        Multiplies every dataset's number of training rows (at least 200 are
        kept); the test suite uses a small value.

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
    return _quick_cases(scale) if name == "quick" else _full_cases(scale)
