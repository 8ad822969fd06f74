"""The epoch loop for many classes trained from one read of each row.

One-vs-rest with more than two classes, and the joint multiclass losses
(:class:`~fastloss.losses.Multinomial`, :class:`~fastloss.losses.MulticlassHinge`),
train all classes in one compiled epoch (``_kernels.multi_epoch``).  This loop
mirrors :func:`._training.train` (shuffling, divergence checks, stopping,
``adaptive`` steps, verbose output) with one difference that one-vs-rest
needs: every class keeps its own stopping criterion and stops on its own, as it
would trained alone; a stopped class is frozen while the others go on.  A joint
loss has one criterion for all classes.

All classes visit the rows in one shuffled order (scikit-learn shuffles each
one-vs-rest class with its own seed): statistically the same algorithm, one
read of each row instead of one per class.  With ``n_threads > 1`` one-vs-rest
classes are split into blocks, one a thread, each block reading every row
once; every class's arithmetic is unchanged, so the result does not depend on
the number of threads.  The joint losses couple the classes, so their epochs
are split by rows instead, each thread on a private copy of the weights,
averaged after the epoch (as ``_training._run_parallel_epoch`` does for one
model): reproducible for a given number of threads, but not equal to the
one-thread result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._kernels import _layout as L
from .._kernels import multi_epoch as M
from .._kernels._specialise import kernel_for
from ..losses._vector import OVR
from ._training import (
    MIN_ROWS_PER_THREAD,
    EpochOrders,
    LinearState,
    Settings,
    StoppingRule,
    apply_pending_l1,
    check_divergence,
    epoch_threads,
    kernel_rows,
    kernel_weights,
    mix_weights,
    thread_results,
    thread_weights,
)


@dataclass
class ClassBlock:
    """Trainable state of a block of classes.

    ``coef``, ``avg_coef`` and ``l1_received`` are (n_block, n_features) when
    ``class_major`` (for dense data), else (n_features, n_block) (for CSR data),
    as ``_kernels.multi_epoch`` expects.
    """

    coef: np.ndarray
    avg_coef: np.ndarray
    l1_received: np.ndarray
    cstate: np.ndarray  # float64 (C_SIZE, n_block), rows multi_epoch.C_*
    offset: int  # index of the block's first class
    class_major: bool

    @property
    def n_classes(self) -> int:
        return self.cstate.shape[1]

    def weights(self, name: str, k: int) -> np.ndarray:
        """Class ``k``'s row (n_features,) of array ``name`` (a view)."""
        array = getattr(self, name)
        return array[k] if self.class_major else array[:, k]


def blocks_from_states(
    states: list[LinearState], eta0: float, n_blocks: int, class_major: bool
) -> list[ClassBlock]:
    """Split per-class states into ``n_blocks`` contiguous blocks of classes (copies)."""
    axis = 0 if class_major else 1
    blocks = []
    for part in np.array_split(np.arange(len(states)), n_blocks):
        chosen = [states[k] for k in part]
        cstate = np.zeros((M.C_SIZE, len(chosen)))
        cstate[M.C_INTERCEPT] = [s.intercept for s in chosen]
        cstate[M.C_AVG_INTERCEPT] = [s.avg_intercept for s in chosen]
        cstate[M.C_T] = [s.t for s in chosen]
        cstate[M.C_L1_U] = [s.l1_total for s in chosen]
        cstate[M.C_ETA0] = eta0
        cstate[M.C_ACTIVE] = 1.0
        blocks.append(
            ClassBlock(
                coef=np.stack([s.coef for s in chosen], axis=axis),
                avg_coef=np.stack([s.avg_coef for s in chosen], axis=axis),
                l1_received=np.stack([s.l1_received for s in chosen], axis=axis),
                cstate=cstate,
                offset=int(part[0]),
                class_major=class_major,
            )
        )
    return blocks


def states_from_blocks(
    blocks: list[ClassBlock], n_iter: np.ndarray, curves: list, scores: list
) -> list[LinearState]:
    """Per-class :class:`LinearState` copies of trained blocks, with each class's
    per-epoch ``curves`` and validation ``scores`` (one list a class)."""
    states = []
    for block in blocks:
        c = block.cstate
        for k in range(block.n_classes):
            states.append(
                LinearState(
                    coef=block.weights("coef", k).copy(),
                    avg_coef=block.weights("avg_coef", k).copy(),
                    l1_received=block.weights("l1_received", k).copy(),
                    intercept=float(c[M.C_INTERCEPT, k]),
                    avg_intercept=float(c[M.C_AVG_INTERCEPT, k]),
                    t=float(c[M.C_T, k]),
                    l1_total=float(c[M.C_L1_U, k]),
                    n_iter=int(n_iter[block.offset + k]),
                    loss_curve=curves[block.offset + k],
                    validation_scores=scores[block.offset + k],
                )
            )
    return states


