"""SGDRanker: a linear scoring model trained on pairs of documents within queries."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot

from .._kernels import _layout as L
from .._kernels.pair_epoch import (
    pair_epoch_csr,
    pair_epoch_dense,
    pair_minibatch_csr,
    pair_minibatch_dense,
)
from ..losses import Loss
from ..losses._check import check_loss_once
from ..losses._ranking import RANKING_LOSSES, Pairwise, PairwiseLoss
from ..losses._user import kernel_for
from ._base import MAX_INT, BaseSGD, PublicInstanceOf, atomic_fit, one_fit_at_a_time
from ._callbacks import fit_callbacks, linear_attributes
from ._runners import _NOT_READ, OneModelRunner, csr_arrays, kernel_rows, kernel_weights
from ._training import train

__all__ = ["SGDRanker", "QueryLayout", "query_codes", "mean_ndcg"]


# ------------------------------------------------------------------ queries
def query_codes(qid, n_samples: int) -> np.ndarray:
    """Each row's query as an int64 code 0..n_queries-1 (``qid`` any 1-D
    array of ``n_samples`` ids, rows in any order; ``None``: one query)."""
    if qid is None:
        return np.zeros(n_samples, dtype=np.int64)
    qid = np.asarray(qid)
    if qid.ndim != 1 or qid.shape[0] != n_samples:
        raise ValueError(
            f"qid must be a 1-D array with one query id per row: got shape {qid.shape} "
            f"for {n_samples} rows."
        )
    if qid.dtype.kind == "f" and not np.isfinite(qid).all():
        raise ValueError("qid contains NaN or infinity; give every row a query id.")
    if qid.dtype.kind == "O":
        qid = qid.astype(str)
    _, codes = np.unique(qid, return_inverse=True)
    return codes.astype(np.int64, copy=False)


def check_relevance(y: np.ndarray) -> np.ndarray:
    """``y`` as float64 relevance labels, checked finite and non-negative."""
    y = np.ascontiguousarray(y, dtype=np.float64)
    if not np.isfinite(y).all():
        raise ValueError("Relevance labels y contain NaN or infinity.")
    if (y < 0).any():
        raise ValueError(
            "Relevance labels y must be non-negative (0 = not relevant, larger = more "
            f"relevant); got {int((y < 0).sum())} negative, e.g. {np.unique(y[y < 0])[:5]}."
        )
    return y


def _run_starts(keys_changed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted positions where a run starts (``keys_changed``, bool (n,),
    first True): each position's run start and run end."""
    n = keys_changed.shape[0]
    starts = np.flatnonzero(keys_changed)
    run = np.cumsum(keys_changed) - 1
    ends = np.append(starts[1:], n)
    return starts[run], ends[run]


@dataclass
class QueryLayout:
    """The training documents by position (``_kernels.pair_epoch``): grouped by
    query, within a query by decreasing relevance.  ``X`` stays as it is;
    ``docs`` says which row each position is.

    Attributes
    ----------
    docs : int64 (n_positions,)
        Row of X at each position.
    spans : int64 (n_positions, SPAN_SIZE)
    anchors : int64 (n_anchors,)
        Positions with at least one partner (same query, other relevance).
    n_partners : int64 (n_positions,)
    relevance, query : (n_positions,)
        Relevance (float64) and query code (int64) at each position.
    """

    docs: np.ndarray
    spans: np.ndarray
    anchors: np.ndarray
    n_partners: np.ndarray
    relevance: np.ndarray
    query: np.ndarray

    @classmethod
    def build(cls, relevance, codes, rows) -> QueryLayout:
        """Layout of rows ``rows`` (int64) given each row's relevance and query code."""
        rel, query = relevance[rows], codes[rows]
        perm = np.lexsort((-rel, query))
        docs, rel, query = rows[perm], rel[perm], query[perm]
        n = docs.shape[0]
        new_query = np.ones(n, dtype=bool)
        new_query[1:] = query[1:] != query[:-1]
        new_tie = new_query.copy()
        new_tie[1:] |= rel[1:] != rel[:-1]
        spans = np.empty((n, L.SPAN_SIZE), dtype=np.int64)
        if n:
            spans[:, L.SPAN_QUERY_START], spans[:, L.SPAN_QUERY_END] = _run_starts(new_query)
            spans[:, L.SPAN_TIE_START], spans[:, L.SPAN_TIE_END] = _run_starts(new_tie)
        n_partners = (spans[:, L.SPAN_QUERY_END] - spans[:, L.SPAN_QUERY_START]) - (
            spans[:, L.SPAN_TIE_END] - spans[:, L.SPAN_TIE_START]
        )
        anchors = np.flatnonzero(n_partners > 0).astype(np.int64)
        return cls(docs, spans, anchors, n_partners, rel, query)

    def ndcg_gains(self) -> np.ndarray:
        """Relevance over its query's ideal DCG (0 for queries with none), per
        position: ``|gain_a - gain_b| * |discount_a - discount_b|`` is the change
        of the query's NDCG when a and b swap ranks (linear gains, untruncated,
        as scikit-learn's ``ndcg_score`` without ``k``)."""
        start = self.spans[:, L.SPAN_QUERY_START]
        rank = np.arange(self.docs.shape[0]) - start  # positions are the ideal order
        ideal = np.bincount(self.query, self.relevance / np.log2(rank + 2.0))
        norm = ideal[self.query]
        return np.divide(self.relevance, norm, out=np.zeros_like(norm), where=norm > 0)

    def discounts(self, scores: np.ndarray) -> np.ndarray:
        """``1 / log2(2 + rank)`` of each position when its query is ranked by
        ``scores`` (per row of X), float64 (n_positions,)."""
        by_score = np.lexsort((-scores[self.docs], self.query))
        rank = np.empty(self.docs.shape[0], dtype=np.int64)
        rank[by_score] = np.arange(by_score.shape[0]) - self.spans[by_score, L.SPAN_QUERY_START]
        return 1.0 / np.log2(rank + 2.0)


