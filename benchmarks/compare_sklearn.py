"""Time fastloss against scikit-learn's SGD estimators, side by side, in one run.

Both libraries fit the same training data with the same parameters and the same
``random_state``; every row of the printed table reports both fit times, their
ratio, the held-out score of both models and their training objective computed
by one formula from each model's ``coef_`` / ``intercept_``.

Run it from the repository root::

    python benchmarks/compare_sklearn.py            # default sizes, under a minute
    python benchmarks/compare_sklearn.py --quick    # tiny sizes, a smoke test
    python benchmarks/compare_sklearn.py --repeat 5 --json rows.json

or use it from Python: ``from benchmarks.compare_sklearn import run, main``.

Notes
-----
* fastloss is warmed up on a tiny problem of each input kind (dense, sparse
  CSR) before anything is timed, so Numba's compilation (or loading its
  on-disk cache) is not part of the timed fits; that first-call time is
  reported on its own line above the table.
* A timing is the best of ``repeat`` measurements; a fit faster than
  ``min_time`` is repeated within a measurement and averaged (as ``timeit``
  does), so millisecond fits on the small datasets are still meaningful.
* The speed ratio is ``sklearn_seconds / fastloss_seconds``: above 1 means
  fastloss is faster.
* The training objective (``fastloss.bench.training_objective``) is the mean
  training loss plus the L2 penalty ``alpha / 2 * ||w||^2`` (every configuration
  here uses ``penalty="l2"``), the loss being the fitted fastloss estimator's
  ``loss_function_`` applied to both models (targets in {-1, +1} with
  ``classes_[1]`` as +1 for binary problems).
  For multiclass data (digits) it is the mean over the one-vs-rest problems.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn import linear_model as sk_linear_model
from sklearn.base import BaseEstimator
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

try:
    import fastloss
except ImportError:  # run as a script from a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import fastloss
from fastloss.bench import training_objective

__all__ = ["Config", "Dataset", "Result", "Row", "format_table", "main", "run"]

CLASSIFICATION = "classification"
REGRESSION = "regression"

#: Estimator pairs per task: (scikit-learn class, fastloss class).
ESTIMATORS = {
    CLASSIFICATION: (sk_linear_model.SGDClassifier, fastloss.SGDClassifier),
    REGRESSION: (sk_linear_model.SGDRegressor, fastloss.SGDRegressor),
}

#: Share of every dataset held out for the score.
TEST_SIZE = 0.25

#: Epochs of the fixed-length configurations (with ``tol=None``).
FIXED_EPOCHS = 10

#: (n_samples, n_features) of the synthetic problems, and stored values per
#: sparse row; breast cancer and digits keep their own sizes.
SIZES = {
    "default": {
        "dense": (100_000, 100),
        "sparse": (50_000, 20_000),
        "nnz_per_row": 50,
        "regression": (100_000, 100),
    },
    "quick": {
        "dense": (2_000, 20),
        "sparse": (2_000, 1_000),
        "nnz_per_row": 20,
        "regression": (2_000, 20),
    },
}


# --------------------------------------------------------------------- records
@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split of one benchmark problem.

    Attributes
    ----------
    name : str
    task : {"classification", "regression"}
    X_train, X_test : ndarray or scipy.sparse.csr_matrix
    y_train, y_test : ndarray
    """

    name: str
    task: str
    X_train: np.ndarray | sp.csr_matrix
    X_test: np.ndarray | sp.csr_matrix
    y_train: np.ndarray
    y_test: np.ndarray

    @property
    def kind(self) -> str:
        """``"sparse CSR"`` or ``"dense"``: the input kind fastloss compiles for."""
        return "sparse CSR" if sp.issparse(self.X_train) else "dense"


@dataclass(frozen=True)
class Config:
    """One set of estimator parameters, given to both libraries.

    Attributes
    ----------
    label : str
        How the table names it.
    params : dict
        Keyword arguments of both estimators (``random_state`` is added).
    """

    label: str
    params: dict = field(default_factory=dict)