def class_model(block: ClassBlock, k: int, settings: Settings):
    """Coefficients (n_features,) and intercept class ``k`` of ``block`` predicts
    with (as ``_training.model_weights``)."""
    c = block.cstate
    if settings.average and settings.average <= c[M.C_T, k] - 1:
        return block.weights("avg_coef", k), c[M.C_AVG_INTERCEPT, k]
    coef = block.weights("coef", k)
    if settings.penalized and settings.l1_ratio > 0:
        coef = apply_pending_l1(coef, block.weights("l1_received", k), c[M.C_L1_U, k])
    return coef, c[M.C_INTERCEPT, k]


def _run_block(X, labels, sample_weight, class_weight, order, mode, settings, hyper, block):
    """One compiled epoch of one block; returns its per-class loss sums."""
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
        indices, indptr = X.indices.view(np.uint32), X.indptr.view(np.uint32)
        kernel_for(M.multi_epoch_csr, settings.loss)(X.data, indices, indptr, *args)
    else:
        kernel_for(M.multi_epoch_dense, settings.loss)(X, *args)
    return loss_sums


def _run_mixed(pool, n_threads, run_args, order, mode, settings, hyper, block, while_waiting):
    """One epoch of ``block`` split by rows over threads, each on its own copy
    of the weights (:func:`._training.thread_weights`), then averaged
    (parameter mixing); returns the loss sums.  ``while_waiting``: see
    :func:`._training.thread_results`."""
    parts = np.array_split(order, n_threads)
    weights = thread_weights(block.coef, block.avg_coef, block.l1_received, hyper, n_threads)
    copies = [ClassBlock(*w, block.cstate.copy(), block.offset, block.class_major) for w in weights]
    futures = [
        pool.submit(_run_block, *run_args, part, mode, settings, hyper, copy)
        for part, copy in zip(parts, copies, strict=True)
    ]
    loss_sums = np.sum(thread_results(futures, while_waiting), axis=0)
    mix_weights(weights)
    cstates = np.array([c.cstate for c in copies])
    for row in (M.C_INTERCEPT, M.C_AVG_INTERCEPT, M.C_L1_U):
        block.cstate[row] = cstates[:, row].mean(axis=0)
    block.cstate[M.C_T] = cstates[:, M.C_T].max(axis=0)
    block.cstate[M.C_N_CLIPS] = cstates[:, M.C_N_CLIPS].sum(axis=0)
    return loss_sums


def _finite(block):
    c = block.cstate
    return (
        np.isfinite(c[[M.C_INTERCEPT, M.C_AVG_INTERCEPT]]).all()
        and np.isfinite(block.coef).all()
        and np.isfinite(block.avg_coef).all()
    )


