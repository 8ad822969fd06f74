"""One epoch of mini-batch training with any optimizer, over dense or CSR rows.

Both kernels take, besides the data, targets and weights (as in ``sgd_epoch``):

order : uint32 or int64 (n_steps,)
    Rows to visit, in order; consecutive runs of ``hyper[O_BATCH]`` rows form
    one mini-batch (the last one may be shorter).
loss_code, loss_params : int, float64 (n_params,)
    The loss, reached only through ``loss_derivative`` / ``loss_value`` of
    ``fastloss._kernels._loss_switch`` (the cross-team contract).
hyper : float64 (O_SIZE,)
    Schedule, penalty, flags and optimizer hyperparameters (``_optim_rules``).
coef : X.dtype (n_features,)
    Weights, updated in place.
opt_state : float64 (N_SLOTS, n_features + 1)
    Optimizer state, updated in place (``_optim_rules``).
state : float64 (S_SIZE,)
    Intercept, sample counter ``t`` (samples seen + 1) and clip count, updated
    in place.

Each update averages ``sample_weight * dloss * x`` over the batch rows, all
evaluated with the weights before the update.  The dense kernel updates every
weight at every step; the CSR kernel touches only the weights of the batch's
non-zero features.  It keeps each weight and its state in one cache line for
the epoch (``R_*`` records), applies a touched weight's update when a batch
next touches it (or at the end of the epoch) rather than in a pass of its own,
and brings a weight over the updates it skipped in closed form
(``_optim_rules.catch_up``) from lookup tables computed once an epoch
(``_optim_rules.lazy_tables``), so that an epoch costs O(nnz) plus
O(n_features + n_updates), with no ``exp`` / ``pow`` per touched weight in the
usual case.  Both return the weighted sum of the per-sample losses before each
update, or 0 unless ``hyper[H_COMPUTE_LOSS]`` is set.

Measured (200,000 x 100,000 CSR, 50 non-zeros a row, log loss, batch 32, whole
epochs through ``SGDClassifier``; ``python -m fastloss.bench._sparse_minibatch``):
see docs/user_guide/performance.rst.

The two are different algorithms (eager against lazy updates), not one step
over two row layouts: what they have in common is the per-row gradient
accumulation (score, loss, clipping, ``grad += d * x``), a dozen lines, which
is written twice rather than passed through helpers overloaded on the row type
(issue 17 measured that route on ``sgd_epoch`` and ``multi_epoch``: slower on
several workloads, see their docstrings).
tests/test_kernel_pairs.py runs both on the same rows, for every optimizer rule
and penalty, and fails when they drift apart.
"""

import math

import numpy as np

from .._config import jit
from ._layout import (
    H_ALPHA,
    H_COMPUTE_LOSS,
    H_FIT_INTERCEPT,
    H_L1,
    H_L2,
    O_BATCH,
    O_CODE,
    O_EPS,
    O_P0,
    O_P1,
    S_INTERCEPT,
    S_N_CLIPS,
    S_T,
    SLOT_A,
    SLOT_B,
    SLOT_C,
    SLOT_CUM_ETA,
    SLOT_LAST,
)
from ._loss_switch import loss_derivative, loss_value
from ._optim_rules import (
    K_HALF_P1,
    K_P0,
    K_P1,
    K_Q,
    K_Q2INV,
    K_QINV,
    U_BC1_NEXT,
    U_BC2_NEXT,
    U_ETA_NEXT,
    U_S1,
    U_S2,
    U_S3,
    U_S4,
    U_S5,
    bias_corrections,
    catch_up,
    has_decay,
    has_movement,
    hyper_tuple,
    intercept_step,
    lazy_tables,
    log_decays,
    rule_step,
    step_all,
    step_eta,
)
from ._prefetch import LINE, _prefetch, prefetch_range
from ._weights import clip_dloss, overflow_marker
from .sgd_epoch import row_dot

__all__ = ["minibatch_epoch_dense", "minibatch_epoch_csr"]