@dataclass
class Row:
    """One line of the comparison: one dataset fitted with one configuration.

    Attributes
    ----------
    dataset : str
    n_samples, n_features : int
        Shape of the training set (what is fitted and timed).
    estimator : str
    settings : str
    metric : {"acc", "R2"}
        Held-out accuracy for classifiers, R^2 for regressors.
    sklearn_seconds, fastloss_seconds : float
        Best-of-``repeat`` wall time of one ``fit``.
    sklearn_score, fastloss_score : float
    sklearn_objective, fastloss_objective : float
        Mean training loss plus penalty (mean over one-vs-rest problems for
        multiclass data).
    sklearn_n_iter, fastloss_n_iter : int
        Epochs run (``n_iter_``).
    """

    dataset: str
    n_samples: int
    n_features: int
    estimator: str
    settings: str
    metric: str
    sklearn_seconds: float
    fastloss_seconds: float
    sklearn_score: float
    fastloss_score: float
    sklearn_objective: float
    fastloss_objective: float
    sklearn_n_iter: int
    fastloss_n_iter: int

    @property
    def ratio(self) -> float:
        """``sklearn_seconds / fastloss_seconds``: above 1 means fastloss is faster."""
        return self.sklearn_seconds / self.fastloss_seconds

    def to_dict(self) -> dict:
        """The row as a JSON-ready dict, ratio included."""
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class Result:
    """Everything one benchmark run measured.

    Attributes
    ----------
    rows : list of Row
    first_call : dict of str to float
        Seconds of fastloss's first fit on a tiny problem of each input kind
        (Numba compilation or cache load), keyed by kind; excluded from ``rows``.
    """

    rows: list[Row]
    first_call: dict[str, float]

    @property
    def geometric_mean_ratio(self) -> float:
        """Geometric mean of the rows' speed ratios."""
        return float(np.exp(np.mean([np.log(row.ratio) for row in self.rows])))


# -------------------------------------------------------------------- datasets
def _split(name: str, task: str, X, y, random_state: int, scale: bool = False) -> Dataset:
    """Hold out ``TEST_SIZE`` of the rows (stratified for classification)."""
    stratify = y if task == CLASSIFICATION else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, random_state=random_state, stratify=stratify
    )
    if scale:
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if sp.issparse(X_train):
        X_train, X_test = _canonical_csr(X_train), _canonical_csr(X_test)
    else:
        X_train, X_test = np.ascontiguousarray(X_train), np.ascontiguousarray(X_test)
    return Dataset(name, task, X_train, X_test, y_train, y_test)


def _canonical_csr(X) -> sp.csr_matrix:
    """CSR float64 with sorted, duplicate-free indices: what both libraries fit as is."""
    X = sp.csr_matrix(X, dtype=np.float64)
    X.sum_duplicates()
    return X


def sparse_classification(
    n_samples: int, n_features: int, nnz_per_row: int, random_state: int, noise: float = 0.1
) -> tuple[sp.csr_matrix, np.ndarray]:
    """A sparse binary problem with labels from a planted linear model.

    Parameters
    ----------
    n_samples, n_features : int
    nnz_per_row : int
        Mean number of stored values per row; values are uniform on [0, 1),
        like tf-idf features.
    random_state : int
    noise : float, default=0.1
        Gaussian noise added to the planted scores, relative to their spread.

    Returns
    -------
    X : csr_matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), int
        1 where the noisy planted score is above its median, else 0.
    """
    rng = np.random.default_rng(random_state)
    X = sp.random(n_samples, n_features, density=nnz_per_row / n_features, format="csr", rng=rng)
    score = X @ rng.standard_normal(n_features)
    score += noise * score.std() * rng.standard_normal(n_samples)
    return _canonical_csr(X), (score > np.median(score)).astype(np.int64)


