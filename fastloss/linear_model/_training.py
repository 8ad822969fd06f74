"""The epoch loop around the compiled kernels: shuffling, stopping, divergence.

An estimator reduces its task to one or more *problems* (a binary
classification, one class of one-vs-rest, a regression), each a target vector, a
weight vector and a :class:`LinearState`, and hands them to :func:`train`.  The
loop over epochs is Python (one kernel call an epoch) so that verbose output,
early stopping and interruption happen between epochs; the loop over samples
is compiled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from .._kernels import _layout as L
from .._kernels import _optim_rules
from .._kernels._specialise import kernel_for
from .._kernels.minibatch_epoch import minibatch_epoch_csr, minibatch_epoch_dense
from .._kernels.sgd_epoch import sgd_epoch_csr, sgd_epoch_dense
from .._kernels.shuffle import block_order, shuffle_in_place
from ..losses import Loss
from ..optim._resolve import OptimConfig


@dataclass
class LinearState:
    """Trainable state of one linear model; arrays of shape (n_features,)."""

    coef: np.ndarray
    avg_coef: np.ndarray
    l1_received: np.ndarray  # float64: L1 penalty each weight has received
    intercept: float = 0.0
    avg_intercept: float = 0.0
    t: float = 1.0
    l1_total: float = 0.0  # L1 penalty every weight should have received
    n_iter: int = 0
    # per epoch of the last train() call: training objective (NaN when the loss
    # was not computed) and, with early stopping, the validation score
    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    # float64 (N_SLOTS, n_features + 1): the optimizer's state (mini-batch kernel only)
    opt_state: np.ndarray | None = None

    @classmethod
    def zeros(cls, n_features, dtype, t=1.0):
        return cls(
            np.zeros(n_features, dtype), np.zeros(n_features, dtype), np.zeros(n_features), t=t
        )


@dataclass
class Settings:
    """Everything about how to train, resolved from an estimator's parameters."""

    loss: Loss
    schedule: str  # "constant", "optimal", "invscaling" or "adaptive"
    eta0: float
    power_t: float
    alpha: float
    l1_ratio: float  # share of alpha that is L1 (0 for "l2", 1 for "l1")
    penalized: bool
    average: int  # first averaged step, 0 = no averaging
    fit_intercept: bool
    max_iter: int
    tol: float | None
    n_iter_no_change: int
    shuffle: bool | str
    verbose: int
    optim: OptimConfig | None = None  # None: scikit-learn's plain SGD kernel
    loss_params: np.ndarray = field(init=False)

    def __post_init__(self):
        self.loss_params = np.ascontiguousarray(self.loss._kernel_params(), np.float64)

    def hyper(self, eta0):
        h = np.zeros(L.H_SIZE)
        h[L.H_SCHEDULE] = {"optimal": L.OPTIMAL, "invscaling": L.INVSCALING}.get(
            self.schedule, L.CONSTANT
        )
        h[L.H_ETA0] = eta0
        h[L.H_POWER_T] = self.power_t
        h[L.H_ALPHA] = self.alpha
        if self.schedule == "optimal":
            h[L.H_OPTIMAL_T0] = self._optimal_t0()
        if self.penalized:
            h[L.H_L2] = 1.0 - self.l1_ratio
            h[L.H_L1] = self.l1_ratio
        h[L.H_AVERAGE_START] = self.average
        h[L.H_FIT_INTERCEPT] = float(self.fit_intercept)
        h[L.H_COMPUTE_LOSS] = float(self.tol is not None or self.verbose > 0)
        if self.optim is not None:
            return self.optim.extend_hyper(h, eta0, self.alpha)
        return h

    def _optimal_t0(self):
        # Bottou's heuristic as scikit-learn computes it: the first step is
        # typw / max(1, dloss(y=1, p=-typw)) for a typical weight typw =
        # alpha ** -0.25.  That derivative is negative for every loss that
        # decreases towards its target (all of ours), so the first step is typw
        # itself; evaluating it would load a compiled kernel for nothing.
        typw = np.sqrt(1.0 / np.sqrt(self.alpha))
        return 1.0 / (typw * self.alpha)

    def penalty(self, coef):
        if not self.penalized:
            return 0.0
        coef = coef.astype(np.float64, copy=False)
        # not coef @ coef: a BLAS dot of many features wakes OpenBLAS's threads,
        # which then spin on the cores the next epoch's threads need
        return self.alpha * (
            (1.0 - self.l1_ratio) * 0.5 * float(np.square(coef).sum())
            + self.l1_ratio * float(np.abs(coef).sum())
        )


