"""Epoch runners: the models the training loop trains, one compiled epoch a call.

The loop over epochs (:func:`._training.train`) does the same for every kind of
model (shuffling, divergence checks, stopping, ``adaptive`` steps, callbacks,
verbose output, curves); what differs is how one epoch runs, and that is a
runner.  A runner holds working copies of one or more linear models (never the
arrays of the :class:`~._state.TrainingState` it starts from) and offers:

``rows``
    The training rows as the kernels take their orders (:func:`kernel_rows`);
    the loop shuffles them every epoch.
``n_models``, ``n_threads``
    Models it trains; threads one epoch can use (1: serial).
``run(order, pool, while_waiting)``
    One epoch over ``order``; returns the loss sums, float64 (n_models,).
    ``pool`` is a thread pool of ``n_threads`` threads, or None;
    ``while_waiting`` (or None) runs on the first thread to finish
    (:func:`thread_results`).
``n_clips()``, ``finite()``
    Derivatives clipped so far; whether every weight is finite.
``model(m)``
    The weights model ``m`` predicts with: ``(coef (n_features,), intercept)``.
``set_eta0(m, eta0)``, ``stop(m)``
    The ``adaptive`` schedule's new step size; freeze a model that met its
    stopping criterion.
``state()``
    A :class:`~._state.TrainingState` of the models as they are.

:class:`LinearRunner` trains one model (plain SGD, serial or split by rows over
threads; or mini-batches with any optimizer); :class:`ClassBlockRunner` trains
more than two classes from one read of each row (one-vs-rest classes in blocks,
one a thread, or a joint multiclass loss split by rows).  A new kind of epoch
(a grid of models, a variance-reduced solver, pairs for ranking) is a new
runner, not a new loop.
"""

from __future__ import annotations

import math
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._kernels import _layout as L
from .._kernels import multi_epoch as M
from .._kernels.minibatch_epoch import minibatch_epoch_csr, minibatch_epoch_dense
from .._kernels.sgd_epoch import sgd_epoch_csr, sgd_epoch_dense
from ..losses._user import kernel_for
from ._state import TrainingState, all_finite, apply_pending_l1

#: Fewest rows per thread for which a parallel epoch is worth its overhead.
MIN_ROWS_PER_THREAD = 2_000

#: What the kernels get for an array they need not read: sample weights that
#: are all 1 (kernel_weights), labels that travel in the row order (kernel_targets).
_NOT_READ = np.empty(0)


