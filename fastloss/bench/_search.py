"""Hyperparameter search: one-pass ``SGDClassifierCV`` against grid searches over single fits.

Run it as ``python -m fastloss.bench --search [--quick] [--rows N] [--scale S]
[--sklearn-budget SECONDS]``.

Every case searches one grid (alphas x losses) on the same data and the same
folds (materialised once, so every method sees identical splits), and reports
for each method its wall time, best parameters, best mean CV score and the
held-out score of its refit model:

``GridSearchCV(sklearn)``
    :class:`sklearn.model_selection.GridSearchCV` over scikit-learn's
    ``SGDClassifier`` / ``SGDRegressor``, one fit per candidate and fold.
``GridSearchCV(fastloss)``
    The same over fastloss's estimators.
``SGDClassifierCV`` / ``SGDRegressorCV``
    fastloss's search estimators, which train the grid in one pass per group
    (skipped, with a note, while they do not exist).
``LogisticRegressionCV``
    scikit-learn's, for the log-loss alphas alone: ``C = 1 / (alpha n)`` with
    ``n`` a training fold's rows, so that its objective is the SGD one; its
    best ``C`` is reported as that alpha.

fastloss's searches run once on 300 rows first, untimed, so that loading
(or compiling) the kernels is not timed.  The cases: 6 alphas x 4 losses,
5 folds, standardised dense rows (``make_classification``); the same grid on
CSR rows with about 50 stored values each; ``SGDRegressorCV`` over alphas x 3 regression losses; and
``SGDClassifierCV`` with ``n_jobs=2`` against ``n_jobs=1`` on the dense data.
scikit-learn's search at 200,000 x 100 takes about 1,600 s on two cores: it is
run only when its estimate (the same search on a 5,000-row subsample, scaled
by the rows) stays under ``--sklearn-budget``; otherwise the row shows the
estimate and says so.  No method here is given more than one thread except
the ``n_jobs=2`` row.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = [
    "ALPHAS",
    "SearchCase",
    "SearchRow",
    "format_search",
    "run_search",
    "search_cases",
]

#: The grid's alphas (6, log-spaced): small alphas run hundreds of epochs.
ALPHAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
CLASSIFICATION_LOSSES = ("hinge", "log_loss", "modified_huber", "squared_hinge")
REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive")

#: Rows of the subsample whose search time, scaled by the rows, estimates
#: scikit-learn's search before it is run.
ESTIMATE_ROWS = 5_000

#: Rows of the untimed warm-up searches (``_warm_up``).
WARM_UP_ROWS = 300

#: Held-out rows beside the training rows, as a share of them.
TEST_SHARE = 0.2


@dataclass(frozen=True)
class SearchCase:
    """One search problem.

    Attributes
    ----------
    name : str
    kind : {"dense", "sparse", "regression"}
    n_samples, n_features : int
        Training rows (held-out rows come on top) and columns.
    n_folds : int
    losses : tuple of str
    alphas : tuple of float
    n_jobs : tuple of int
        ``n_jobs`` values of the one-pass search to time (``(1, 2)``: both,
        the second against the first).
    """

    name: str
    kind: str
    n_samples: int
    n_features: int
    n_folds: int = 5
    losses: tuple = CLASSIFICATION_LOSSES
    alphas: tuple = ALPHAS
    n_jobs: tuple = (1,)

    @property
    def is_classification(self) -> bool:
        return self.kind != "regression"


@dataclass
class SearchRow:
    """One method's search of one case.

    Attributes
    ----------
    case : str
    method : str
    seconds : float or None
        Wall time of the search (fit with refit); None when skipped.
    estimated_seconds : float or None
        Estimate that made it skip (scikit-learn's search over the budget).
    best_params : dict
    best_score : float or None
        Best mean CV score (accuracy, or R^2).
    test_score : float or None
        Held-out score of the refit model.
    n_fits : int
        Candidates x folds.
    note : str
    """

    case: str
    method: str
    seconds: float | None = None
    estimated_seconds: float | None = None
    best_params: dict = field(default_factory=dict)
    best_score: float | None = None
    test_score: float | None = None
    n_fits: int = 0
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def search_cases(
    quick: bool = False, rows: int | None = None, scale: float = 1.0
) -> list[SearchCase]:
    """The cases of the module docstring.

    Parameters
    ----------
    quick : bool, default=False
        Small sizes (seconds): 2,000 x 20 dense, 2,000 x 2,000 CSR.
    rows : int, optional
        Training rows of every case (default 200,000, ``quick``: 2,000).
    scale : float, default=1.0
        Multiplies the rows.

    Returns
    -------
    list of SearchCase
    """
    n = rows if rows is not None else (2_000 if quick else 200_000)
    n = max(200, int(round(n * scale)))
    d_dense, d_sparse = (20, 2_000) if quick else (100, 100_000)
    return [
        SearchCase(f"dense {n:,} x {d_dense}", "dense", n, d_dense, n_jobs=(1, 2)),
        SearchCase(f"sparse CSR {n:,} x {d_sparse:,}", "sparse", n, d_sparse),
        SearchCase(
            f"regression {n:,} x {d_dense}",
            "regression",
            n,
            d_dense,
            losses=REGRESSION_LOSSES,
        ),
    ]


# ------------------------------------------------------------------------ data
def _data(case: SearchCase, seed: int):
    """``X_train, X_test, y_train, y_test``: standardised dense rows, or CSR
    rows with about 50 stored values each (values in [0, 1), not scaled)."""
    from sklearn.preprocessing import StandardScaler

    n = case.n_samples + max(1, int(TEST_SHARE * case.n_samples))
    rng = np.random.default_rng(seed)
    if case.kind == "sparse":
        from ._suites import _sparse_scores

        X, scores = _sparse_scores(rng, n, case.n_features, min(50, case.n_features))
        y = (scores[:, 0] > np.median(scores[:, 0])).astype(np.int64)
    elif case.kind == "dense":
        from sklearn.datasets import make_classification

        d = case.n_features
        X, y = make_classification(
            n, d, n_informative=max(2, d // 5), flip_y=0.01, random_state=seed
        )
    else:
        d = case.n_features
        X = rng.standard_normal((n, d))
        y = X @ (rng.standard_normal(d) / np.sqrt(d)) + 0.5 * rng.standard_normal(n)
        y = (y - y.mean()) / y.std()
    m = case.n_samples
    X_train, X_test, y_train, y_test = X[:m], X[m:], y[:m], y[m:]
    if case.kind != "sparse":
        scaler = StandardScaler().fit(X_train)
        X_train = np.ascontiguousarray(scaler.transform(X_train))
        X_test = np.ascontiguousarray(scaler.transform(X_test))
    return X_train, X_test, y_train, y_test


def _folds(case: SearchCase, X, y, seed: int) -> list:
    """The folds every method uses: stratified for classification."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = StratifiedKFold if case.is_classification else KFold
    return list(splitter(case.n_folds, shuffle=True, random_state=seed).split(X, y))


# --------------------------------------------------------------------- methods
def _grid(case: SearchCase) -> dict:
    return {"alpha": list(case.alphas), "loss": list(case.losses)}


def _grid_search(estimator, case: SearchCase, folds):
    from sklearn.model_selection import GridSearchCV

    return GridSearchCV(estimator, _grid(case), cv=folds, n_jobs=1, refit=True)


def _sklearn_estimator(case: SearchCase, seed: int):
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    cls = SGDClassifier if case.is_classification else SGDRegressor
    return cls(random_state=seed)


def _fastloss_estimator(case: SearchCase, seed: int):
    import fastloss

    cls = fastloss.SGDClassifier if case.is_classification else fastloss.SGDRegressor
    return cls(random_state=seed)


def _one_pass_search(case: SearchCase, folds, seed: int, n_jobs: int):
    """``fastloss.SGDClassifierCV`` / ``SGDRegressorCV`` over the grid, or None
    while the class does not exist."""
    import fastloss

    name = "SGDClassifierCV" if case.is_classification else "SGDRegressorCV"
    cls = getattr(fastloss, name, None)
    if cls is None:
        return None
    return cls(
        alphas=list(case.alphas),
        param_grid={"loss": list(case.losses)},
        cv=folds,
        n_jobs=n_jobs,
        random_state=seed,
    )


def _timed(fit: Callable[[], object]) -> float:
    start = time.perf_counter()
    with warnings.catch_warnings():
        # small alphas stop at max_iter; the search is what is timed
        warnings.simplefilter("ignore")
        fit()
    return time.perf_counter() - start


def _row_of_search(case, method, search, X_train, y_train, X_test, y_test, n_fits) -> SearchRow:
    seconds = _timed(lambda: search.fit(X_train, y_train))
    params = {k: search.best_params_[k] for k in sorted(search.best_params_)}
    return SearchRow(
        case.name,
        method,
        seconds=seconds,
        best_params=params,
        best_score=float(search.best_score_),
        test_score=float(search.score(X_test, y_test)),
        n_fits=n_fits,
    )


def _sklearn_estimate(case: SearchCase, X, y, seed: int) -> float:
    """Seconds scikit-learn's search would take: the same search on the first
    :data:`ESTIMATE_ROWS` rows, scaled by the rows (epochs per fit hardly
    depend on the rows; the per-fit costs are rows-bound too)."""
    m = min(ESTIMATE_ROWS, case.n_samples)
    X_sub, y_sub = X[:m], y[:m]
    folds = _folds(case, X_sub, y_sub, seed)
    search = _grid_search(_sklearn_estimator(case, seed), case, folds)
    return _timed(lambda: search.fit(X_sub, y_sub)) * case.n_samples / m


def _logistic_row(case, folds, data, seed) -> SearchRow:
    """scikit-learn's ``LogisticRegressionCV`` over the log-loss alphas."""
    from sklearn.linear_model import LogisticRegressionCV

    X_train, X_test, y_train, y_test = data
    n_fold = np.mean([len(train) for train, _ in folds])
    alphas = np.asarray(case.alphas, dtype=np.float64)
    search = LogisticRegressionCV(
        Cs=list(1.0 / (alphas * n_fold)),
        l1_ratios=(0.0,),
        cv=folds,
        scoring="accuracy",
        max_iter=1000,
        use_legacy_attributes=False,
        random_state=seed,
    )
    seconds = _timed(lambda: search.fit(X_train, y_train))
    mean_scores = search.scores_.mean(axis=0)[0]  # (n_Cs,): folds averaged
    return SearchRow(
        case.name,
        "LogisticRegressionCV (log_loss)",
        seconds=seconds,
        best_params={"alpha": float(1.0 / (search.C_ * n_fold)), "loss": "log_loss"},
        best_score=float(mean_scores.max()),
        test_score=float(search.score(X_test, y_test)),
        n_fits=len(alphas) * len(folds),
        note="C = 1 / (alpha n_fold); lbfgs to tol 1e-4",
    )


def _warm_up(case: SearchCase, X, y, seed: int) -> None:
    """fastloss's searches once on a few rows, untimed: the kernels each loss
    needs are then loaded (or compiled, after an edit of their source) before
    the timed searches, as the epoch harness warms up too."""
    m = min(case.n_samples, WARM_UP_ROWS)
    small = SearchCase(case.name, case.kind, m, case.n_features, 2, case.losses, case.alphas,
                       case.n_jobs)  # fmt: skip
    folds = _folds(small, X[:m], y[:m], seed)
    searches = [_grid_search(_fastloss_estimator(case, seed), small, folds)]
    searches += [_one_pass_search(small, folds, seed, n_jobs) for n_jobs in case.n_jobs]
    for search in searches:
        if search is not None:
            _timed(lambda search=search: search.fit(X[:m], y[:m]))


def run_case(case: SearchCase, seed: int = 0, sklearn_budget: float = 300.0,
             log: Callable[[str], None] | None = None) -> list[SearchRow]:  # fmt: skip
    """Every method's search of one case, on the same data and folds.

    Parameters
    ----------
    case : SearchCase
    seed : int, default=0
        Data, folds and the estimators' ``random_state``.
    sklearn_budget : float, default=300.0
        Seconds: scikit-learn's search is skipped when estimated longer.
    log : callable, optional
        Receives one line per method as it starts.

    Returns
    -------
    list of SearchRow
    """
    log = log or (lambda line: None)
    data = _data(case, seed)
    X_train, X_test, y_train, y_test = data
    folds = _folds(case, X_train, y_train, seed)
    n_fits = len(case.alphas) * len(case.losses) * len(folds)
    rows = []
    if case.n_samples > 2 * WARM_UP_ROWS:  # else the warm-up would be the search itself
        _warm_up(case, X_train, y_train, seed)

    log(f"{case.name}: GridSearchCV(sklearn)")
    sklearn_method = "GridSearchCV(sklearn)"
    estimate = None
    if case.n_samples > 4 * ESTIMATE_ROWS:
        estimate = _sklearn_estimate(case, X_train, y_train, seed)
    if estimate is not None and estimate > sklearn_budget:
        note = f"skipped: estimated {estimate:.0f} s > --sklearn-budget {sklearn_budget:g} s"
        rows.append(SearchRow(case.name, sklearn_method, estimated_seconds=estimate, n_fits=n_fits,
                              note=note))  # fmt: skip
    else:
        search = _grid_search(_sklearn_estimator(case, seed), case, folds)
        rows.append(_row_of_search(case, sklearn_method, search, X_train, y_train, X_test, y_test,
                                   n_fits))  # fmt: skip

    log(f"{case.name}: GridSearchCV(fastloss)")
    search = _grid_search(_fastloss_estimator(case, seed), case, folds)
    rows.append(_row_of_search(case, "GridSearchCV(fastloss)", search, X_train, y_train, X_test,
                               y_test, n_fits))  # fmt: skip

    name = "SGDClassifierCV" if case.is_classification else "SGDRegressorCV"
    for n_jobs in case.n_jobs:
        method = name if n_jobs == 1 else f"{name} n_jobs={n_jobs}"
        log(f"{case.name}: {method}")
        search = _one_pass_search(case, folds, seed, n_jobs)
        if search is None:
            note = f"skipped: fastloss.{name} does not exist yet"
            rows.append(SearchRow(case.name, method, n_fits=n_fits, note=note))
            continue
        rows.append(_row_of_search(case, method, search, X_train, y_train, X_test, y_test,
                                   n_fits))  # fmt: skip

    if case.is_classification and "log_loss" in case.losses:
        log(f"{case.name}: LogisticRegressionCV")
        rows.append(_logistic_row(case, folds, data, seed))
    return rows


def run_search(quick: bool = False, rows: int | None = None, scale: float = 1.0, seed: int = 0,
               sklearn_budget: float = 300.0, cases: Sequence[SearchCase] | None = None,
               log: Callable[[str], None] | None = None) -> list[SearchRow]:  # fmt: skip
    """Run every case of :func:`search_cases` (or ``cases``).

    Returns
    -------
    list of SearchRow
        In case order, methods in the order of the module docstring.
    """
    cases = search_cases(quick, rows, scale) if cases is None else cases
    return [row for case in cases for row in run_case(case, seed, sklearn_budget, log)]


# ---------------------------------------------------------------------- report
def _params_text(params: dict) -> str:
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def _score_text(value) -> str:
    return "" if value is None else f"{value:.4f}"


def format_search(rows: Sequence[SearchRow]) -> str:
    """A Markdown table of the searches, a speed-up column against scikit-learn's
    search of the same case (its estimate where it was skipped), and the notes."""
    lines = [
        "| case | method | fits | wall s | x sklearn | best params | best CV | held-out |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    reference = {}
    for row in rows:
        if row.method == "GridSearchCV(sklearn)":
            reference[row.case] = row.seconds if row.seconds is not None else row.estimated_seconds
    notes = []
    for row in rows:
        if row.seconds is None:
            wall = "" if row.estimated_seconds is None else f"~{row.estimated_seconds:.0f} (est.)"
        else:
            wall = f"{row.seconds:.2f}"
        ref = reference.get(row.case)
        speedup = f"{ref / row.seconds:.1f}" if ref and row.seconds else ""
        if row.note:
            notes.append(f"{row.case}, {row.method}: {row.note}")
        lines.append(
            f"| {row.case} | {row.method} | {row.n_fits} | {wall} | {speedup} | "
            f"{_params_text(row.best_params)} | {_score_text(row.best_score)} | "
            f"{_score_text(row.test_score)} |"
        )
    lines += [
        "",
        "fits: candidates x folds (the same folds for every method); wall s: search with refit;"
        " x sklearn: scikit-learn's search time / this one's (its estimate where skipped)",
        "best CV: mean accuracy (R^2 for regression) over the folds; held-out: the refit model"
        " on 20 % held-out rows",
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)