def train_multi(
    X,
    labels,
    sample_weight,
    class_weight,
    train_idx,
    settings: Settings,
    mode: int,
    states: list[LinearState],
    seed: int,
    validation_scores=None,
    n_threads: int = 1,
    callbacks=None,
) -> list[LinearState]:
    """Train every class for up to ``settings.max_iter`` epochs.

    Parameters
    ----------
    X : ndarray (n_samples, n_features) C-contiguous, or CSR with int32 indices
    labels : int64 (n_samples,)
        Class index of each row.
    sample_weight : float64 (n_samples,)
    class_weight : float64 (n_classes,)
    train_idx : int64 (n_train,)
        Rows to learn from (the rest is the validation set).
    settings : Settings
    mode : int
        ``OVR`` (``settings.loss`` per class), ``MULTINOMIAL`` or ``CRAMMER_SINGER``.
    states : list of LinearState, one a class
        Where to start from; not modified.
    seed : int
        Seed of the shuffling, shared by all classes.
    validation_scores : callable, optional
        Early stopping.  One-vs-rest: ``validation_scores(k, coef, intercept)``
        scores class k; joint: ``validation_scores(None, coefs, intercepts)``
        scores the whole model (coefs (n_classes, n_features)).
    n_threads : int, default=1
        Threads: one-vs-rest blocks of classes (results do not depend on it), or
        parts of the rows of a joint loss's epochs (used only when every thread
        gets at least ``MIN_ROWS_PER_THREAD`` rows).
    callbacks : list of EpochCallbacks, optional
        One a stopping criterion (a class of one-vs-rest, the whole joint
        model), run around each of its epochs; one-vs-rest callbacks get the
        class's weights, a joint model's the (n_classes, n_features) matrix.

    Returns
    -------
    list of LinearState
        The trained classes, ``n_iter`` set to the epochs each trained.
    """
    if mode == OVR:
        n_threads = max(1, min(n_threads, len(states)))
        n_blocks = n_threads
    else:
        n_threads = max(1, min(n_threads, train_idx.shape[0] // MIN_ROWS_PER_THREAD))
        n_blocks = 1
    blocks = blocks_from_states(states, settings.eta0, n_blocks, not sp.issparse(X))
    sample_weight = kernel_weights(sample_weight)
    train_idx = kernel_rows(train_idx, X.shape[0])
    args = (X, labels, sample_weight, class_weight, train_idx, settings, mode, blocks, seed)
    if n_threads > 1:
        with epoch_threads(n_threads) as pool:
            return _train_blocks(*args, validation_scores, callbacks, pool, n_threads)
    return _train_blocks(*args, validation_scores, callbacks, None, 1)


def _criteria(blocks, mode):
    """Groups of (block, column) that share a stopping criterion."""
    columns = [(b, k) for b in blocks for k in range(b.n_classes)]
    return [[c] for c in columns] if mode == OVR else [columns]


def _train_blocks(
    X, labels, sample_weight, class_weight, train_idx, settings, mode, blocks, seed,
    validation_scores, callbacks, pool, n_threads,
):  # fmt: skip
    orders = EpochOrders(np.random.default_rng(seed), train_idx, settings.shuffle)
    n_classes = sum(b.n_classes for b in blocks)
    hyper = settings.hyper(settings.eta0)
    loss_computed = hyper[L.H_COMPUTE_LOSS] != 0.0
    criteria = _criteria(blocks, mode)
    rules = [StoppingRule(settings, maximize=validation_scores is not None) for _ in criteria]
    # per criterion and epoch: training objective (NaN when the loss is not
    # computed) and validation score
    curves = [[] for _ in criteria]
    scores = [[] for _ in criteria]
    n_iter = np.zeros(n_classes, dtype=np.int64)
    n_train = train_idx.shape[0]
    t_start = time.perf_counter()
    run_args = (X, labels, sample_weight, class_weight)

    for epoch in range(1, settings.max_iter + 1):
        if settings.verbose:
            print(f"-- Epoch {epoch}")
        order = orders.next()
        next_order = orders.prepare if epoch < settings.max_iter else None
        active = [bool(b.cstate[M.C_ACTIVE, k]) for b in blocks for k in range(b.n_classes)]
        if callbacks is not None:
            for c, columns in enumerate(criteria):
                b0, k0 = columns[0]
                if b0.cstate[M.C_ACTIVE, k0] != 0.0:
                    callbacks[c].begin()
        if pool is not None and mode != OVR:
            loss_sums = _run_mixed(
                pool, n_threads, run_args, order, mode, settings, hyper, blocks[0], next_order
            )
        elif pool is not None:
            futures = [
                pool.submit(_run_block, *run_args, order, mode, settings, hyper, b) for b in blocks
            ]
            loss_sums = np.concatenate(thread_results(futures, next_order))
        else:
            loss_sums = np.concatenate(
                [_run_block(*run_args, order, mode, settings, hyper, b) for b in blocks]
            )
        n_iter[np.array(active)] = epoch
        n_clips = sum(b.cstate[M.C_N_CLIPS].sum() for b in blocks)
        finite = np.isfinite(loss_sums).all() and all(_finite(b) for b in blocks)
        check_divergence(epoch, settings, n_clips, finite)

        for c, columns in enumerate(criteria):
            b0, k0 = columns[0]
            if b0.cstate[M.C_ACTIVE, k0] == 0.0:
                continue
            models = [class_model(b, k, settings) for b, k in columns]
            loss = sum(loss_sums[b.offset + k] for b, k in columns) if loss_computed else np.nan
            objective = loss / n_train + sum(settings.penalty(m[0]) for m in models)
            curves[c].append(objective)
            if validation_scores is not None:
                if mode == OVR:
                    score = validation_scores(b0.offset + k0, *models[0])
                else:
                    score = validation_scores(
                        None, np.array([m[0] for m in models]), np.array([m[1] for m in models])
                    )
                scores[c].append(score)
            action = rules[c].update(score if validation_scores is not None else objective)
            if callbacks is not None and _end_epoch(callbacks[c], mode, models):
                action = "stop"
            for b, k in columns:
                if action == "decay":
                    b.cstate[M.C_ETA0, k] = rules[c].eta0
                elif action == "stop":
                    b.cstate[M.C_ACTIVE, k] = 0.0
        if settings.verbose:
            print(
                f"Classes still training: {sum(int(b.cstate[M.C_ACTIVE].sum()) for b in blocks)}, "
                f"T: {epoch * n_train}, Avg. loss: {loss_sums.sum() / n_train:f}"
            )
            print(f"Total training time: {time.perf_counter() - t_start:.2f} seconds.")
        if not any(b.cstate[M.C_ACTIVE].any() for b in blocks):
            if settings.verbose:
                print(
                    f"Convergence after {epoch} epochs took "
                    f"{time.perf_counter() - t_start:.2f} seconds"
                )
            break
    if mode != OVR:  # one criterion: every class shares its curve
        curves, scores = curves * n_classes, scores * n_classes
    return states_from_blocks(blocks, n_iter, curves, scores)


def _end_epoch(callbacks, mode, models):
    """Close one criterion's epoch task; ``True`` when a callback asks to stop."""
    if mode == OVR:
        return callbacks.end(*models[0])
    return callbacks.end(np.array([m[0] for m in models]), np.array([m[1] for m in models]))
