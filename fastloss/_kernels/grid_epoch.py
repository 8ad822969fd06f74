"""One SGD epoch of a grid of models (candidates x folds) from one read of each row.

A hyperparameter search trains the same kind of linear model many times: once
per candidate setting and cross-validation fold.  These kernels read each row
once an epoch and update every model that trains on it, each with its own
penalty, step-size parameters, loss and step counter: a model's arithmetic is
exactly that of ``sgd_epoch`` over the rows of its fold, in the shared order
(on dense rows up to the order of its score's sum: ``rows_dot4``).
With many models a row the epoch is bound by arithmetic, not by memory latency
(docs/developer/architecture.rst, "Measured facts").

Both kernels share their arguments:

X / (data, indices, indptr)
    As in ``sgd_epoch``: dense (n_samples, n_features) C-contiguous, or CSR.
y : float64 (n_samples,)
    Targets in the loss's encoding (±1 for a binary classification), or, for
    one-vs-rest models (``gstate[G_CLASS] >= 0``), each row's class index.
sample_weight : float64 (n_samples,), or (0,) for weights all 1 (as in ``sgd_epoch``)
row_folds : int64 (n_samples,)
    Bit ``f`` set: the row is a training row of fold ``f``.
order : uint32 or int64 (n_steps,)
    Rows to visit, in order.
loss_params : float64 (n_models, MAX_TERM_PARAMS)
    Each model's loss hyperparameters (``_loss_switch``), zero-padded: the
    switch reads at most the parameters its loss has.  Built-in, non-composite
    losses only (``_search.in_switch``).
hyper : float64 (n_models, H_SIZE)
    Each model's plain-SGD ``hyper`` array (``_layout``); its step size
    ``eta0`` is in ``gstate`` (the ``adaptive`` schedule divides it).
coef, avg_coef : X.dtype, C-contiguous
    Weights and averaged weights, updated in place: dense (n_models,
    n_features), a model's weights contiguous, so that each score is the
    vectorised dot product of ``sgd_epoch_dense``; CSR (n_features, n_models),
    a feature's weights for all models contiguous (as ``multi_epoch_csr``).
l1_q : float64, the shape of ``coef``
    L1 penalty each weight has received, updated in place.
gstate : float64 (G_SIZE, n_models)
    Per-model intercepts, step counters, cumulative L1 penalty, step size,
    active flag, clip count, fold, class, class weights and loss code (rows
    ``C_*`` and ``G_*`` of ``_layout``), updated in place.
active : int64 (n_active,)
    The models that still train, in increasing order.  A model that met its
    stopping criterion leaves the list and is frozen: the dense kernel never
    looks at it again, the CSR kernel computes its score with the others' (a
    block of models is one pass over the row's stored values) and nothing more,
    until the runner drops it from the arrays (``GridRunner._repack``).  The
    CSR kernel skips the rows none of the active models trains on (the
    runner's cache-sized CSR blocks each hold one fold's models).
loss_sums : float64 (n_models,)
    Receives each model's weighted loss sum over its rows of the epoch.

Why two bodies, as in ``sgd_epoch``: the per-sample step is the same, the
loops over a row's features differ; tests/test_search_cv.py checks both
against per-fold ``sgd_epoch`` fits.
"""

import numpy as np

from .._config import jit
from ._layout import (
    C_AVG_INTERCEPT,
    C_ETA0,
    C_INTERCEPT,
    C_L1_U,
    C_N_CLIPS,
    C_T,
    G_CLASS,
    G_FOLD,
    G_LOSS,
    G_NEG_WEIGHT,
    G_POS_WEIGHT,
    H_ALPHA,
    H_AVERAGE_START,
    H_COMPUTE_LOSS,
    H_FIT_INTERCEPT,
    H_L1,
    H_L2,
    H_OPTIMAL_T0,
    H_POWER_T,
    H_SCHEDULE,
    MIN_SCALE,
)
from ._loss_switch import term_value_and_derivative
from ._prefetch import AHEAD, _prefetch, prefetch_range, prefetch_row
from ._weights import average_step, clip_dloss, overflow_marker, step_size
from .multi_epoch import (
    csr_scores,
    finish_epoch_columns,
    finish_epoch_rows,
    fold_class,
    l1_truncate_cell,
)
from .sgd_epoch import row_dot

__all__ = ["grid_epoch_dense", "grid_epoch_csr"]