def apply_pending_l1(coef, l1_received, l1_total):
    """``coef`` with every weight's pending cumulative L1 penalty applied (a copy).

    The kernels truncate a weight only when a sample touches it; this is the
    truncation a touch would apply now (Tsuruoka et al., 2009).
    """
    pending_pos = l1_total + l1_received  # l1_received <= 0 for shrunk positive weights
    pending_neg = l1_total - l1_received
    return np.where(
        coef > 0,
        np.maximum(0.0, coef - pending_pos),
        np.where(coef < 0, np.minimum(0.0, coef + pending_neg), coef),
    ).astype(coef.dtype, copy=False)


def model_weights(state: LinearState, settings: Settings):
    """The coefficients the model predicts with: averaged once averaging began,
    else the current weights with their pending L1 penalty applied."""
    if settings.average and settings.average <= state.t - 1:
        return state.avg_coef, state.avg_intercept
    if settings.penalized and settings.l1_ratio > 0:
        return apply_pending_l1(state.coef, state.l1_received, state.l1_total), state.intercept
    return state.coef, state.intercept


def _run_epoch(
    X, y, sample_weight, order, settings, hyper, coef, avg_coef, l1_q, kstate, opt_state=None
):
    """One compiled epoch over rows ``order``, updating the arrays in place."""
    if settings.optim is not None:
        return _run_minibatch_epoch(
            X, y, sample_weight, order, settings, hyper, coef, opt_state, kstate
        )
    args = (
        y,
        sample_weight,
        order,
        settings.loss._code,
        settings.loss_params,
        hyper,
        coef,
        avg_coef,
        l1_q,
        kstate,
    )
    if sp.issparse(X):
        # Unsigned views (indices are checked non-negative): Numba then skips the
        # negative-index wraparound branch on every access, about 20% an epoch.
        indices, indptr = X.indices.view(np.uint32), X.indptr.view(np.uint32)
        return kernel_for(sgd_epoch_csr, settings.loss)(X.data, indices, indptr, *args)
    return kernel_for(sgd_epoch_dense, settings.loss)(X, *args)


def _run_minibatch_epoch(X, y, sample_weight, order, settings, hyper, coef, opt_state, kstate):
    """One epoch of the mini-batch kernel (any optimizer, ``_optim_rules``)."""
    args = (y, sample_weight, order, settings.loss._code, settings.loss_params, hyper)
    if sp.issparse(X):
        indices, indptr = X.indices.view(np.uint32), X.indptr.view(np.uint32)
        kernel = kernel_for(minibatch_epoch_csr, settings.loss)
        return kernel(X.data, indices, indptr, *args, coef, opt_state, kstate)
    return kernel_for(minibatch_epoch_dense, settings.loss)(X, *args, coef, opt_state, kstate)


#: What the kernels get for an array they need not read: sample weights that
#: are all 1 (kernel_weights), labels that travel in the row order (kernel_targets).
_NOT_READ = np.empty(0)


def kernel_weights(sample_weight):
    """``sample_weight`` as the epoch kernels take it: empty when every weight
    is 1, so that they read no weights.

    A shuffled epoch is bound by the cache lines it fetches (DESIGN.md), and a
    sample's weight is one more random line beside its row and target
    (measured in ``docs/user_guide/performance.rst``).
    """
    return sample_weight if (sample_weight != 1.0).any() else _NOT_READ


def kernel_targets(y, rows):
    """``(y, rows)`` as the plain SGD kernels take them (``rows`` from
    :func:`kernel_rows`).

    When every target is -1 or +1 (binary classification) and the orders are
    uint32, each row's label is set into bit 31 of its entry (``_layout.LABEL_BIT``)
    and ``y`` is empty: the kernels read the label from the order, which they
    read in sequence anyway, instead of one random cache line of ``y`` a
    sample (measured in ``docs/user_guide/performance.rst``).
    """
    if rows.dtype != np.uint32 or rows.shape[0] == 0 or rows.max() > L.ROW_BITS:
        return y, rows
    positive = y == 1.0
    if not (positive | (y == -1.0)).all():
        return y, rows
    packed = np.where(positive[rows], L.LABEL_BIT, np.uint32(0))  # no float64 y[rows]
    packed |= rows
    return _NOT_READ, packed


def kernel_rows(train_idx, n_samples):
    """``train_idx`` as the epoch kernels take their row orders: uint32, or
    int64 from 2**32 rows on.

    Half the bytes of int64: the swaps of a full shuffle of 500,000 rows then
    stay in a core's L2 cache (2 MB), the epoch streams half as much order, and
    an unsigned row index needs no negative-index branch (measured in
    ``docs/user_guide/performance.rst``).
    """
    dtype = np.uint32 if n_samples <= np.iinfo(np.uint32).max else np.int64
    return train_idx.astype(dtype, copy=False)