def make_datasets(quick: bool = False, random_state: int = 0) -> list[Dataset]:
    """The benchmark problems, all generated or bundled (no downloads).

    Parameters
    ----------
    quick : bool, default=False
        Tiny synthetic sizes, for a smoke test.
    random_state : int, default=0

    Returns
    -------
    list of Dataset
        breast cancer and digits (standardised), a dense and a sparse CSR binary
        classification, and a regression with a standardised target.
    """
    sizes = SIZES["quick" if quick else "default"]
    dense_shape, sparse_shape, reg_shape = sizes["dense"], sizes["sparse"], sizes["regression"]
    rs = random_state
    X, y = load_breast_cancer(return_X_y=True)
    datasets = [_split("breast_cancer", CLASSIFICATION, X, y, rs, scale=True)]
    X, y = load_digits(return_X_y=True)
    datasets.append(_split("digits", CLASSIFICATION, X, y, rs, scale=True))
    X, y = make_classification(
        *dense_shape,
        n_informative=dense_shape[1] // 5,
        n_clusters_per_class=1,
        flip_y=0.01,
        random_state=rs,
    )
    datasets.append(_split("classif_dense", CLASSIFICATION, X, y, rs))
    X, y = sparse_classification(*sparse_shape, sizes["nnz_per_row"], rs)
    datasets.append(_split("classif_sparse", CLASSIFICATION, X, y, rs))
    X, y = make_regression(*reg_shape, n_informative=reg_shape[1] // 2, noise=50.0, random_state=rs)
    datasets.append(_split("regression", REGRESSION, X, (y - y.mean()) / y.std(), rs))
    return datasets


def make_configs(task: str) -> list[Config]:
    """The parameter sets tried on every dataset of a task.

    Two losses for ``FIXED_EPOCHS`` epochs with ``tol=None`` (both libraries
    run exactly as many epochs), then the estimator's defaults, where both may
    stop early.

    Parameters
    ----------
    task : {"classification", "regression"}

    Returns
    -------
    list of Config
    """
    losses, default_loss = (
        (("hinge", "log_loss"), "hinge")
        if task == CLASSIFICATION
        else (("squared_error", "huber"), "squared_error")
    )
    fixed = [
        Config(
            f"loss={loss} max_iter={FIXED_EPOCHS} tol=None",
            {"loss": loss, "max_iter": FIXED_EPOCHS, "tol": None},
        )
        for loss in losses
    ]
    return [*fixed, Config(f"defaults (loss={default_loss} tol=1e-3)")]


# ---------------------------------------------------------------------- timing
@contextmanager
def _no_convergence_warnings() -> Iterator[None]:
    """Silence ConvergenceWarning: default-settings fits may stop at ``max_iter``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Collect garbage, then keep the collector off while timing."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def time_fit(
    make_estimator: Callable[[], BaseEstimator], X, y, repeat: int, min_time: float
) -> tuple[float, BaseEstimator]:
    """Best-of-``repeat`` seconds of one ``fit``.

    A first fit measures the cost; when it is under ``min_time``, each
    measurement runs enough fits to last ``min_time`` and keeps their mean.

    Parameters
    ----------
    make_estimator : callable
        Returns a fresh, unfitted estimator.
    X, y : training data
    repeat : int
        Number of measurements (at least 1).
    min_time : float
        Shortest measurement, in seconds.

    Returns
    -------
    seconds : float
    estimator : the last fitted estimator
    """

    def measure(number: int) -> tuple[float, BaseEstimator]:
        with _gc_paused():
            start = time.perf_counter()
            for _ in range(number):
                estimator = make_estimator().fit(X, y)
            return (time.perf_counter() - start) / number, estimator

    first, estimator = measure(1)
    number = 1 if first >= min_time else min(1000, math.ceil(min_time / max(first, 1e-6)))
    times = [first] if number == 1 else []
    while len(times) < repeat:
        seconds, estimator = measure(number)
        times.append(seconds)
    return min(times), estimator


def warm_up(datasets: Sequence[Dataset], random_state: int = 0) -> dict[str, float]:
    """Fit both libraries on a tiny problem of each input kind before timing.

    The first fastloss fit of each kind loads (or compiles) its Numba kernels;
    its time is returned.  Every configuration is then fitted once more on
    the tiny problem, with both libraries, so that no timed fit is a first one.

    Parameters
    ----------
    datasets : sequence of Dataset
    random_state : int, default=0

    Returns
    -------
    dict of str to float
        Seconds of fastloss's first fit, by input kind (``"dense"``, ``"sparse CSR"``).
    """
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((60, 8))
    y_class = (X[:, 0] > 0).astype(np.int64)
    y_reg = X @ rng.standard_normal(8)
    first_call = {}
    with _no_convergence_warnings():
        for kind in dict.fromkeys(d.kind for d in datasets):
            first_call[kind] = _warm_up_kind(kind, datasets, X, y_class, y_reg)
    return first_call


def _warm_up_kind(kind: str, datasets: Sequence[Dataset], X, y_class, y_reg) -> float:
    """Warm both libraries up on one input kind; returns fastloss's first-fit seconds."""
    X_kind = _canonical_csr(X) if kind == "sparse CSR" else X
    start = time.perf_counter()
    fastloss.SGDClassifier(max_iter=2, tol=None, random_state=0).fit(X_kind, y_class)
    seconds = time.perf_counter() - start
    for task in dict.fromkeys(d.task for d in datasets if d.kind == kind):
        y = y_class if task == CLASSIFICATION else y_reg
        for config in make_configs(task):
            for cls in ESTIMATORS[task]:
                cls(**config.params, random_state=0).fit(X_kind, y)
    return seconds


# ------------------------------------------------------------------- objective
# ------------------------------------------------------------------------- run
def compare(
    dataset: Dataset, config: Config, repeat: int, min_time: float, random_state: int = 0
) -> Row:
    """Fit both libraries on one dataset with one configuration.

    Parameters
    ----------
    dataset : Dataset
    config : Config
    repeat : int
    min_time : float
        See :func:`time_fit`.
    random_state : int, default=0
        Given to both estimators.

    Returns
    -------
    Row
    """
    X, y = dataset.X_train, dataset.y_train
    sk_cls, fl_cls = ESTIMATORS[dataset.task]
    params = {**config.params, "random_state": random_state}
    with _no_convergence_warnings():
        sk_seconds, sk_model = time_fit(lambda: sk_cls(**params), X, y, repeat, min_time)
        fl_seconds, fl_model = time_fit(lambda: fl_cls(**params), X, y, repeat, min_time)
    loss = fl_model.loss_function_
    return Row(
        dataset=dataset.name,
        n_samples=X.shape[0],
        n_features=X.shape[1],
        estimator=fl_cls.__name__,
        settings=config.label,
        metric="acc" if dataset.task == CLASSIFICATION else "R2",
        sklearn_seconds=sk_seconds,
        fastloss_seconds=fl_seconds,
        sklearn_score=float(sk_model.score(dataset.X_test, dataset.y_test)),
        fastloss_score=float(fl_model.score(dataset.X_test, dataset.y_test)),
        sklearn_objective=training_objective(sk_model, loss, X, y),
        fastloss_objective=training_objective(fl_model, loss, X, y),
        sklearn_n_iter=int(sk_model.n_iter_),
        fastloss_n_iter=int(fl_model.n_iter_),
    )


def run(
    quick: bool = False,
    repeat: int = 3,
    random_state: int = 0,
    min_time: float | None = None,
    log: Callable[[str], None] | None = None,
) -> Result:
    """Build the datasets, warm fastloss up, and compare every configuration.

    Parameters
    ----------
    quick : bool, default=False
        Tiny sizes (a smoke test of a few seconds plus Numba's first call).
    repeat : int, default=3
        Timings are the best of this many measurements.
    random_state : int, default=0
        Seeds the data and both estimators.
    min_time : float, optional
        Shortest measurement in seconds (see :func:`time_fit`); 0.02 with
        ``quick``, 0.1 otherwise.
    log : callable, optional
        Called with a progress message before each row.

    Returns
    -------
    Result
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1; got {repeat}.")
    if min_time is None:
        min_time = 0.02 if quick else 0.1
    datasets = make_datasets(quick, random_state)
    first_call = warm_up(datasets, random_state)
    jobs = [(d, c) for d in datasets for c in make_configs(d.task)]
    rows = []
    for i, (dataset, config) in enumerate(jobs, start=1):
        if log is not None:
            log(f"[{i}/{len(jobs)}] {dataset.name}: {config.label}")
        rows.append(compare(dataset, config, repeat, min_time, random_state))
    return Result(rows, first_call)


# ---------------------------------------------------------------------- output
_COLUMNS = (
    # header, right-aligned, cell
    ("dataset", False, lambda r: r.dataset),
    ("n x d (train)", True, lambda r: f"{r.n_samples} x {r.n_features}"),
    ("estimator", False, lambda r: r.estimator),
    ("settings", False, lambda r: r.settings),
    ("epochs sk/fl", True, lambda r: f"{r.sklearn_n_iter}/{r.fastloss_n_iter}"),
    ("sklearn s", True, lambda r: f"{r.sklearn_seconds:.4f}"),
    ("fastloss s", True, lambda r: f"{r.fastloss_seconds:.4f}"),
    ("ratio", True, lambda r: f"{r.ratio:.2f}"),
    ("metric", False, lambda r: r.metric),
    ("sklearn score", True, lambda r: f"{r.sklearn_score:.4f}"),
    ("fastloss score", True, lambda r: f"{r.fastloss_score:.4f}"),
    ("sklearn obj", True, lambda r: f"{r.sklearn_objective:.5f}"),
    ("fastloss obj", True, lambda r: f"{r.fastloss_objective:.5f}"),
)


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table with aligned columns.

    Parameters
    ----------
    rows : sequence of Row

    Returns
    -------
    str
    """
    cells = [[cell(row) for _, _, cell in _COLUMNS] for row in rows]
    headers = [header for header, _, _ in _COLUMNS]
    widths = [max(len(c) for c in column) for column in zip(headers, *cells, strict=True)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, (_, right, _) in zip(values, widths, _COLUMNS, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(c) for c in cells)])