@jit()
def minibatch_epoch_dense(
    X, y, sample_weight, order, loss_code, loss_params, hyper, coef, opt_state, state
):
    """One epoch over the rows ``X[order]`` in mini-batches; see the module docstring."""
    code = int(hyper[O_CODE])
    batch = int(hyper[O_BATCH])
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    weighted = sample_weight.shape[0] != 0  # else every weight is 1
    n_features = X.shape[1]
    intercept, t_samples = state[S_INTERCEPT], state[S_T]
    t, cum_eta = opt_state[SLOT_LAST, n_features], opt_state[SLOT_CUM_ETA, n_features]
    grad = np.zeros(n_features)
    weights = coef[None, :]  # 2-D view for row_dot (reshape: numba.np.arrayobj import at load)
    logs = log_decays(hyper)
    loss_sum = 0.0
    n_clips = 0

    n_steps = order.shape[0]
    for start in range(0, n_steps, batch):
        end = min(start + batch, n_steps)
        for j in range(n_features):
            grad[j] = 0.0
        grad_intercept = 0.0
        for k in range(start, end):
            i = order[k]
            p = row_dot(weights, 0, X, i) + intercept
            sw = sample_weight[i] if weighted else 1.0
            if compute_loss:
                loss_sum += sw * loss_value(loss_code, y[i], p, loss_params)
            loss_sum += overflow_marker(p)
            dloss, clipped = clip_dloss(loss_derivative(loss_code, y[i], p, loss_params))
            n_clips += clipped
            d = sw * dloss
            if d != 0.0:
                for j in range(n_features):
                    grad[j] += d * X[i, j]
            grad_intercept += d
        n_rows = end - start
        t += 1.0
        eta = step_eta(hyper, t)
        cum_eta += eta
        bc1, bc2 = bias_corrections(code, hyper, logs, t)
        step_all(code, hyper, opt_state, coef, grad, 1.0 / n_rows, eta, bc1, bc2, l1, l2)
        if fit_intercept:
            intercept = intercept_step(
                code, hyper, opt_state, intercept, grad_intercept / n_rows, eta, bc1, bc2
            )
        t_samples += n_rows

    opt_state[SLOT_LAST, :] = t
    opt_state[SLOT_CUM_ETA, :] = cum_eta
    state[S_INTERCEPT], state[S_T] = intercept, t_samples
    state[S_N_CLIPS] += n_clips
    return loss_sum


# The CSR kernel keeps, for the epoch, each weight and its optimizer state side
# by side in one record of R_SIZE float64 (64 bytes: one cache line), where
# opt_state keeps each slot contiguous over the weights (as the dense kernel
# streams them): a touched weight costs one cache line instead of seven (coef,
# the five slots, the gradient).  R_LAST is the update (of this epoch, 1..) in
# whose batch the weight was last touched, 0 if none: that update is applied
# when a batch next touches the weight, or at the end of the epoch, so that a
# weight is visited once a batch, not once more for its step.
R_W, R_GRAD, R_A, R_B, R_C, R_LAST = range(6)
R_SIZE = 8


@jit()
def _aligned_start(buffer):
    """First index of ``buffer`` (float64) at a 64-byte boundary."""
    return ((LINE - buffer.ctypes.data % LINE) % LINE) // 8


@jit()
def _stale_catch_up(code, hyper, logs, q, w, a, b, c, last, last_cum_eta, t, cum_eta, l1, l2):
    """``catch_up`` of a weight that an earlier call left at update ``last`` <
    ``t`` (the kernel leaves none; for state written elsewhere), without the
    epoch's tables: ``exp`` / ``pow`` and the mean step size."""
    k = t - last
    eta_first = step_eta(hyper, last + 1.0)
    bc1, bc2 = bias_corrections(code, hyper, logs, last + 1.0)
    p1 = hyper[O_P1]
    p1_k = math.exp(k * logs[1])
    bc2_mid = bc2
    if bc2 < 1.0:
        bc2_mid = 1.0 - (1.0 - bc2) * math.sqrt(p1_k / p1)
    s1 = cum_eta - last_cum_eta
    return catch_up(
        code, hyper[O_P0], p1, hyper[O_EPS], q, a, b, c, w, k, math.exp(k * logs[0]), p1_k,
        q**k, 0.0, 0.0, eta_first, math.inf, s1, 0.0, 0.0, 0.0, 0.0, bc1, bc2, bc2_mid, l1, l2,
    )  # fmt: skip