# ----------------------------------------------------------- kernel inputs
def kernel_weights(sample_weight):
    """``sample_weight`` as the epoch kernels take it: empty when every weight
    is 1, so that they read no weights.

    A shuffled epoch is bound by the cache lines it fetches
    (docs/developer/architecture.rst, "Measured facts"), and a sample's weight
    is one more random line beside its row and target (measured in
    ``docs/user_guide/performance.rst``).
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
    packed = positive[rows].astype(np.uint32)  # no float64 y[rows]
    packed <<= 31  # LABEL_BIT; 3x faster than np.where(..., LABEL_BIT, 0)
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


def csr_arrays(X):
    """``(data, indices, indptr)`` of CSR ``X`` as the kernels take them.

    Unsigned views (indices are checked non-negative): Numba then skips the
    negative-index wraparound branch on every access, about 20% an epoch.
    """
    return X.data, X.indices.view(np.uint32), X.indptr.view(np.uint32)


# --------------------------------------------------- one compiled epoch each
def run_linear_epoch(X, y, sample_weight, order, settings, hyper, coef, avg_coef, l1_q, kstate,
                     opt_state=None):  # fmt: skip
    """One compiled epoch of one model over rows ``order``, updating the arrays
    in place: plain SGD (``sgd_epoch``), or the mini-batch kernel for any other
    optimizer (``minibatch_epoch``, which reads ``opt_state``).  Returns the
    loss sum."""
    loss = settings.loss
    head = (y, sample_weight, order, loss._code, settings.loss_params, hyper)
    if settings.optim is not None:
        kernels, tail = (minibatch_epoch_dense, minibatch_epoch_csr), (coef, opt_state, kstate)
    else:
        kernels, tail = (sgd_epoch_dense, sgd_epoch_csr), (coef, avg_coef, l1_q, kstate)
    if sp.issparse(X):
        return kernel_for(kernels[1], loss)(*csr_arrays(X), *head, *tail)
    return kernel_for(kernels[0], loss)(X, *head, *tail)


def run_block_epoch(X, labels, sample_weight, class_weight, order, mode, settings, hyper, block):
    """One compiled epoch of a block of classes (``multi_epoch``); returns its
    per-class loss sums."""
    loss_sums = np.zeros(block.n_classes)
    args = (
        labels,
        sample_weight,
        class_weight[block.offset : block.offset + block.n_classes],
        block.offset,
        order,
        mode,
        settings.loss._code,
        settings.loss_params,
        hyper,
        block.coef,
        block.avg_coef,
        block.l1_received,
        block.cstate,
        loss_sums,
    )
    if sp.issparse(X):
        kernel_for(M.multi_epoch_csr, settings.loss)(*csr_arrays(X), *args)
    else:
        kernel_for(M.multi_epoch_dense, settings.loss)(X, *args)
    return loss_sums


# ------------------------------------------------------ epochs over threads
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


def row_split_epoch(pool, n_threads, order, weights, small, slots, hyper, run_part, while_waiting):
    """One epoch split by rows over threads, each on its own copy of the weights.

    Thread k runs SGD over the k-th contiguous part of ``order`` from the same
    starting point; the copies are then averaged (parameter mixing, as in
    Zinkevich et al., 2010).  Private copies scale where a shared, lock-free
    weight vector does not (both cores would write the same cache lines every
    sample).  Every thread's step counter starts at the same ``t`` and advances
    by its share of the rows.

    Parameters
    ----------
    weights : (coef, avg_coef, l1_q)
        Updated in place to the threads' mean (:func:`thread_weights`).
    small : float64 ndarray
        The kernels' per-model state (intercepts, step, L1 total, clips), its
        first axis the slots; updated in place: intercepts and L1 total
        averaged, the step the largest, the clips summed.
    slots : (intercept, avg_intercept, t, l1_total, n_clips)
        Their indices in ``small``.
    run_part : callable (part, weights, small) -> result
        One thread's compiled epoch.

    Returns
    -------
    list
        Each thread's result, in order.
    """
    parts = np.array_split(order, n_threads)
    per_thread = thread_weights(*weights, hyper, n_threads)
    smalls = [small.copy() for _ in parts]
    futures = [
        pool.submit(run_part, part, own, state)
        for part, own, state in zip(parts, per_thread, smalls, strict=True)
    ]
    results = thread_results(futures, while_waiting)
    mix_weights(per_thread)
    smalls = np.array(smalls)
    intercept, avg_intercept, t, l1_total, n_clips = slots
    means = smalls.mean(axis=0)
    for slot in (intercept, avg_intercept, l1_total):
        small[slot] = means[slot]
    small[t] = smalls[:, t].max(axis=0)
    small[n_clips] = smalls[:, n_clips].sum(axis=0)
    return results


_KSTATE_SLOTS = (L.S_INTERCEPT, L.S_AVG_INTERCEPT, L.S_T, L.S_L1_U, L.S_N_CLIPS)
_CSTATE_SLOTS = (L.C_INTERCEPT, L.C_AVG_INTERCEPT, L.C_T, L.C_L1_U, L.C_N_CLIPS)


def model_weights(coef, intercept, avg_coef, avg_intercept, l1_q, l1_total, t, settings):
    """The coefficients a model predicts with: averaged once averaging began,
    else the current weights with their pending L1 penalty applied."""
    if settings.average and settings.average <= t - 1:
        return avg_coef, avg_intercept
    if settings.penalized and settings.l1_ratio > 0:
        return apply_pending_l1(coef, l1_q, l1_total), intercept
    return coef, intercept


# ------------------------------------------------------------------ runners
class OneModelRunner:
    """The single-model half of the runner interface, shared by the runners
    that train one weight vector from ``coef``, ``avg_coef``, ``l1_q``, the
    kernel state ``kstate``, ``hyper``, ``opt_state`` and ``settings``
    (``LinearRunner``; ``_ranker.PairRunner``)."""

    def n_clips(self):
        return self.kstate[L.S_N_CLIPS]

    def model(self, m=0):
        k = self.kstate
        return model_weights(
            self.coef, k[L.S_INTERCEPT], self.avg_coef, k[L.S_AVG_INTERCEPT], self.l1_q,
            k[L.S_L1_U], k[L.S_T], self.settings,
        )  # fmt: skip

    def set_eta0(self, m, eta0):
        self.hyper[L.H_ETA0] = eta0

    def stop(self, m):
        pass  # the loop ends with its only model

    def state(self):
        k = self.kstate
        dtype = self.coef.dtype
        return TrainingState(
            coef=self.coef[None],
            avg_coef=self.avg_coef[None],
            l1_received=self.l1_q[None],
            intercept=np.array([k[L.S_INTERCEPT]], dtype),
            avg_intercept=np.array([k[L.S_AVG_INTERCEPT]], dtype),
            l1_total=np.array([k[L.S_L1_U]]),
            t=float(k[L.S_T]),
            opt_state=None if self.opt_state is None else self.opt_state[None],
            opt_code=None if self.opt_state is None else self.settings.optim.optimizer._code,
        )


class LinearRunner(OneModelRunner):
    """One linear model: a binary classification, one class of one-vs-rest
    trained as its own problem, or a regression.

    Plain SGD (``settings.optim`` None) splits each epoch's rows over
    ``n_threads`` threads when each gets ``MIN_ROWS_PER_THREAD`` rows
    (:func:`row_split_epoch`); the mini-batch kernel runs serially.

    Parameters
    ----------
    X : ndarray (n_samples, n_features) C-contiguous, or CSR with int32 indices
    y, sample_weight : float64 (n_samples,)
        Targets in the loss's encoding, weights with class weights folded in.
    train_idx : int64 (n_train,)
        Rows to learn from.
    settings : Settings
    start : TrainingState
        Where to start from (row ``m``); not modified.
    m : int
    n_threads : int
    """

    n_models = 1

    def __init__(self, X, y, sample_weight, train_idx, settings, start, m, n_threads=1):
        self.X, self.settings = X, settings
        minibatch = settings.optim is not None
        rows = kernel_rows(train_idx, X.shape[0])
        if not minibatch:  # the plain SGD kernels read labels from the order
            y, rows = kernel_targets(y, rows)
        self.y, self.rows, self.sample_weight = y, rows, kernel_weights(sample_weight)
        # the mini-batch kernel runs one model serially (n_jobs still spreads
        # one-vs-rest classes over threads)
        fitting = max(1, min(n_threads, len(rows) // MIN_ROWS_PER_THREAD))
        self.n_threads = 1 if minibatch else fitting
        self.hyper = settings.hyper(settings.eta0)
        self.coef = start.coef[m].copy()
        self.avg_coef = start.avg_coef[m].copy()
        # the cumulative L1 penalty carries over between partial_fit calls, so
        # that partial_fit over chunks equals one epoch of fit
        self.l1_q = start.l1_received[m].copy()
        self.kstate = np.zeros(L.S_SIZE)
        self.kstate[[L.S_INTERCEPT, L.S_AVG_INTERCEPT, L.S_T, L.S_L1_U]] = (
            start.intercept[m],
            start.avg_intercept[m],
            start.t,
            start.l1_total[m],
        )
        self.opt_state = None
        if minibatch:
            n_slots = (L.N_SLOTS, X.shape[1] + 1)
            saved = start.opt_state
            self.opt_state = np.zeros(n_slots) if saved is None else saved[m].copy()

    def run(self, order, pool=None, while_waiting=None):
        weights = (self.coef, self.avg_coef, self.l1_q)
        data = (self.X, self.y, self.sample_weight)
        if pool is None:
            loss = run_linear_epoch(
                *data, order, self.settings, self.hyper, *weights, self.kstate, self.opt_state
            )
            return np.array([loss])

        def run_part(part, w, small):
            return run_linear_epoch(*data, part, self.settings, self.hyper, *w, small)

        results = row_split_epoch(
            pool, self.n_threads, order, weights, self.kstate, _KSTATE_SLOTS, self.hyper,
            run_part, while_waiting,
        )  # fmt: skip
        return np.array([sum(results)])

    def finite(self):
        k = self.kstate
        return (
            math.isfinite(k[L.S_INTERCEPT])
            and math.isfinite(k[L.S_AVG_INTERCEPT])
            and all_finite(self.coef)
            and all_finite(self.avg_coef)
        )


@dataclass
class ClassBlock:
    """Working state of a block of classes.

    ``coef``, ``avg_coef`` and ``l1_received`` are (n_block, n_features) when
    ``class_major`` (for dense data), else (n_features, n_block) (for CSR data),
    as ``_kernels.multi_epoch`` expects.
    """

    coef: np.ndarray
    avg_coef: np.ndarray
    l1_received: np.ndarray
    cstate: np.ndarray  # float64 (C_SIZE, n_block), rows ``_layout.C_*``
    offset: int  # index of the block's first class
    class_major: bool

    @property
    def n_classes(self) -> int:
        return self.cstate.shape[1]

    def weights(self, name: str, k: int) -> np.ndarray:
        """Class ``k``'s row (n_features,) of array ``name`` (a view)."""
        array = getattr(self, name)
        return array[k] if self.class_major else array[:, k]