#: Fewest rows per thread for which a parallel epoch is worth its overhead.
MIN_ROWS_PER_THREAD = 2_000


def thread_weights(coef, avg_coef, l1_q, hyper, n_threads):
    """The ``(coef, avg_coef, l1_q)`` each of ``n_threads`` threads trains in a
    row-split epoch.

    Thread 0 trains the arrays themselves, every other thread private copies
    of those the epoch writes: ``coef`` always, ``avg_coef`` once averaging or
    L1 is on, ``l1_q`` once L1 is on (the kernels' own conditions, read from
    ``hyper``).  The rest are shared, only read.  At 100,000 features, copies
    of all three for every thread and their ``np.mean`` had cost 3.3 ms of a
    45 ms ``n_jobs=2`` epoch (``docs/user_guide/performance.rst``).
    """
    l1 = hyper[L.H_L1] * hyper[L.H_ALPHA] > 0.0
    written = (True, l1 or hyper[L.H_AVERAGE_START] > 0.0, l1)
    arrays = (coef, avg_coef, l1_q)

    def private():
        return tuple(a.copy() if w else a for a, w in zip(arrays, written, strict=True))

    return [arrays] + [private() for _ in range(n_threads - 1)]


def mix_weights(per_thread):
    """Average the threads' weights into thread 0's arrays (the originals), in
    place: the sum in thread order, then a division, as ``np.mean(axis=0)``
    computes it.  Arrays the threads shared are left as they are."""
    for k, first in enumerate(per_thread[0]):
        others = [weights[k] for weights in per_thread[1:] if weights[k] is not first]
        if others:
            for other in others:
                first += other
            first /= len(per_thread)


def thread_results(futures, while_waiting=None):
    """The futures' results, in order; ``while_waiting()`` runs as soon as the
    first is done, on the core its thread left idle while the others finish."""
    if while_waiting is not None:
        wait(futures, return_when=FIRST_COMPLETED)
        while_waiting()
    return [f.result() for f in futures]


def _run_parallel_epoch(
    pool,
    n_threads,
    X,
    y,
    sample_weight,
    order,
    settings,
    hyper,
    state,
    l1_q,
    kstate,
    while_waiting=None,
):
    """One epoch split over threads, each on its own copy of the weights.

    Thread k runs plain SGD over the k-th contiguous part of ``order`` from the
    same starting point; the copies are then averaged (parameter mixing, as in
    Zinkevich et al., 2010).  Private copies scale where a shared, lock-free
    weight vector does not (both cores would write the same cache lines every
    sample).  Every thread's step counter starts at the same ``t`` and advances
    by its share of the rows.  ``while_waiting``: see :func:`thread_results`.
    """
    parts = np.array_split(order, n_threads)
    weights = thread_weights(state.coef, state.avg_coef, l1_q, hyper, n_threads)
    kstates = [kstate.copy() for _ in parts]
    futures = [
        pool.submit(_run_epoch, X, y, sample_weight, part, settings, hyper, *w, ks)
        for part, w, ks in zip(parts, weights, kstates, strict=True)
    ]
    loss_sum = sum(thread_results(futures, while_waiting))
    mix_weights(weights)
    states = np.array(kstates)
    kstate[:] = states.mean(axis=0)
    kstate[L.S_T] = states[:, L.S_T].max()
    kstate[L.S_N_CLIPS] = states[:, L.S_N_CLIPS].sum()
    return loss_sum


#: Rows per block of ``shuffle="block"``: 64 rows of 100 float64 features are
#: 50 KiB, large enough to stream, small enough to mix well.
SHUFFLE_BLOCK = 64


def epoch_order(rng, train_idx, shuffle):
    """Rows of one epoch, in visiting order.

    ``shuffle=True`` permutes all rows (scikit-learn's behaviour); ``"block"``
    permutes blocks of ``SHUFFLE_BLOCK`` consecutive rows and keeps each block in
    order, so memory is read in long sequential runs; ``False`` keeps the order.
    Both shuffles are compiled (``_kernels.shuffle``) and seeded from ``rng``.
    """
    if not shuffle:
        return train_idx
    seed = rng.integers(np.iinfo(np.int64).max)
    order = np.empty_like(train_idx)
    if shuffle == "block":
        block_order(train_idx, SHUFFLE_BLOCK, seed, order)
    else:
        order[:] = train_idx
        shuffle_in_place(order, seed)
    return order