@jit(inline="always")
def trains_on(folds, fold):
    """Whether a row with fold mask ``folds`` is one of the rows of a model of ``fold``."""
    return ((folds >> np.int64(fold)) & 1) != 0


@jit(inline="always")
def model_target(k, pos_weight, neg_weight, y_i, sw):
    """A model's target and sample weight on a row of target (or class) ``y_i``:
    one-vs-rest models (positive class ``k >= 0``) see +1 for their class and
    -1 for the others; the class weights apply as ``SGDClassifier`` folds them
    into the sample weights."""
    if k >= 0.0:
        target = 1.0 if y_i == k else -1.0
    else:
        target = y_i
    if target > 0.0:
        return target, sw * pos_weight
    return target, sw * neg_weight


@jit(inline="always")
def model_loss(loss_params, m, code, target, p, with_value):
    """(value or 0.0, derivative) of model ``m``'s loss, its parameters the
    first three of its row of ``loss_params``."""
    a, b, c = loss_params[m, 0], loss_params[m, 1], loss_params[m, 2]
    return term_value_and_derivative(code, target, p, a, b, c, with_value)


@jit(inline="always")
def transposed(a):
    """A C-contiguous copy of ``a.T`` (2-D)."""
    out = np.empty((a.shape[1], a.shape[0]))
    for r in range(a.shape[0]):
        for c in range(a.shape[1]):
            out[c, r] = a[r, c]
    return out


@jit(fastmath={"reassoc", "contract", "nsz", "arcp"})
def rows_dot4(W, m0, m1, m2, m3, X, i):
    """``row_dot`` of rows m0..m3 of ``W`` with ``X[i]``, in one pass over
    ``X[i]``.  On the development machine (AVX-512) LLVM vectorises each sum
    as it vectorises ``row_dot``'s, and the four equal ``row_dot``'s bit for
    bit at every width from 1 to 1,000, float32 and float64; a CPU with fewer
    vector registers may interleave them otherwise, which changes only the
    order of each sum (tests/test_search_cv.py bounds the difference by that
    rounding).  Eight models a pass was 4-6% faster but summed in another
    order on this machine too."""
    s0 = s1 = s2 = s3 = X.dtype.type(0.0)
    for j in range(X.shape[1]):
        x = X[i, j]
        s0 += W[m0, j] * x
        s1 += W[m1, j] * x
        s2 += W[m2, j] * x
        s3 += W[m3, j] * x
    return s0, s1, s2, s3