@jit()
def minibatch_epoch_csr(
    data,
    indices,
    indptr,
    y,
    sample_weight,
    order,
    loss_code,
    loss_params,
    hyper,
    coef,
    opt_state,
    state,
):
    """One epoch over CSR rows ``order`` in mini-batches, lazily; see the module docstring."""
    code = int(hyper[O_CODE])
    batch = int(hyper[O_BATCH])
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    weighted = sample_weight.shape[0] != 0  # else every weight is 1
    n_features = coef.shape[0]
    p0, p1, eps = hyper[O_P0], hyper[O_P1], hyper[O_EPS]
    hp = hyper_tuple(hyper)  # for the helpers called once a touched weight
    logs = log_decays(hyper)
    intercept, t_samples = state[S_INTERCEPT], state[S_T]
    t0, cum_eta = opt_state[SLOT_LAST, n_features], opt_state[SLOT_CUM_ETA, n_features]
    n_steps = order.shape[0]
    n_updates = (n_steps + batch - 1) // batch
    by_update, by_skip, eta_max, q = lazy_tables(code, hp, logs, t0, n_updates)

    # the weights' records; update numbers count from the epoch's start (0)
    records = np.zeros((n_features + 1) * R_SIZE)
    base = _aligned_start(records)
    for j in range(n_features):
        w, a, b, c = coef[j], opt_state[SLOT_A, j], opt_state[SLOT_B, j], opt_state[SLOT_C, j]
        if opt_state[SLOT_LAST, j] < t0:
            w, a, b = _stale_catch_up(
                code, hp, logs, q, w, a, b, c, opt_state[SLOT_LAST, j],
                opt_state[SLOT_CUM_ETA, j], t0, cum_eta, l1, l2,
            )  # fmt: skip
        r = base + R_SIZE * j
        records[r + R_W], records[r + R_A], records[r + R_B], records[r + R_C] = w, a, b, c
    last_rows = n_steps - (n_updates - 1) * batch  # rows of the last (maybe shorter) batch
    # whether a weight changes on an update with no gradient
    drifts = has_movement(code) or has_decay(code) or l1 != 0.0 or l2 != 0.0
    loss_sum = 0.0
    n_clips = 0

    u = 0
    for start in range(0, n_steps, batch):
        end = min(start + batch, n_steps)
        # rows two batches ahead, and the records of the next batch's features
        # (its rows were asked for a batch ago)
        for k in range(min(end + batch, n_steps), min(end + 2 * batch, n_steps)):
            i = order[k]
            prefetch_range(data, indptr[i], indptr[i + 1])
            prefetch_range(indices, indptr[i], indptr[i + 1])
        for k in range(end, min(end + batch, n_steps)):
            i = order[k]
            for kk in range(indptr[i], indptr[i + 1]):
                _prefetch(records, base + R_SIZE * indices[kk])
        u += 1
        grad_intercept = 0.0
        for k in range(start, end):
            i = order[k]
            p = intercept
            for kk in range(indptr[i], indptr[i + 1]):
                r = base + R_SIZE * indices[kk]
                last = int(records[r + R_LAST])
                if last != u:
                    # first in this batch: apply its pending update and the
                    # ones it skipped since, then collect this batch's gradient
                    # (written out twice in this kernel: a helper taking the
                    # tables would count references here)
                    w, a, b, c = (
                        records[r + R_W],
                        records[r + R_A],
                        records[r + R_B],
                        records[r + R_C],
                    )
                    if last > 0:
                        w, a, b, c = rule_step(
                            code, p0, p1, eps, a, b, c, w, records[r + R_GRAD] / batch,
                            by_update[last - 1, U_ETA_NEXT], by_update[last - 1, U_BC1_NEXT],
                            by_update[last - 1, U_BC2_NEXT], l1, l2,
                        )  # fmt: skip
                    if drifts and last < u - 1:
                        n_skip = u - 1 - last
                        w, a, b = catch_up(
                            code, p0, p1, eps, q, a, b, c, w, n_skip,
                            by_skip[n_skip, K_P0], by_skip[n_skip, K_P1],
                            by_skip[n_skip, K_Q], by_skip[n_skip, K_QINV],
                            by_skip[n_skip, K_Q2INV], by_update[last, U_ETA_NEXT], eta_max,
                            by_update[u - 1, U_S1] - by_update[last, U_S1],
                            by_update[u - 1, U_S2] - by_update[last, U_S2],
                            by_update[u - 1, U_S3] - by_update[last, U_S3],
                            by_update[u - 1, U_S4] - by_update[last, U_S4],
                            by_update[u - 1, U_S5] - by_update[last, U_S5],
                            by_update[last, U_BC1_NEXT], by_update[last, U_BC2_NEXT],
                            1.0 - (1.0 - by_update[last, U_BC2_NEXT]) * by_skip[n_skip, K_HALF_P1],
                            l1, l2,
                        )  # fmt: skip
                    records[r + R_W], records[r + R_A], records[r + R_B], records[r + R_C] = (
                        w,
                        a,
                        b,
                        c,
                    )
                    records[r + R_GRAD] = 0.0
                    records[r + R_LAST] = u
                p += records[r + R_W] * data[kk]
            sw = sample_weight[i] if weighted else 1.0
            if compute_loss:
                loss_sum += sw * loss_value(loss_code, y[i], p, loss_params)
            loss_sum += overflow_marker(p)
            dloss, clipped = clip_dloss(loss_derivative(loss_code, y[i], p, loss_params))
            n_clips += clipped
            d = sw * dloss
            if d != 0.0:
                for kk in range(indptr[i], indptr[i + 1]):
                    records[base + R_SIZE * indices[kk] + R_GRAD] += d * data[kk]
            grad_intercept += d
        n_rows = end - start
        eta = by_update[u - 1, U_ETA_NEXT]
        cum_eta += eta
        if fit_intercept:
            intercept = intercept_step(
                code, hp, opt_state, intercept, grad_intercept / n_rows, eta,
                by_update[u - 1, U_BC1_NEXT], by_update[u - 1, U_BC2_NEXT],
            )  # fmt: skip
        t_samples += n_rows

    # every weight up to date, so that coef is exact between epochs
    for j in range(n_features):
        r = base + R_SIZE * j
        last = int(records[r + R_LAST])
        w, a, b, c = records[r + R_W], records[r + R_A], records[r + R_B], records[r + R_C]
        if last > 0:
            w, a, b, c = rule_step(
                code, p0, p1, eps, a, b, c, w,
                records[r + R_GRAD] / (last_rows if last == u else batch),
                by_update[last - 1, U_ETA_NEXT], by_update[last - 1, U_BC1_NEXT],
                by_update[last - 1, U_BC2_NEXT], l1, l2,
            )  # fmt: skip
        if drifts and last < u:
            n_skip = u - last
            w, a, b = catch_up(
                code, p0, p1, eps, q, a, b, c, w, n_skip, by_skip[n_skip, K_P0],
                by_skip[n_skip, K_P1], by_skip[n_skip, K_Q], by_skip[n_skip, K_QINV],
                by_skip[n_skip, K_Q2INV], by_update[last, U_ETA_NEXT], eta_max,
                by_update[u, U_S1] - by_update[last, U_S1],
                by_update[u, U_S2] - by_update[last, U_S2],
                by_update[u, U_S3] - by_update[last, U_S3],
                by_update[u, U_S4] - by_update[last, U_S4],
                by_update[u, U_S5] - by_update[last, U_S5],
                by_update[last, U_BC1_NEXT], by_update[last, U_BC2_NEXT],
                1.0 - (1.0 - by_update[last, U_BC2_NEXT]) * by_skip[n_skip, K_HALF_P1],
                l1, l2,
            )  # fmt: skip
        coef[j] = w
        opt_state[SLOT_A, j], opt_state[SLOT_B, j], opt_state[SLOT_C, j] = a, b, c
        opt_state[SLOT_LAST, j] = t0 + u
        opt_state[SLOT_CUM_ETA, j] = cum_eta
    opt_state[SLOT_LAST, n_features] = t0 + u
    opt_state[SLOT_CUM_ETA, n_features] = cum_eta
    state[S_INTERCEPT], state[S_T] = intercept, t_samples
    state[S_N_CLIPS] += n_clips
    return loss_sum