class EpochOrders:
    """The epochs' row orders (:func:`epoch_order`), one a :meth:`next` call.

    :meth:`prepare` computes the next epoch's order ahead of time.  A parallel
    epoch calls it when its first thread is done, so that the shuffle (about
    3 ms at 500,000 rows) runs on that idle core while the other threads
    finish, instead of between epochs while every thread waits.  The orders
    come from the same draws of ``rng`` either way.
    """

    def __init__(self, rng, train_idx, shuffle):
        self.rng, self.train_idx, self.shuffle = rng, train_idx, shuffle
        self._prepared = None

    def prepare(self):
        if self._prepared is None:
            self._prepared = epoch_order(self.rng, self.train_idx, self.shuffle)

    def next(self):
        self.prepare()
        order, self._prepared = self._prepared, None
        return order


class StoppingRule:
    """scikit-learn's stopping criterion for one model (or one one-vs-rest class).

    Each epoch's training objective (or, with early stopping, validation score)
    either improves on the best so far by ``tol`` or counts towards
    ``n_iter_no_change``; at that count the ``"adaptive"`` schedule divides its
    step size by 5 (until it falls below 1e-6) and every other schedule stops.
    Without ``tol`` every epoch counts as an improvement.
    """

    def __init__(self, settings: Settings, maximize: bool):
        self.settings = settings
        self.maximize = maximize  # a validation score (else a training objective)
        self.eta0 = settings.eta0
        self.best = -np.inf if maximize else np.inf
        self.no_improvement = 0

    def update(self, value: float) -> str:
        """Record one epoch's value; ``"go on"``, ``"decay"`` (``eta0`` was just
        divided by 5) or ``"stop"``."""
        tol = self.settings.tol
        if self.maximize:
            improved = tol is None or value >= self.best + tol
            self.best = max(self.best, value)
        else:
            improved = tol is None or value <= self.best - tol
            self.best = min(self.best, value)
        self.no_improvement = 0 if improved else self.no_improvement + 1
        if self.no_improvement < self.settings.n_iter_no_change:
            return "go on"
        if self.settings.schedule == "adaptive" and self.eta0 > 1e-6:
            self.eta0 /= 5.0
            self.no_improvement = 0
            return "decay"
        return "stop"


def check_divergence(epoch: int, settings: Settings, n_clips: float, finite: bool) -> None:
    """Raise the divergence error after an epoch with clipped derivatives under
    a step size the user chose, or with a non-finite loss or weight."""
    if n_clips and settings.schedule != "optimal":
        raise _diverged(epoch, f"a loss derivative exceeded {L.MAX_DLOSS:g}")
    if not finite:
        raise _diverged(epoch, "a coefficient, intercept or the loss is not finite")


def _all_finite(state):
    return (
        np.isfinite(state.intercept)
        and np.isfinite(state.avg_intercept)
        and np.isfinite(state.coef).all()
        and np.isfinite(state.avg_coef).all()
    )


def _diverged(epoch, what):
    return ValueError(
        f"Floating-point under-/overflow occurred at epoch #{epoch} ({what}): "
        "training diverged. Scaling input data with StandardScaler or "
        "MinMaxScaler might help; otherwise lower eta0 or use "
        "learning_rate='optimal' or 'adaptive'."
    )


