"""``python -m fastloss.bench --ranking``: rankers (and metric learners) against exact references.

Learning to rank on synthetic data (queries of documents whose relevance, five
levels, is a hidden linear score plus noise):

- ``SGDRanker(loss=PairwiseHinge())`` against RankSVM solved exactly:
  scikit-learn's ``LinearSVC`` (hinge, dual) on the explicit pairwise
  differences of the training queries, same objective
  ``alpha / 2 ||w||^2 + mean pair hinge`` (``C = 1 / (alpha n_pairs)``);
- ``PairwiseLogistic`` (RankNet) against ``LogisticRegression`` on the same
  differences, same objective;
- the epoch time of ``SGDRanker`` against a plain SGD epoch (``SGDRegressor``)
  over the same rows, at a size where the explicit pairs no longer fit in
  memory.

Quality is mean NDCG@10 on held-out queries; the references' times include
building the explicit pairs (they cannot start without them), reported apart.

Each comparison is a function ``(quick, seed) -> list[Row]`` in
:data:`SECTIONS`; the metric-learning comparisons add theirs there.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from ..linear_model import SGDRanker, SGDRegressor
from ..losses import PairwiseHinge, PairwiseLogistic

__all__ = [
    "Row",
    "SECTIONS",
    "format_ranking",
    "make_ranking_data",
    "run_ranking",
]

#: Regularisation of every ranking comparison (the references get the same objective).
ALPHA = 1e-4
#: Epochs of the second, fixed-length SGDRanker fit each comparison reports
#: beside the default stopping rule's (which runs until the mean pair loss stalls).
FEW_EPOCHS = 5


@dataclass
class Row:
    """One comparison: fastloss against a reference on the same data."""

    task: str
    metric: str
    fastloss_value: float
    reference: str
    reference_value: float
    fastloss_seconds: float
    reference_seconds: float
    note: str = ""

    @property
    def speedup(self) -> float:
        return self.reference_seconds / self.fastloss_seconds


def make_ranking_data(n_queries, n_docs, n_features, noise=0.5, seed=0):
    """Queries of ``n_docs`` documents, ``n_features`` standard normal
    features, relevance 0-4 from a hidden linear score plus Gaussian noise
    (cut at the score's quintiles); rows grouped by query.

    Returns
    -------
    X : float64 (n_queries * n_docs, n_features)
    y : float64 (n,)
    qid : int64 (n,)
    """
    rng = np.random.default_rng(seed)
    n = n_queries * n_docs
    X = rng.standard_normal((n, n_features))
    w = rng.standard_normal(n_features)
    latent = X @ w / np.sqrt(n_features) + noise * rng.standard_normal(n)
    y = np.digitize(latent, np.quantile(latent, [0.2, 0.4, 0.6, 0.8])).astype(np.float64)
    return X, y, np.repeat(np.arange(n_queries), n_docs)


def explicit_pairs(X, y, qid, seed=0):
    """Every pair of documents of a query with different relevance, as
    difference rows ``x_i - x_j`` with label +1 (i more relevant) or -1 (the
    pair flipped: each pair once, half of them flipped at random)."""
    rng = np.random.default_rng(seed)
    bounds = np.flatnonzero(np.diff(qid)) + 1
    diffs, labels = [], []
    for rows in np.split(np.arange(qid.shape[0]), bounds):
        i, j = np.triu_indices(rows.shape[0], 1)
        i, j = rows[i], rows[j]
        keep = y[i] != y[j]
        i, j = i[keep], j[keep]
        sign = np.where(y[i] > y[j], 1.0, -1.0)
        flip = rng.random(i.shape[0]) < 0.5
        diffs.append((X[i] - X[j]) * np.where(flip, -1.0, 1.0)[:, None])
        labels.append(np.where(flip, -sign, sign))
    return np.vstack(diffs), np.concatenate(labels)


def _split(X, y, qid, test_fraction=0.2):
    """Train and test rows by query (the last queries are the test set)."""
    cut = np.quantile(np.unique(qid), 1 - test_fraction)
    train = qid < cut
    return (X[train], y[train], qid[train]), (X[~train], y[~train], qid[~train])


def _timed(fit):
    start = time.perf_counter()
    result = fit()
    return result, time.perf_counter() - start


def _ndcg(coef, test):
    X, y, qid = test
    scorer = SGDRanker()  # scores with given weights: the references' too
    scorer.coef_, scorer.intercept_, scorer.n_features_in_ = coef, np.zeros(1), X.shape[1]
    return scorer.score(X, y, qid=qid)


def _pairwise_rows(quick: bool, seed: int) -> list[Row]:
    """RankSVM and RankNet against their exact solutions on explicit pairs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    n_queries = 200 if quick else 1_000
    X, y, qid = make_ranking_data(n_queries, 50, 50, seed=seed)
    train, test = _split(X, y, qid)
    (D, s), pair_seconds = _timed(lambda: explicit_pairs(*train, seed=seed))
    n_pairs = s.shape[0]
    C = 1.0 / (ALPHA * n_pairs)
    note = f"{n_pairs:,} pairs; building them took {pair_seconds:.2f} s (not in the time)"
    rows = []
    references = [
        (
            PairwiseHinge(),
            "RankSVM: LinearSVC(hinge) on pairs",
            lambda: LinearSVC(C=C, loss="hinge", fit_intercept=False, dual=True, tol=1e-5,
                              max_iter=100_000),
        ),
        (
            PairwiseLogistic(),
            "RankNet: LogisticRegression on pairs",
            lambda: LogisticRegression(C=C, fit_intercept=False, tol=1e-8, max_iter=10_000),
        ),
    ]  # fmt: skip
    for loss, name, make in references:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ranker = SGDRanker(loss=loss, alpha=ALPHA, average=10, random_state=seed)
            # one untimed fit compiles the kernels (a warm cache loads them)
            SGDRanker(loss=loss, max_iter=1, tol=None).fit(*train[:2], qid=train[2])
            _, seconds = _timed(lambda r=ranker: r.fit(train[0], train[1], qid=train[2]))
            short = clone(ranker).set_params(max_iter=FEW_EPOCHS, tol=None)
            _, short_seconds = _timed(lambda r=short: r.fit(train[0], train[1], qid=train[2]))
            reference, ref_seconds = _timed(lambda make=make: make().fit(D, s))
        rows.append(
            Row(
                task=f"{type(loss).__name__}, {n_queries} queries x 50 docs x 50 features",
                metric="NDCG@10 (test queries)",
                fastloss_value=_ndcg(ranker.coef_, test),
                reference=name,
                reference_value=_ndcg(reference.coef_.ravel(), test),
                fastloss_seconds=seconds,
                reference_seconds=ref_seconds,
                note=f"{ranker.n_iter_} epochs (tol=1e-3); {FEW_EPOCHS} epochs: NDCG@10 "
                f"{_ndcg(short.coef_, test):.4f} in {short_seconds:.3f} s; {note}",
            )
        )
    return rows


def _epoch_seconds(fits, epochs=4, repeat=3):
    """Seconds of one epoch of each fit, ``(t_E - t_1) / (E - 1)`` of fits
    with ``max_iter`` E and 1 (tol None), measured in ``repeat`` rounds that
    alternate the fits (a load that comes and goes then weighs on both).

    ``fits``: callables ``max_iter -> None``.  Returns, per fit, the list of
    its ``repeat`` measurements."""
    times = [[] for _ in fits]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for fit in fits:
            fit(1)  # compile or load the kernels
        for _ in range(repeat):
            for k, fit in enumerate(fits):
                one = _timed(lambda f=fit: f(1))[1]
                many = _timed(lambda f=fit: f(epochs))[1]
                times[k].append(max(many - one, 1e-9) / (epochs - 1))
    return times


def _epoch_rows(quick: bool, seed: int) -> list[Row]:
    """An SGDRanker epoch (one pair per document) against a plain SGD epoch."""
    n_queries = 2_000 if quick else 10_000
    X, y, qid = make_ranking_data(n_queries, 100, 50, seed=seed)
    counts = np.bincount(y[qid == 0].astype(np.int64), minlength=5)
    pairs_per_query = (100**2 - int((counts**2).sum())) // 2  # of different relevance

    def ranker(m):
        SGDRanker(max_iter=m, tol=None, random_state=seed).fit(X, y, qid=qid)

    def plain(m):
        SGDRegressor(max_iter=m, tol=None, random_state=seed).fit(X, y)

    ranker_times, plain_times = _epoch_seconds([ranker, plain])
    ratio = float(np.median(np.divide(ranker_times, plain_times)))
    explicit_gb = n_queries * pairs_per_query * 50 * 8 / 1e9
    return [
        Row(
            task=f"epoch, {n_queries:,} queries x 100 docs x 50 features ({X.shape[0]:,} rows)",
            metric="seconds an epoch (fastest round)",
            fastloss_value=min(ranker_times),
            reference="SGDRegressor epoch over the same rows",
            reference_value=min(plain_times),
            fastloss_seconds=min(ranker_times),
            reference_seconds=min(plain_times),
            note=f"ranker / plain = {ratio:.2f} (median of {len(plain_times)} alternating "
            f"rounds); one pair per document; the explicit pairs would take about "
            f"{explicit_gb:.0f} GB",
        )
    ]


#: The comparisons of ``--ranking``, in order: functions ``(quick, seed) -> list[Row]``.
#: The metric learners' comparisons (``fastloss.bench._metric_learning``, which
#: imports ``Row`` from here) go here too, through a function that imports them
#: when called, so that neither module imports the other at import time.
def _metric_learning_rows(quick: bool, seed: int) -> list[Row]:
    """The metric learners against NCA (``_metric_learning``, which imports Row from here)."""
    from ._metric_learning import metric_learning_rows

    return metric_learning_rows(quick, seed)


SECTIONS: list[Callable[[bool, int], list[Row]]] = [
    _pairwise_rows,
    _epoch_rows,
    _metric_learning_rows,
]


def run_ranking(quick: bool = False, seed: int = 0, log=print) -> list[Row]:
    """Run every comparison of :data:`SECTIONS`.

    Parameters
    ----------
    quick : bool, default=False
        Smaller data (about a minute).
    seed : int, default=0
    log : callable or None
        Progress messages (``print``), or None.

    Returns
    -------
    list of Row
    """
    rows = []
    for section in SECTIONS:
        if log is not None:
            log(f"running {section.__name__.strip('_')} ...")
        rows.extend(section(quick, seed))
    return rows


def format_ranking(rows: list[Row]) -> str:
    """A Markdown table of the comparisons."""
    lines = [
        "| task | metric | fastloss | reference | reference value | fastloss s | reference s "
        "| speed-up | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.task} | {r.metric} | {r.fastloss_value:.4g} | {r.reference} | "
            f"{r.reference_value:.4g} | {r.fastloss_seconds:.3g} | {r.reference_seconds:.3g} | "
            f"{r.speedup:.1f}x | {r.note} |"
        )
    return "\n".join(lines)


def rows_as_dicts(rows: list[Row]) -> list[dict]:
    """The rows as JSON-ready dictionaries (``--json``)."""
    return [asdict(r) for r in rows]