def class_blocks(start: TrainingState, eta0, n_blocks, class_major) -> list[ClassBlock]:
    """``start``'s models split into ``n_blocks`` contiguous blocks of classes (copies)."""
    blocks = []
    for part in np.array_split(np.arange(start.n_models), n_blocks):
        cstate = np.zeros((L.C_SIZE, len(part)))
        cstate[L.C_INTERCEPT] = start.intercept[part]
        cstate[L.C_AVG_INTERCEPT] = start.avg_intercept[part]
        cstate[L.C_T] = start.t
        cstate[L.C_L1_U] = start.l1_total[part]
        cstate[L.C_ETA0] = eta0
        cstate[L.C_ACTIVE] = 1.0

        def layout(array, part=part):
            rows = array[part]
            return rows if class_major else np.ascontiguousarray(rows.T)

        blocks.append(
            ClassBlock(
                coef=layout(start.coef),
                avg_coef=layout(start.avg_coef),
                l1_received=layout(start.l1_received),
                cstate=cstate,
                offset=int(part[0]),
                class_major=class_major,
            )
        )
    return blocks


class ClassBlockRunner:
    """More than two classes trained from one read of each row an epoch
    (``_kernels.multi_epoch``).

    One-vs-rest with more than two classes, and the joint multiclass losses
    (:class:`~fastloss.losses.Multinomial`, :class:`~fastloss.losses.MulticlassHinge`).
    All classes visit the rows in one shuffled order (scikit-learn shuffles
    each one-vs-rest class with its own seed): statistically the same
    algorithm, one read of each row instead of one per class.  With
    ``n_threads > 1`` one-vs-rest classes are split into blocks, one a thread,
    each block reading every row once; every class's arithmetic is unchanged,
    so the result does not depend on the number of threads.  The joint losses
    couple the classes, so their epochs are split by rows instead
    (:func:`row_split_epoch`): reproducible for a given number of threads, but
    not equal to the one-thread result.

    Parameters
    ----------
    X : ndarray (n_samples, n_features) C-contiguous, or CSR with int32 indices
    labels : int64 (n_samples,)
        Class index of each row.
    sample_weight : float64 (n_samples,)
    class_weight : float64 (n_classes,)
    train_idx : int64 (n_train,)
    settings : Settings
    mode : int
        ``OVR`` (``settings.loss`` per class), ``MULTINOMIAL`` or ``CRAMMER_SINGER``.
    start : TrainingState
        One model a class; not modified.
    n_threads : int
    """

    def __init__(self, X, labels, sample_weight, class_weight, train_idx, settings, mode, start,
                 n_threads=1):  # fmt: skip
        self.settings, self.mode = settings, mode
        self.n_models = start.n_models
        if mode == L.OVR:
            self.n_threads = max(1, min(n_threads, self.n_models))
            n_blocks = self.n_threads
        else:
            self.n_threads = max(1, min(n_threads, train_idx.shape[0] // MIN_ROWS_PER_THREAD))
            n_blocks = 1
        self.blocks = class_blocks(start, settings.eta0, n_blocks, not sp.issparse(X))
        self.where = [(b, k) for b in self.blocks for k in range(b.n_classes)]
        self.data = (X, labels, kernel_weights(sample_weight), class_weight)
        self.rows = kernel_rows(train_idx, X.shape[0])
        self.hyper = settings.hyper(settings.eta0)

    def run(self, order, pool=None, while_waiting=None):
        args = (order, self.mode, self.settings, self.hyper)
        if pool is not None and self.mode != L.OVR:
            block = self.blocks[0]

            def run_part(part, weights, cstate):
                copy = ClassBlock(*weights, cstate, block.offset, block.class_major)
                return run_block_epoch(*self.data, part, *args[1:], copy)

            weights = (block.coef, block.avg_coef, block.l1_received)
            results = row_split_epoch(
                pool, self.n_threads, order, weights, block.cstate, _CSTATE_SLOTS, self.hyper,
                run_part, while_waiting,
            )  # fmt: skip
            return np.sum(results, axis=0)
        if pool is not None:
            futures = [pool.submit(run_block_epoch, *self.data, *args, b) for b in self.blocks]
            return np.concatenate(thread_results(futures, while_waiting))
        return np.concatenate([run_block_epoch(*self.data, *args, b) for b in self.blocks])

    def n_clips(self):
        return sum(b.cstate[L.C_N_CLIPS].sum() for b in self.blocks)

    def finite(self):
        return all(
            np.isfinite(b.cstate[[L.C_INTERCEPT, L.C_AVG_INTERCEPT]]).all()
            and np.isfinite(b.coef).all()
            and np.isfinite(b.avg_coef).all()
            for b in self.blocks
        )

    def model(self, m):
        b, k = self.where[m]
        c = b.cstate
        return model_weights(
            b.weights("coef", k), c[L.C_INTERCEPT, k], b.weights("avg_coef", k),
            c[L.C_AVG_INTERCEPT, k], b.weights("l1_received", k), c[L.C_L1_U, k], c[L.C_T, k],
            self.settings,
        )  # fmt: skip

    def set_eta0(self, m, eta0):
        b, k = self.where[m]
        b.cstate[L.C_ETA0, k] = eta0

    def stop(self, m):
        b, k = self.where[m]
        b.cstate[L.C_ACTIVE, k] = 0.0

    def state(self):
        def stacked(name):
            return np.array([b.weights(name, k) for b, k in self.where])

        def row(r):
            return np.concatenate([b.cstate[r] for b in self.blocks])

        dtype = self.blocks[0].coef.dtype
        return TrainingState(
            coef=stacked("coef"),
            avg_coef=stacked("avg_coef"),
            l1_received=stacked("l1_received"),
            intercept=row(L.C_INTERCEPT).astype(dtype),
            avg_intercept=row(L.C_AVG_INTERCEPT).astype(dtype),
            l1_total=row(L.C_L1_U),
            t=float(row(L.C_T).max()),
        )