def train(
    X,
    y,
    sample_weight,
    train_idx,
    settings,
    state,
    seed,
    validation_score=None,
    n_threads=1,
    epoch_callbacks=None,
):
    """Train one linear model in place for up to ``settings.max_iter`` epochs.

    Parameters
    ----------
    X : ndarray (n_samples, n_features) C-contiguous, or CSR with int32 indices
    y, sample_weight : float64 (n_samples,)
    train_idx : int64 (n_train,)
        Rows to learn from (the rest is the validation set).
    settings : Settings
    state : LinearState
        Updated in place; on an exception it is left half-trained, so callers
        pass a copy of anything they must keep.
    seed : int
        Seed of this problem's shuffling.
    validation_score : callable (coef, intercept) -> float, optional
        With it, stop when the validation score stops improving by ``tol``;
        without it, when the training objective stops decreasing by ``tol``.
    n_threads : int, default=1
        Threads for each epoch (see :func:`_run_parallel_epoch`); used only when
        every thread gets at least ``MIN_ROWS_PER_THREAD`` rows.
    epoch_callbacks : EpochCallbacks, optional
        scikit-learn callbacks to run around every epoch (see
        :mod:`fastloss.linear_model._callbacks`); a callback asking to stop ends
        training after the epoch.
    """
    n_threads = min(n_threads, train_idx.shape[0] // MIN_ROWS_PER_THREAD)
    if settings.optim is not None:
        # the mini-batch kernel runs one model serially (n_jobs still spreads
        # one-vs-rest classes over threads)
        n_threads = 1
        if state.opt_state is None:
            state.opt_state = np.zeros((_optim_rules.N_SLOTS, state.coef.shape[0] + 1))
    train_idx = kernel_rows(train_idx, X.shape[0])
    if settings.optim is None:  # the plain SGD kernels (the mini-batch one reads y)
        y, train_idx = kernel_targets(y, train_idx)
    args = (X, y, kernel_weights(sample_weight), train_idx, settings, state, seed)
    args += (validation_score, epoch_callbacks)
    if n_threads > 1:
        with epoch_threads(n_threads) as pool:
            return _train(*args, pool, n_threads)
    return _train(*args, None, 1)


@contextmanager
def epoch_threads(n_threads: int) -> Iterator[ThreadPoolExecutor]:
    """A pool of ``n_threads`` threads for the epochs, BLAS held to one thread
    meanwhile: after a BLAS call between epochs (a validation score on dense
    rows), OpenBLAS's idle threads spin on the cores the epoch threads need."""
    with ThreadPoolExecutor(n_threads) as pool, threadpool_limits(limits=1, user_api="blas"):
        yield pool


def _train(
    X,
    y,
    sample_weight,
    train_idx,
    settings,
    state,
    seed,
    validation_score,
    epoch_callbacks,
    pool,
    n_threads,
):
    orders = EpochOrders(np.random.default_rng(seed), train_idx, settings.shuffle)
    kstate = np.zeros(L.S_SIZE)
    kstate[[L.S_INTERCEPT, L.S_AVG_INTERCEPT, L.S_T, L.S_L1_U]] = (
        state.intercept,
        state.avg_intercept,
        state.t,
        state.l1_total,
    )
    # the cumulative L1 penalty carries over between partial_fit calls, so that
    # partial_fit over chunks equals one epoch of fit
    l1_q = state.l1_received
    hyper = settings.hyper(settings.eta0)
    rule = StoppingRule(settings, maximize=validation_score is not None)
    loss_computed = hyper[L.H_COMPUTE_LOSS] != 0.0
    n_train = train_idx.shape[0]
    t_start = time.perf_counter()
    epoch = 0
    for epoch in range(1, settings.max_iter + 1):
        if settings.verbose:
            print(f"-- Epoch {epoch}")
        if epoch_callbacks is not None:
            epoch_callbacks.begin()
        order = orders.next()
        if pool is not None:
            next_order = orders.prepare if epoch < settings.max_iter else None
            loss_sum = _run_parallel_epoch(
                pool, n_threads, X, y, sample_weight, order, settings, hyper, state, l1_q, kstate,
                while_waiting=next_order,
            )  # fmt: skip
        else:
            loss_sum = _run_epoch(
                X,
                y,
                sample_weight,
                order,
                settings,
                hyper,
                state.coef,
                state.avg_coef,
                l1_q,
                kstate,
                state.opt_state,
            )
        state.intercept = kstate[L.S_INTERCEPT]
        state.avg_intercept, state.t = kstate[L.S_AVG_INTERCEPT], kstate[L.S_T]
        state.l1_total = kstate[L.S_L1_U]
        finite = np.isfinite(loss_sum) and _all_finite(state)
        check_divergence(epoch, settings, kstate[L.S_N_CLIPS], finite)

        coef, intercept = model_weights(state, settings)
        avg_loss = loss_sum / n_train if loss_computed else np.nan
        objective = avg_loss + settings.penalty(coef)
        state.loss_curve.append(objective)
        report = f"Avg. loss: {avg_loss:f}, Objective: {objective:f}"
        if validation_score is not None:
            score = validation_score(coef, intercept)
            state.validation_scores.append(score)
            report += f", Validation score: {score:f}"
        action = rule.update(score if validation_score is not None else objective)
        if settings.verbose:
            print(
                f"Norm: {np.linalg.norm(coef):.2f}, NNZs: {np.count_nonzero(coef)}, "
                f"Bias: {intercept:.6f}, T: {epoch * n_train}, {report}"
            )
            print(f"Total training time: {time.perf_counter() - t_start:.2f} seconds.")
        if epoch_callbacks is not None and epoch_callbacks.end(coef, intercept):
            break
        if action == "decay":
            hyper[L.H_ETA0] = rule.eta0
        elif action == "stop":
            if settings.verbose:
                print(
                    f"Convergence after {epoch} epochs took "
                    f"{time.perf_counter() - t_start:.2f} seconds"
                )
            break
    state.n_iter = epoch
    return state
