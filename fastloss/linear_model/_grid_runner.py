"""The epoch runner of a search grid: (candidate x fold) models from one read of each row.

:class:`GridRunner` is an epoch runner (:mod:`._runners`) for the training loop
(:func:`._training.train`): every model of a group of search candidates that
differ only in settings the compiled grid epoch takes per model (penalty,
``alpha``, ``l1_ratio``, ``eta0``, ``power_t``, a built-in loss and its
parameters), for every cross-validation fold (and every class of a
one-vs-rest problem), trains in one pass over the rows
(``_kernels.grid_epoch``).  Each model keeps its own step counter, stopping
criterion and objective (its fold's training rows, its penalty: the loop's
optional ``objective`` hook); a stopped model is frozen and skipped.

With ``n_threads > 1`` the models are dealt round-robin into blocks, one a
thread (on wide CSR rows, cache-sized blocks of one fold: below), each block
reading every row once an epoch (as ``_runners.ClassBlockRunner`` splits
one-vs-rest classes): every model's arithmetic is the same whatever the
number of threads, so results do not depend on ``n_jobs``.  Round-robin, so
that each block holds a mix of the grid's settings and the blocks stay about
as busy as models stop.

On CSR rows there may be more blocks than threads (:data:`CSR_BLOCK_BYTES`):
a row's stored values touch one weight per feature and model, at random
features, so the grid's weights must stay in cache or every value costs a
trip to memory.  Measured on 50,000 CSR rows, 50 values a row, 120 models
(6 alphas x 4 losses x 5 folds), 5 epochs, against ``GridSearchCV`` over
``SGDClassifier``: one block was 3.4x faster at 2,000 features (1.9 MB of
weights) but 1.2x at 20,000 and 0.93x at 100,000 (96 MB); blocks of at most
4 MB read each row once a block and are 1.7x faster than one block there.
Such blocks each hold one fold's models, so that a block skips the rows none
of them trains on (the kernel's fold mask): with blocks of mixed folds every
block scored its models on every row, a fifth more work than separate fits
with 5 folds.  One fold a block took the 100,000-feature grid from 1.3x to
1.6x (20,000 features: 2.8x to 3.0x), and its whole default search from 144 s
to 124 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._kernels import _layout as L
from .._kernels.grid_epoch import grid_epoch_csr, grid_epoch_dense
from ..losses._user import kernel_for
from ._runners import csr_arrays, kernel_rows, kernel_weights, thread_results
from ._state import TrainingState, apply_pending_l1

#: Most bytes of weights a block of models holds on CSR rows (module docstring).
CSR_BLOCK_BYTES = 4 << 20


@dataclass
class GridModels:
    """What distinguishes the models of one grid, one row (or entry) a model.

    Attributes
    ----------
    hyper : float64 (n_models, H_SIZE)
        Each model's plain-SGD ``hyper`` (``Settings.hyper``).
    loss_code : int64 (n_models,)
    loss_params : float64 (n_models, n_params), zero-padded
    fold : int64 (n_models,)
        The fold whose training rows the model learns from.
    positive_class : int64 (n_models,)
        One-vs-rest: index of its class in the targets; -1: targets as given.
    pos_weight, neg_weight : float64 (n_models,)
        Class weights of its positive and other rows.
    n_train : int64 (n_models,)
        Training rows of its fold (its objective's denominator).
    intercept : float64 (n_models,)
        Its starting intercept (a regression loss may start at its best constant).
    """

    hyper: np.ndarray
    loss_code: np.ndarray
    loss_params: np.ndarray
    fold: np.ndarray
    positive_class: np.ndarray
    pos_weight: np.ndarray
    neg_weight: np.ndarray
    n_train: np.ndarray
    intercept: np.ndarray

    @property
    def n_models(self) -> int:
        return self.hyper.shape[0]


@dataclass
class _Block:
    """Working arrays of one thread's models (``coef`` (n_block, n_features) on
    dense rows, (n_features, n_block) on CSR rows, as ``grid_epoch`` takes them)."""

    models: np.ndarray  # int64: the grid's indices of this block's models
    hyper: np.ndarray
    loss_params: np.ndarray
    coef: np.ndarray
    avg_coef: np.ndarray
    l1_q: np.ndarray
    gstate: np.ndarray
    active: np.ndarray  # int64: indices (in the block) of the models still training
    model_major: bool

    def weights(self, array, k):
        return array[k] if self.model_major else array[:, k]

    def take(self, own):
        """A block of this block's models at positions ``own`` (copies)."""

        def part(array):
            if array.size == 0:
                return array
            return np.ascontiguousarray(array[own] if self.model_major else array[:, own])

        gstate = np.ascontiguousarray(self.gstate[:, own])
        return _Block(
            models=self.models[own],
            hyper=np.ascontiguousarray(self.hyper[own]),
            loss_params=np.ascontiguousarray(self.loss_params[own]),
            coef=part(self.coef),
            avg_coef=part(self.avg_coef),
            l1_q=part(self.l1_q),
            gstate=gstate,
            active=np.flatnonzero(gstate[L.C_ACTIVE] != 0.0).astype(np.int64),
            model_major=self.model_major,
        )

    @staticmethod
    def joined(blocks):
        """One block of every model of ``blocks`` (copies)."""
        first = blocks[0]
        axis = 0 if first.model_major else 1

        def stacked(name, axis):
            arrays = [getattr(b, name) for b in blocks]
            return arrays[0] if arrays[0].size == 0 else np.concatenate(arrays, axis=axis)

        gstate = stacked("gstate", 1)
        return _Block(
            models=np.concatenate([b.models for b in blocks]),
            hyper=stacked("hyper", 0),
            loss_params=stacked("loss_params", 0),
            coef=stacked("coef", axis),
            avg_coef=stacked("avg_coef", axis),
            l1_q=stacked("l1_q", axis),
            gstate=gstate,
            active=np.flatnonzero(gstate[L.C_ACTIVE] != 0.0).astype(np.int64),
            model_major=first.model_major,
        )