def mean_ndcg(relevance, scores, codes, k):
    """Mean over queries of scikit-learn's ``ndcg_score`` at ``k`` (ties
    averaged; a query without relevant documents counts 0, as there).

    Queries of equal size are scored together as rows of one 2-D array; a
    one-document query is padded with an irrelevant, lowest-scored document
    (``ndcg_score`` needs two columns; the padding changes no DCG)."""
    from sklearn.metrics import ndcg_score  # sklearn.metrics costs import time

    perm = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    present = np.flatnonzero(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    low = float(np.min(scores)) - 1.0 if scores.shape[0] else 0.0
    total = 0.0
    for size in np.unique(sizes[present]):
        queries = present[sizes[present] == size]
        rows = perm[starts[queries][:, None] + np.arange(size)]
        y_true, y_score = relevance[rows], scores[rows]
        if size == 1:
            y_true = np.hstack([y_true, np.zeros_like(y_true)])
            y_score = np.hstack([y_score, np.full_like(y_score, low)])
        total += ndcg_score(y_true, y_score, k=k) * queries.shape[0]
    return total / present.shape[0]


# ------------------------------------------------------------------- runner
class PairRunner(OneModelRunner):
    """One linear scoring model trained on pairs drawn within queries
    (``_kernels.pair_epoch``), an epoch runner of ``_training.train``.

    ``rows`` are the anchor positions; each epoch visits them in the loop's
    shuffled order and draws ``pairs_per_doc`` partners for each (0: all).
    Serial (``n_threads`` 1).

    Parameters
    ----------
    X : ndarray (n_samples, n_features) C-contiguous, or CSR with int32 indices
    layout : QueryLayout
    sample_weight : float64 (n_samples,)
    settings : Settings
    start : TrainingState
    pairs_per_doc : int
    lambda_weights : bool
        Weigh pairs by the change of NDCG (recomputed from the model's scores
        at the start of each epoch).
    seed : int
        Seed of the partner draws.
    """

    n_models = 1
    n_threads = 1

    def __init__(self, X, layout, sample_weight, settings, start, pairs_per_doc,
                 lambda_weights, seed):  # fmt: skip
        self.X, self.layout, self.settings = X, layout, settings
        self.rows = kernel_rows(layout.anchors, layout.docs.shape[0])
        self.docs = kernel_rows(layout.docs, X.shape[0])
        weights = sample_weight[layout.docs]
        self.sample_weight = kernel_weights(weights) if weights.shape[0] else _NOT_READ
        self.gains = layout.ndcg_gains() if lambda_weights else _NOT_READ
        self.pairs_per_doc = int(pairs_per_doc)
        partners = layout.n_partners[layout.anchors]
        every = pairs_per_doc == 0
        self.n_pairs = int(partners.sum()) if every else partners.shape[0] * pairs_per_doc
        # drawn pairs weigh their anchor's partners over the mean (pair_epoch.pair_weight)
        self.pair_share = 0.0 if every else partners.shape[0] / max(int(partners.sum()), 1)
        self.rng = np.random.default_rng(seed)
        self.hyper = settings.hyper(settings.eta0)
        self.coef = start.coef[0].copy()
        self.avg_coef = start.avg_coef[0].copy()
        self.l1_q = start.l1_received[0].copy()
        self.kstate = np.zeros(L.S_SIZE)
        self.kstate[[L.S_INTERCEPT, L.S_AVG_INTERCEPT, L.S_T, L.S_L1_U]] = (
            start.intercept[0], start.avg_intercept[0], start.t, start.l1_total[0],
        )  # fmt: skip
        binary = settings.loss.binary_loss()
        self._loss_code = binary._code
        self.opt_state = None
        if settings.optim is None:
            kernels = (pair_epoch_csr, pair_epoch_dense)
            self._weights = (self.coef, self.avg_coef, self.l1_q, self.kstate)
        else:  # mini-batches with any optimizer
            kernels = (pair_minibatch_csr, pair_minibatch_dense)
            saved = start.opt_state
            n_slots = (L.N_SLOTS, X.shape[1] + 1)
            self.opt_state = np.zeros(n_slots) if saved is None else saved[0].copy()
            self._weights = (self.coef, self.opt_state, self.kstate)
        self._kernel = kernel_for(kernels[0] if sp.issparse(X) else kernels[1], binary)

    def run(self, order, pool=None, while_waiting=None):
        discounts = _NOT_READ
        if self.gains.shape[0]:
            coef, _ = self.model()
            discounts = self.layout.discounts(safe_sparse_dot(self.X, coef))
        seed = self.rng.integers(np.iinfo(np.int64).max)
        rows = csr_arrays(self.X) if sp.issparse(self.X) else (self.X,)
        loss = self._kernel(
            *rows, self.docs, self.layout.spans, self.sample_weight, self.gains, discounts,
            order, self.pairs_per_doc, self.pair_share, seed, self._loss_code,
            self.settings.loss_params, self.hyper, *self._weights,
        )  # fmt: skip
        # the loop divides by the anchors: report the mean loss of a pair
        return np.array([loss * order.shape[0] / max(self.n_pairs, 1)])

    def finite(self):
        return bool(np.isfinite(self.coef).all() and np.isfinite(self.avg_coef).all())


# ---------------------------------------------------------------- estimator
_SHARED = (
    "penalty", "alpha", "l1_ratio", "max_iter", "tol", "shuffle", "verbose", "random_state",
    "learning_rate", "eta0", "power_t", "early_stopping", "validation_fraction",
    "n_iter_no_change", "warm_start", "average", "optimizer", "batch_size",
)  # fmt: skip


class SGDRanker(BaseSGD):
    """Linear learning to rank by SGD on pairs of documents (RankSVM, RankNet).

    Learns a score ``s(x) = x @ coef_`` such that, within each query, more
    relevant documents score higher: each epoch draws, for every document,
    ``pairs_per_doc`` partners of the same query with a different relevance
    (in compiled code; pairs are never stored) and takes an SGD step on the
    pairwise loss of the score difference.  Penalties, schedules, averaging,
    stopping, early stopping, ``warm_start``, ``partial_fit`` and callbacks
    are :class:`SGDClassifier`'s.

    Parameters
    ----------
    loss : str or Loss, default="pairwise_hinge"
        ``"pairwise_hinge"`` (RankSVM), ``"pairwise_logistic"`` (RankNet),
        ``"pairwise_squared_hinge"``, or a :class:`fastloss.losses.PairwiseLoss`
        object (searchable as ``loss__margin`` ...).  A binary margin loss
        object (``Hinge()``, ``LogLoss()``, a user-defined one) is applied to
        score differences as :class:`fastloss.losses.Pairwise` does.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
    alpha : float, default=1e-4
        Regularisation strength; also sets the "optimal" learning rate.
    l1_ratio : float, default=0.15
    max_iter : int, default=1000
        Maximum number of epochs of :meth:`fit`.
    tol : float or None, default=1e-3
        Stop when the mean pair loss plus penalty (or, with early stopping,
        the validation NDCG) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs.
    shuffle : bool or "block", default=True
        Shuffle the anchor documents before every epoch.
    verbose : int, default=0
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling, the partner draws and the validation split.
    learning_rate : {"optimal", "constant", "invscaling", "adaptive"} or Schedule, \
            default="optimal"
    eta0 : float, default=0.01
    power_t : float, default=0.5
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the queries and stop on their
        mean NDCG@``ndcg_k``.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    warm_start : bool, default=False
    average : bool or int, default=False
    optimizer : str or Optimizer, default="sgd"
        Update rule, as in :class:`SGDClassifier`: "sgd" (plain SGD, the
        per-pair kernel), another :mod:`fastloss.optim` name or object
        (mini-batches of ``batch_size`` pairs; not combinable with ``average``).
        A :mod:`fastloss.optim` schedule object as ``learning_rate`` also
        trains by mini-batches.
    batch_size : int, default=1
        Pairs per update of the mini-batch optimizers.
    pairs_per_doc : int or "all", default=1
        Partners drawn for each document an epoch (uniformly, with
        replacement, among the documents of its query with another
        relevance); ``"all"`` visits every such pair (twice, once from each
        end) each epoch, O(sum of squared query sizes): for small queries.
    pair_weighting : {"ndcg"} or None, default=None
        ``"ndcg"`` weighs each pair by the change of its query's NDCG were the
        two documents swapped in the current ranking (LambdaRank, Burges
        2010), ranks recomputed at the start of each epoch; it focuses
        training on the top of the ranking.
    ndcg_k : int or None, default=10
        Cut-off of the NDCG that :meth:`score` and early stopping report
        (``None``: all documents).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : ndarray of shape (1,)
        Always 0: a constant does not change a ranking.
    n_iter_ : int
    t_ : float
        Number of pair steps taken, plus one.
    loss_function_ : PairwiseLoss
    loss_curve_ : ndarray of shape (n_epochs,)
        Mean pair loss plus penalty after each epoch.  Drawn pairs are
        reweighted so that their mean loss estimates the mean over every pair
        of different relevance within a query (RankSVM's objective).
    validation_scores_ : ndarray of shape (n_epochs,) or None
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)

    Notes
    -----
    ``qid`` follows XGBoost's convention: one query id per row, rows in any
    order.  In a :class:`~sklearn.model_selection.GridSearchCV` split by
    query (``cv=GroupKFold()``, ``groups=qid``), enable metadata routing and
    request ``qid`` for both fitting and scoring::

        sklearn.set_config(enable_metadata_routing=True)
        ranker = SGDRanker().set_fit_request(qid=True).set_score_request(qid=True)

    A pair weighs the product of its documents' ``sample_weight``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastloss import SGDRanker
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> y = np.digitize(X @ [1.0, -1.0, 0.5, 0.0, 0.0], [-1.0, 0.0, 1.0])
    >>> qid = np.repeat(np.arange(20), 10)
    >>> ranker = SGDRanker(random_state=0).fit(X, y, qid=qid)
    >>> ranker.score(X, y, qid=qid) > 0.9
    True
    """

    _coef_2d = False  # coef_ is 1-D (n_features,)
    fit_intercept = False  # what the shared settings read: a ranking has no intercept

    _parameter_constraints: dict = {
        **{name: BaseSGD._parameter_constraints[name] for name in _SHARED},
        "loss": [StrOptions(set(RANKING_LOSSES)), PublicInstanceOf(Loss, "fastloss.losses")],
        "pairs_per_doc": [Interval(Integral, 1, None, closed="left"), StrOptions({"all"})],
        "pair_weighting": [StrOptions({"ndcg"}), None],
        "ndcg_k": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        loss="pairwise_hinge",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        optimizer="sgd",
        batch_size=1,
        pairs_per_doc=1,
        pair_weighting=None,
        ndcg_k=10,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.pairs_per_doc = pairs_per_doc
        self.pair_weighting = pair_weighting
        self.ndcg_k = ndcg_k

    def __sklearn_tags__(self):
        tags = BaseEstimator.__sklearn_tags__(self)
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        tags.target_tags.positive_only = True  # relevance labels
        return tags

    # ------------------------------------------------------------- parameters
    def _resolve_loss(self) -> PairwiseLoss:
        if isinstance(self.loss, str):
            return RANKING_LOSSES[self.loss]()
        loss = clone(self.loss)
        if not isinstance(loss, PairwiseLoss):
            if not loss.is_classification:
                raise ValueError(
                    f"SGDRanker needs a pairwise loss or a binary margin loss to apply to "
                    f"score differences; {type(loss).__name__} is neither (a regression "
                    "loss). Use PairwiseHinge(), PairwiseLogistic() or Pairwise(<margin loss>)."
                )
            loss = Pairwise(loss)
        loss._validate()
        check_loss_once(loss.binary_loss())  # user-defined margin losses only
        return loss

    # ---------------------------------------------------------------- fitting
    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, qid=None, sample_weight=None):
        """Fit the scores by SGD on pairs, ``max_iter`` epochs at most.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One row per document.
        y : array-like of shape (n_samples,)
            Relevance labels, non-negative (integers or floats); only their
            order within a query matters to training.
        qid : array-like of shape (n_samples,), default=None
            Query id of each row (rows need not be sorted by it); ``None``:
            all rows are one query.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-document weights; a pair weighs the product of its two.

        Returns
        -------
        self : SGDRanker
        """
        self._check_settings()
        loss = self._resolve_loss()
        X, y = self._validate_Xy(X, y, reset=True, y_numeric=True)
        start = self._start(1, X)
        self._train(X, y, qid, sample_weight, loss, self.max_iter, start, self.warm_start)
        self._warn_if_not_converged()
        return self

    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def partial_fit(self, X, y, qid=None, sample_weight=None):
        """Run one epoch of pairwise SGD over the given queries.

        Each call's queries stand alone: pairs are drawn within the rows of
        one call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        qid : array-like of shape (n_samples,), default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDRanker
        """
        first_call = not hasattr(self, "coef_")
        self._check_settings(for_partial_fit=True)
        loss = self._resolve_loss()
        X, y = self._validate_Xy(X, y, reset=first_call, y_numeric=True)
        start = self._start(1, X) if first_call else self._continued_state()
        self._train(X, y, qid, sample_weight, loss, 1, start, not first_call)
        return self

    def _train(self, X, y, qid, sample_weight, loss, max_iter, start, continued):
        given_weight = sample_weight
        sample_weight = self._sample_weight(sample_weight, X)
        relevance = check_relevance(y)
        codes = query_codes(qid, X.shape[0])
        settings = self._settings(loss, max_iter)
        seeds = check_random_state(self.random_state).randint(MAX_INT, size=2)
        rows, score = np.arange(X.shape[0], dtype=np.int64), None
        if self.early_stopping and max_iter > 1:
            rows, score = self._validation_split(X, relevance, codes)
        layout = QueryLayout.build(relevance, codes, rows)
        if layout.anchors.shape[0] == 0:
            raise ValueError(
                "SGDRanker needs two documents of one query with different relevance; "
                f"the {X.shape[0]} sample(s) in {np.unique(codes).shape[0]} query(ies) "
                "have none. Check y and qid."
            )
        pairs = 0 if self.pairs_per_doc == "all" else self.pairs_per_doc
        runner = PairRunner(
            X, layout, sample_weight, settings, start, pairs, self.pair_weighting == "ndcg",
            seeds[1],
        )  # fmt: skip
        reconstruct = linear_attributes(True, X.dtype, loss_function_=loss)
        scores = None if score is None else [score]
        with fit_callbacks(self, X, y, given_weight, 1, max_iter, reconstruct) as callbacks:
            record = train(runner, settings, seeds[0], scores, callbacks)
            self._set_solution(record, loss, X.dtype)
            self._record_curves(record, continued)

    def _validation_split(self, X, relevance, codes):
        """Training rows and the validation NDCG of held-out queries."""
        from sklearn.model_selection import GroupShuffleSplit  # see BaseSGD

        splitter = GroupShuffleSplit(
            n_splits=1, test_size=self.validation_fraction, random_state=self.random_state
        )
        if np.unique(codes).shape[0] < 2:
            raise ValueError(
                "early_stopping holds out whole queries: it needs at least two queries "
                "(qid); disable early_stopping or pass qid."
            )
        train_idx, val_idx = next(splitter.split(np.zeros((codes.shape[0], 1)), groups=codes))
        X_val, y_val = X[val_idx], relevance[val_idx]
        _, val_codes = np.unique(codes[val_idx], return_inverse=True)
        k = self.ndcg_k

        def score(coef, intercept):
            return mean_ndcg(y_val, safe_sparse_dot(X_val, coef), val_codes, k)

        return np.sort(train_idx).astype(np.int64), score

    # ------------------------------------------------------------- prediction
    def predict(self, X):
        """Scores ``X @ coef_``: rank each query's documents by decreasing score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._linear_scores(X)

    def score(self, X, y, qid=None):
        """Mean NDCG@``ndcg_k`` over the queries.

        Each query's documents are ranked by :meth:`predict` and scored by
        :func:`sklearn.metrics.ndcg_score` (linear gains, ties averaged, a
        query without relevant documents scoring 0), then averaged.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Relevance labels, non-negative.
        qid : array-like of shape (n_samples,), default=None
            Query id of each row; ``None``: one query.

        Returns
        -------
        float
        """
        scores = self.predict(X)
        relevance = check_relevance(np.asarray(y).reshape(-1))
        if relevance.shape[0] != scores.shape[0]:
            raise ValueError(f"y has {relevance.shape[0]} labels for {scores.shape[0]} rows.")
        return float(mean_ndcg(relevance, scores, query_codes(qid, scores.shape[0]), self.ndcg_k))