@jit()
def grid_epoch_dense(
    X, y, sample_weight, row_folds, order, loss_params, hyper, coef, avg_coef, l1_q, gstate,
    active, loss_sums,
):  # fmt: skip
    """One epoch over the rows ``X[order]`` for every model; see the module docstring."""
    n_models, n_features = coef.shape
    weighted = sample_weight.shape[0] != 0  # else every weight is 1
    scale, avg_a, avg_b = np.ones(n_models), np.zeros(n_models), np.ones(n_models)
    loss_sums[:] = 0.0
    # Model-major for the epoch: a model's state in two cache lines, not one
    # line per row of gstate (13 lines a model, which its weights streaming
    # through L1 evict between rows): 10% of a hinge grid's epoch.
    state = transposed(gstate)
    on = np.empty(n_models, dtype=np.int64)  # the models that train on the row
    dots = np.empty(n_models)  # their weights' dot products with it

    n_steps = order.shape[0]
    for s in range(n_steps):
        if s + AHEAD < n_steps:
            ahead = order[s + AHEAD]
            prefetch_row(X, ahead)
            _prefetch(y, ahead)
            _prefetch(row_folds, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order[s]
        folds, y_i = row_folds[i], y[i]
        sw = sample_weight[i] if weighted else 1.0
        n_on = 0
        for a in range(active.shape[0]):
            m = active[a]
            if trains_on(folds, state[m, G_FOLD]):
                on[n_on] = m
                n_on += 1
        # the scores first, four models a pass over the row, so that each value
        # of the row is loaded once for four models (7% of a 4-loss grid)
        g = 0
        while g + 4 <= n_on:
            dots[g], dots[g + 1], dots[g + 2], dots[g + 3] = rows_dot4(
                coef, on[g], on[g + 1], on[g + 2], on[g + 3], X, i
            )
            g += 4
        for r in range(g, n_on):
            dots[r] = row_dot(coef, on[r], X, i)
        for g in range(n_on):
            m = on[g]
            p = scale[m] * dots[g] + state[m, C_INTERCEPT]
            target, w = model_target(
                state[m, G_CLASS], state[m, G_POS_WEIGHT], state[m, G_NEG_WEIGHT], y_i, sw
            )
            code = np.int64(state[m, G_LOSS])
            value, dloss = model_loss(
                loss_params, m, code, target, p, hyper[m, H_COMPUTE_LOSS] != 0.0
            )
            loss_sums[m] += w * value + overflow_marker(p)
            dloss, clipped = clip_dloss(dloss)
            state[m, C_N_CLIPS] += clipped
            alpha, t = hyper[m, H_ALPHA], state[m, C_T]
            eta = step_size(
                np.int64(hyper[m, H_SCHEDULE]), state[m, C_ETA0], hyper[m, H_POWER_T],
                hyper[m, H_OPTIMAL_T0], alpha, t,
            )  # fmt: skip
            update = -eta * w * dloss
            l2, l1 = hyper[m, H_L2] * alpha, hyper[m, H_L1] * alpha
            if l2 > 0.0:
                factor = max(0.0, 1.0 - eta * l2)
                if scale[m] * factor >= MIN_SCALE:
                    scale[m] *= factor
                else:  # _weights.shrink_or_fold
                    fold_class(coef, avg_coef, m, True, scale[m] * factor, avg_a[m], avg_b[m])
                    scale[m], avg_a[m], avg_b[m] = 1.0, 0.0, 1.0
            if update != 0.0:
                c, a = update / scale[m], avg_a[m]
                if a != 0.0:
                    for j in range(n_features):
                        d = c * X[i, j]
                        coef[m, j] += d
                        avg_coef[m, j] -= a * d
                else:
                    c_x = X.dtype.type(c)  # as in sgd_epoch_dense: float32 lanes for float32 rows
                    for j in range(n_features):
                        coef[m, j] += c_x * X[i, j]
            if hyper[m, H_FIT_INTERCEPT] != 0.0:
                state[m, C_INTERCEPT] += update
            if l1 > 0.0:
                u = state[m, C_L1_U] + eta * l1
                state[m, C_L1_U] = u
                for j in range(n_features):
                    if X[i, j] != 0.0:
                        delta = l1_truncate_cell(coef, l1_q, m, j, u, scale[m])
                        if avg_a[m] != 0.0:  # avg_coef is empty unless averaging
                            avg_coef[m, j] -= avg_a[m] * delta
            average_start = hyper[m, H_AVERAGE_START]
            if 0.0 < average_start <= t:
                avg_a[m], avg_b[m], mu = average_step(
                    t, average_start, scale[m], avg_a[m], avg_b[m]
                )
                state[m, C_AVG_INTERCEPT] += mu * (
                    state[m, C_INTERCEPT] - state[m, C_AVG_INTERCEPT]
                )
            state[m, C_T] = t + 1.0

    for m in range(n_models):  # a loop: slice assignment would link string formatting
        for r in range(state.shape[1]):
            gstate[r, m] = state[m, r]
    finish_epoch_rows(coef, avg_coef, scale, avg_a, avg_b)


@jit()
def grid_epoch_csr(
    data, indices, indptr, y, sample_weight, row_folds, order, loss_params, hyper, coef,
    avg_coef, l1_q, gstate, active, loss_sums,
):  # fmt: skip
    """One epoch over the CSR rows ``order`` for every model, O(nnz * n_models) a
    row; see the module docstring."""
    n_models = coef.shape[1]
    weighted = sample_weight.shape[0] != 0  # else every weight is 1
    scale, avg_a, avg_b = np.ones(n_models), np.zeros(n_models), np.ones(n_models)
    p, step = np.empty(n_models), np.zeros(n_models)
    on = np.zeros(n_models, dtype=np.bool_)  # the models that train on this row
    loss_sums[:] = 0.0
    n_active = active.shape[0]
    block_folds = np.int64(0)  # bit f set: a model of fold f still trains
    for a in range(n_active):
        block_folds |= np.int64(1) << np.int64(gstate[G_FOLD, active[a]])

    n_steps = order.shape[0]
    for s in range(n_steps):
        if s + 2 * AHEAD < n_steps:
            _prefetch(indptr, order[s + 2 * AHEAD])
            _prefetch(row_folds, order[s + 2 * AHEAD])
        if s + AHEAD < n_steps:
            ahead = order[s + AHEAD]
            if row_folds[ahead] & block_folds:
                prefetch_range(data, indptr[ahead], indptr[ahead + 1])
                prefetch_range(indices, indptr[ahead], indptr[ahead + 1])
                _prefetch(y, ahead)
                if weighted:
                    _prefetch(sample_weight, ahead)
        i = order[s]
        folds, y_i = row_folds[i], y[i]
        if not folds & block_folds:  # no model here trains on the row
            continue
        sw = sample_weight[i] if weighted else 1.0
        start, end = indptr[i], indptr[i + 1]
        # every model's score, in blocks of contiguous weights: one pass over
        # the row's values serves them all (the runner drops stopped models
        # from the arrays once half of them stopped: GridRunner._repack)
        csr_scores(data, indices, start, end, coef, scale, gstate, p)
        averaging, truncating = False, False
        for a in range(n_active):
            m = active[a]
            step[m] = 0.0
            on[m] = trains_on(folds, gstate[G_FOLD, m])
            if not on[m]:
                continue
            target, w = model_target(
                gstate[G_CLASS, m], gstate[G_POS_WEIGHT, m], gstate[G_NEG_WEIGHT, m], y_i, sw
            )
            code = np.int64(gstate[G_LOSS, m])
            value, dloss = model_loss(
                loss_params, m, code, target, p[m], hyper[m, H_COMPUTE_LOSS] != 0.0
            )
            loss_sums[m] += w * value + overflow_marker(p[m])
            dloss, clipped = clip_dloss(dloss)
            gstate[C_N_CLIPS, m] += clipped
            alpha, t = hyper[m, H_ALPHA], gstate[C_T, m]
            eta = step_size(
                np.int64(hyper[m, H_SCHEDULE]), gstate[C_ETA0, m], hyper[m, H_POWER_T],
                hyper[m, H_OPTIMAL_T0], alpha, t,
            )  # fmt: skip
            update = -eta * w * dloss
            l2, l1 = hyper[m, H_L2] * alpha, hyper[m, H_L1] * alpha
            if l2 > 0.0:
                factor = max(0.0, 1.0 - eta * l2)
                if scale[m] * factor >= MIN_SCALE:
                    scale[m] *= factor
                else:  # _weights.shrink_or_fold
                    fold_class(coef, avg_coef, m, False, scale[m] * factor, avg_a[m], avg_b[m])
                    scale[m], avg_a[m], avg_b[m] = 1.0, 0.0, 1.0
            step[m] = update / scale[m]
            averaging = averaging or avg_a[m] != 0.0
            if hyper[m, H_FIT_INTERCEPT] != 0.0:
                gstate[C_INTERCEPT, m] += update
            if l1 > 0.0:
                gstate[C_L1_U, m] += eta * l1
                truncating = True
        # the row's stored values, each updating every model's weight of its feature
        for kk in range(start, end):
            j, x = indices[kk], data[kk]
            if averaging:
                for a in range(n_active):
                    m = active[a]
                    if step[m] != 0.0:
                        d = step[m] * x
                        coef[j, m] += d
                        avg_coef[j, m] -= avg_a[m] * d
            else:  # every step, zero or not: a vectorised pass over contiguous weights
                for m in range(n_models):
                    coef[j, m] += step[m] * x
        if truncating:
            for kk in range(start, end):
                if data[kk] != 0.0:
                    j = indices[kk]
                    for a in range(n_active):
                        m = active[a]
                        if on[m] and hyper[m, H_L1] * hyper[m, H_ALPHA] > 0.0:
                            delta = l1_truncate_cell(coef, l1_q, j, m, gstate[C_L1_U, m], scale[m])
                            if avg_a[m] != 0.0:  # avg_coef is empty unless averaging
                                avg_coef[j, m] -= avg_a[m] * delta
        for a in range(n_active):
            m = active[a]
            if not on[m]:
                continue
            t = gstate[C_T, m]
            average_start = hyper[m, H_AVERAGE_START]
            if 0.0 < average_start <= t:
                avg_a[m], avg_b[m], mu = average_step(
                    t, average_start, scale[m], avg_a[m], avg_b[m]
                )
                gstate[C_AVG_INTERCEPT, m] += mu * (
                    gstate[C_INTERCEPT, m] - gstate[C_AVG_INTERCEPT, m]
                )
            gstate[C_T, m] = t + 1.0

    finish_epoch_columns(coef, avg_coef, scale, avg_a, avg_b)