class GridRunner:
    """The (candidate x fold [x class]) models of one group, trained from one
    read of each row an epoch.

    Parameters
    ----------
    X : ndarray (n_samples, n_features) C-contiguous, or CSR with int32 indices
    y : float64 (n_samples,)
        Targets in the loss's encoding (±1, real), or class indices for
        one-vs-rest models.
    sample_weight : float64 (n_samples,) or None (every weight 1)
    row_folds : int64 (n_samples,)
        Bit ``f`` set: the row trains fold ``f``'s models.
    settings : Settings
        The group's shared settings (schedule, averaging, stopping, shuffle).
    models : GridModels
    loss : Loss
        The loss a user-defined (or composite) loss kernel is specialised for;
        built-in losses reach the kernel as codes.
    n_threads : int
    """

    def __init__(self, X, y, sample_weight, row_folds, settings, models, loss, n_threads=1):
        self.settings, self.grid = settings, models
        self.n_models = models.n_models
        self.n_threads = max(1, min(n_threads, self.n_models))
        train_rows = np.flatnonzero(row_folds != 0)
        self.rows = kernel_rows(train_rows, X.shape[0])
        weights = np.empty(0) if sample_weight is None else kernel_weights(sample_weight)
        self.data = (X, y, weights, row_folds)
        self.dense = dense = not sp.issparse(X)
        kernel = grid_epoch_dense if dense else grid_epoch_csr
        self.kernel = kernel_for(kernel, loss)
        averaging = settings.average > 0
        l1 = bool((models.hyper[:, L.H_L1] * models.hyper[:, L.H_ALPHA] > 0).any())
        n_features = X.shape[1]
        shape = (self.n_models, n_features) if dense else (n_features, self.n_models)
        unused = np.zeros((0, 0), X.dtype)  # never read: no averaging, no L1
        gstate = np.zeros((L.G_SIZE, self.n_models))
        gstate[L.C_INTERCEPT] = models.intercept
        gstate[L.C_T] = 1.0
        gstate[L.C_ETA0] = models.hyper[:, L.H_ETA0]
        gstate[L.C_ACTIVE] = 1.0
        gstate[L.G_FOLD] = models.fold
        gstate[L.G_CLASS] = models.positive_class
        gstate[L.G_POS_WEIGHT] = models.pos_weight
        gstate[L.G_NEG_WEIGHT] = models.neg_weight
        gstate[L.G_LOSS] = models.loss_code
        every_model = _Block(
            models=np.arange(self.n_models),
            hyper=models.hyper,
            loss_params=models.loss_params,
            coef=np.zeros(shape, X.dtype),
            avg_coef=np.zeros(shape, X.dtype) if averaging else unused,
            l1_q=np.zeros(shape) if l1 else np.zeros((0, 0)),
            gstate=gstate,
            active=np.arange(self.n_models, dtype=np.int64),
            model_major=dense,
        )
        self.model_bytes = n_features * X.dtype.itemsize  # weights of one model
        self.retired, self.retired_clips = {}, 0.0  # models repacked away (_repack)
        self.where = [None] * self.n_models
        self._deal(every_model)

    def _parts(self, folds):
        """The positions of each block's models among models of folds
        ``folds`` (int64, one a model).

        One block a thread, dealt round-robin (so that each holds a mix of the
        grid's settings and the blocks stay about as busy as models stop),
        unless the rows are CSR and a thread's share of the weights would
        exceed CSR_BLOCK_BYTES: then blocks of at most that many bytes, each
        of one fold's models, so that a block skips the rows none of its
        models trains on (module docstring)."""
        n = folds.shape[0]
        n_blocks = max(1, min(self.n_threads, n))
        per_block = max(1, CSR_BLOCK_BYTES // self.model_bytes)
        if self.dense or n <= per_block * n_blocks:
            return [np.arange(part, n, n_blocks) for part in range(n_blocks)]
        parts = []
        for fold in np.unique(folds):
            own = np.flatnonzero(folds == fold)
            parts.extend(np.array_split(own, math.ceil(own.shape[0] / per_block)))
        return parts

    def _deal(self, whole):
        """Deal the models of ``whole`` into blocks (``_parts``; replacing
        ``self.blocks``)."""
        self.blocks = []
        for own in self._parts(whole.gstate[L.G_FOLD]):
            # the models of one loss side by side: the kernel's branch on the
            # loss code is then predicted (5-8% of a mixed grid's epoch)
            own = own[np.argsort(whole.gstate[L.G_LOSS, own], kind="stable")]
            self.blocks.append(whole.take(own))
        for block in self.blocks:
            for k, m in enumerate(block.models):
                self.where[m] = (block, k)

    def _regroup(self):
        """Deal the models that still train into as few blocks as they need
        (CSR rows: each block is one pass over the rows an epoch)."""
        for block in self.blocks:
            if block.active.shape[0] < block.models.shape[0]:
                self._repack(block)
        training = [b for b in self.blocks if b.models.shape[0]]
        self._deal(_Block.joined(training))

    # ------------------------------------------------------------ one epoch
    def _run_block(self, order, block):
        X, y, sample_weight, row_folds = self.data
        loss_sums = np.zeros(block.models.shape[0])
        if block.active.shape[0] == 0:  # every model of the block has stopped
            return loss_sums
        tail = (
            y, sample_weight, row_folds, order, block.loss_params, block.hyper, block.coef,
            block.avg_coef, block.l1_q, block.gstate, block.active, loss_sums,
        )  # fmt: skip
        if sp.issparse(X):
            self.kernel(*csr_arrays(X), *tail)
        else:
            self.kernel(X, *tail)
        return loss_sums

    def _repack(self, block):
        """Keep only ``block``'s models that still train (their weights copied
        into narrower arrays); the others' final weights move to ``retired``.

        On CSR rows a feature's weights for all the block's models are
        contiguous, and every stored value of a row touches that stretch: with
        half the models stopped, half of each cache line read would be theirs.
        """
        keep = block.active
        for k in np.setdiff1d(np.arange(block.models.shape[0]), keep):
            m = int(block.models[k])
            self.retired[m] = self.model(m)
            self.retired_clips += block.gstate[L.C_N_CLIPS, k]
            self.where[m] = None
        vars(block).update(vars(block.take(keep)))
        for k, m in enumerate(block.models):
            self.where[m] = (block, k)

    def run(self, order, pool=None, while_waiting=None):
        if not self.dense:
            folds = np.concatenate([b.gstate[L.G_FOLD, b.active] for b in self.blocks])
            busy = sum(1 for b in self.blocks if b.active.shape[0])
            if 0 < folds.shape[0] and len(self._parts(folds)) < busy:
                self._regroup()
            for block in self.blocks:
                if 0 < 2 * block.active.shape[0] <= block.models.shape[0]:
                    self._repack(block)
        if pool is None:
            per_block = [self._run_block(order, b) for b in self.blocks]
        else:
            futures = [pool.submit(self._run_block, order, b) for b in self.blocks]
            per_block = thread_results(futures, while_waiting)
        loss_sums = np.zeros(self.n_models)
        for block, sums in zip(self.blocks, per_block, strict=True):
            loss_sums[block.models] = sums
        return loss_sums

    # -------------------------------------------------- the loop's questions
    def n_clips(self):
        return self.retired_clips + sum(b.gstate[L.C_N_CLIPS].sum() for b in self.blocks)

    def finite(self):
        return all(
            np.isfinite(b.gstate[[L.C_INTERCEPT, L.C_AVG_INTERCEPT]]).all()
            and np.isfinite(b.coef).all()
            and np.isfinite(b.avg_coef).all()
            for b in self.blocks
        )

    def model(self, m):
        """Model ``m``'s weights as it predicts: averaged once averaging began,
        else with its pending L1 penalty applied (``_runners.model_weights``)."""
        if m in self.retired:
            return self.retired[m]
        b, k = self.where[m]
        g = b.gstate
        average = self.settings.average
        if average and average <= g[L.C_T, k] - 1:
            return b.weights(b.avg_coef, k), g[L.C_AVG_INTERCEPT, k]
        coef = b.weights(b.coef, k)
        if b.hyper[k, L.H_L1] > 0.0 and b.hyper[k, L.H_ALPHA] > 0.0:
            coef = apply_pending_l1(coef, b.weights(b.l1_q, k), g[L.C_L1_U, k])
        return coef, g[L.C_INTERCEPT, k]

    def objective(self, models, loss_sums, weights):
        """Training objective of a criterion's models: each one's loss over its
        own fold's rows plus its own penalty (``Settings.penalty`` per model)."""
        total = 0.0
        for m, (coef, _) in zip(models, weights, strict=True):
            b, k = self.where[m]
            h = b.hyper[k]
            penalty = 0.0
            if h[L.H_L1] > 0.0 or h[L.H_L2] > 0.0:
                coef = coef.astype(np.float64, copy=False)
                penalty = h[L.H_ALPHA] * (
                    h[L.H_L2] * 0.5 * float(np.square(coef).sum())
                    + h[L.H_L1] * float(np.abs(coef).sum())
                )
            total += loss_sums[m] / self.grid.n_train[m] + penalty
        return total

    def set_eta0(self, m, eta0):
        b, k = self.where[m]
        b.gstate[L.C_ETA0, k] = eta0

    def stop(self, m):
        b, k = self.where[m]
        b.gstate[L.C_ACTIVE, k] = 0.0
        b.active = b.active[b.active != k]

    def state(self):
        """The models' weights as they predict (the search keeps no training
        state: a refit trains the chosen candidate afresh)."""
        coef = np.array([self.model(m)[0] for m in range(self.n_models)])
        zeros = np.zeros(self.n_models)
        return TrainingState(
            coef=coef, avg_coef=coef, l1_received=coef, intercept=zeros, avg_intercept=zeros,
            l1_total=zeros,
        )  # fmt: skip