def format_report(result: Result, repeat: int) -> str:
    """The first-call line, the table, the notes and the geometric mean ratio.

    Parameters
    ----------
    result : Result
    repeat : int
        The number of measurements each timing is the best of (for the notes).

    Returns
    -------
    str
    """
    first = ", ".join(f"{kind} {seconds:.3f} s" for kind, seconds in result.first_call.items())
    gmean = result.geometric_mean_ratio
    lines = [
        (
            f"fastloss first fit on a tiny problem (Numba compile or cache load): {first};"
            " not in the timings below"
        ),
        "",
        format_table(result.rows),
        "",
        (
            f"times: best of {repeat}, seconds per fit; ratio = sklearn s / fastloss s"
            " (> 1: fastloss faster)"
        ),
        f"score: held-out accuracy (acc) or R^2 on {TEST_SIZE:.0%} of each dataset",
        (
            "obj: mean training loss (fastloss's loss_function_, for both models) + penalty;"
            " digits: mean over its one-vs-rest problems"
        ),
        (
            "sparse rows: scikit-learn damps the intercept's steps on sparse input and"
            " fastloss deliberately does not, so their objectives and epochs differ more there"
        ),
        f"geometric mean speed ratio over {len(result.rows)} rows: {gmean:.2f}",
    ]
    return "\n".join(lines)


def _json_value(value):
    """NaN and infinity become ``null`` so that the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(result: Result, path: str | Path) -> None:
    """Write the rows and first-call times as JSON.

    Parameters
    ----------
    result : Result
    path : str or Path
    """
    payload = {
        "first_call_seconds": result.first_call,
        "geometric_mean_ratio": result.geometric_mean_ratio,
        "rows": [{k: _json_value(v) for k, v in row.to_dict().items()} for row in result.rows],
    }
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run the comparison and print the table.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (``sys.argv[1:]`` when ``None``).

    Returns
    -------
    int
        Exit status, 0 on success.
    """
    parser = argparse.ArgumentParser(
        description="Time fastloss against scikit-learn's SGD estimators, side by side."
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument(
        "--repeat", type=int, default=3, metavar="N", help="best-of-N timing (default: 3)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
    parser.add_argument("--seed", type=int, default=0, help="data and estimator seed (default: 0)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result = run(quick=args.quick, repeat=args.repeat, random_state=args.seed, log=progress)
    print(format_report(result, args.repeat))
    if args.json:
        write_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
