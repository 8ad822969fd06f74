"""One epoch of plain SGD (scikit-learn's algorithm) over dense or CSR rows.

Both kernels share their arguments:

X / (data, indices, indptr)
    dense: (n_samples, n_features) C-contiguous float32 or float64;
    CSR: data (nnz,) float32/float64, indices (nnz,) int32, indptr
    (n_samples + 1,) int32, with indices in range (checked by the caller).
y, sample_weight : float64 (n_samples,)
    Targets in the loss's encoding; weights with class weights folded in.  An
    empty ``sample_weight`` (0,) means every weight is 1, and the kernel then
    reads no weights (``linear_model._training.kernel_weights``).  An empty
    ``y`` means ±1 labels packed into ``order`` (below).
order : uint32 or int64 (n_steps,)
    Rows to visit, in order (a permutation of the training rows, or a prefix);
    uint32 below 2**32 rows (``linear_model._training.kernel_rows``).  With an
    empty ``y``, bit 31 of each entry is its row's label (set: +1) and the
    other bits the row (``_layout.ROW_BITS``, ``kernel_targets``).
loss_code, loss_params : int, float64 (n_params,)
    The built-in loss and its hyperparameters (``_loss_switch``).
hyper : float64 (H_SIZE,)
    Schedule, penalty, averaging and flags; see ``_layout``.
coef, avg_coef : X.dtype (n_features,)
    Weights and averaged weights, updated in place.  On float32 rows the dense
    kernels' dot products (``row_dot``, shared by every dense kernel) and SGD
    weight updates run in float32 (scikit-learn's float32 SGD does the same);
    scores, step sizes, the weight scale and the intercept are float64.
l1_q : float64 (n_features,)
    L1 penalty each weight has received, updated in place.
state : float64 (S_SIZE,)
    Intercepts, step counter and cumulative L1 penalty, updated in place.

Each returns the weighted sum of the per-sample losses seen during the epoch
(before each update, as scikit-learn reports it), or 0 unless
``hyper[H_COMPUTE_LOSS]`` is set: the loss costs a few percent an epoch.

Both are the one body ``sgd_epoch``, compiled for dense and for CSR rows: the
per-sample step is written once, and only the loops over a row's features
differ (``_rows``, where the choices are measured).  tests/test_kernel_pairs.py
checks that the two train alike.
"""

import numpy as np

from .._config import jit
from ._layout import (
    H_ALPHA,
    H_AVERAGE_START,
    H_COMPUTE_LOSS,
    H_ETA0,
    H_FIT_INTERCEPT,
    H_L1,
    H_L2,
    H_OPTIMAL_T0,
    H_POWER_T,
    H_SCHEDULE,
    MIN_SCALE,
    ROW_BITS,
    S_AVG_INTERCEPT,
    S_INTERCEPT,
    S_L1_U,
    S_N_CLIPS,
    S_T,
)
from ._loss_switch import loss_derivative, loss_value
from ._prefetch import AHEAD, _prefetch
from ._rows import (
    order_row,
    prefetch_row_at,
    prefetch_row_extent,
    row_axpy,
    row_axpy_averaged,
    row_l1,
    row_score,
)
from ._weights import (
    average_step,
    clip_dloss,
    finish_epoch,
    shrink_or_fold,
    step_size,
)

__all__ = ["sgd_epoch_dense", "sgd_epoch_csr"]


@jit(inline="always")
def packed_label(entry):
    """The ±1 label of a packed order entry (bit 31 set: +1)."""
    return 1.0 if entry > ROW_BITS else -1.0


@jit()
def sgd_epoch(
    data, indices, indptr, y, sample_weight, order, loss_code, loss_params, hyper, coef,
    avg_coef, l1_q, state,
):  # fmt: skip
    """One SGD epoch over the rows ``order``: the one body of ``sgd_epoch_dense``
    (``data`` the 2-D rows, ``indices`` and ``indptr`` unused) and
    ``sgd_epoch_csr``.  It reaches a row's values only through ``_rows``, whose
    functions compile to the dense or the CSR loop over the row's features."""
    schedule = int(hyper[H_SCHEDULE])
    eta0, power_t, t0 = hyper[H_ETA0], hyper[H_POWER_T], hyper[H_OPTIMAL_T0]
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    average_start = hyper[H_AVERAGE_START]
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    weighted = sample_weight.shape[0] != 0  # else every weight is 1
    packed = y.shape[0] == 0  # else the labels ride in the order (packed_label)
    intercept, avg_intercept = state[S_INTERCEPT], state[S_AVG_INTERCEPT]
    t, u = state[S_T], state[S_L1_U]
    scale, avg_a, avg_b = 1.0, 0.0, 1.0
    weights = coef[None, :]  # 2-D view for row_dot (reshape: numba.np.arrayobj import at load)
    loss_sum = 0.0
    n_clips = 0

    n_steps = order.shape[0]
    for k in range(n_steps):
        if k + 2 * AHEAD < n_steps:  # CSR: where the row starts (dense: nothing)
            prefetch_row_extent(data, indptr, order_row(order[k + 2 * AHEAD], packed))
        if k + AHEAD < n_steps:
            ahead = order_row(order[k + AHEAD], packed)
            prefetch_row_at(data, indices, indptr, ahead)
            if not packed:
                _prefetch(y, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order_row(order[k], packed)
        y_i = packed_label(order[k]) if packed else y[i]
        p = scale * row_score(data, indices, indptr, weights, i) + intercept
        eta = step_size(schedule, eta0, power_t, t0, alpha, t)
        sw = sample_weight[i] if weighted else 1.0
        if compute_loss:
            loss_sum += sw * loss_value(loss_code, y_i, p, loss_params)
        dloss, clipped = clip_dloss(loss_derivative(loss_code, y_i, p, loss_params))
        n_clips += clipped
        update = -eta * sw * dloss

        if l2 > 0.0:
            factor = max(0.0, 1.0 - eta * l2)
            if scale * factor >= MIN_SCALE:
                # inline: a call passing the weight arrays costs more than the step
                scale *= factor
            else:
                scale, avg_a, avg_b = shrink_or_fold(coef, avg_coef, scale, factor, avg_a, avg_b)
        if update != 0.0:
            c = update / scale
            if avg_a != 0.0:
                row_axpy_averaged(data, indices, indptr, i, c, coef, avg_coef, avg_a)
            else:
                row_axpy(data, indices, indptr, i, c, coef)
        if fit_intercept:
            intercept += update
        if l1 > 0.0:
            u += eta * l1
            row_l1(data, indices, indptr, i, coef, avg_coef, l1_q, u, scale, avg_a)
        if 0.0 < average_start <= t:
            avg_a, avg_b, mu = average_step(t, average_start, scale, avg_a, avg_b)
            avg_intercept += mu * (intercept - avg_intercept)
        t += 1.0

    finish_epoch(coef, avg_coef, scale, avg_a, avg_b)
    state[S_INTERCEPT], state[S_AVG_INTERCEPT] = intercept, avg_intercept
    state[S_T], state[S_L1_U] = t, u
    state[S_N_CLIPS] += n_clips
    return loss_sum


@jit()
def sgd_epoch_dense(
    X, y, sample_weight, order, loss_code, loss_params, hyper, coef, avg_coef, l1_q, state
):
    """One SGD epoch over the rows ``X[order]``; see the module docstring."""
    no_index = np.empty(0, np.int32)  # dense rows have no CSR index
    return sgd_epoch(
        X, no_index, no_index, y, sample_weight, order, loss_code, loss_params, hyper, coef,
        avg_coef, l1_q, state,
    )  # fmt: skip


@jit()
def sgd_epoch_csr(
    data, indices, indptr, y, sample_weight, order, loss_code, loss_params, hyper, coef,
    avg_coef, l1_q, state,
):  # fmt: skip
    """One SGD epoch over CSR rows ``order``, O(nnz) a row; see the module docstring."""
    return sgd_epoch(
        data, indices, indptr, y, sample_weight, order, loss_code, loss_params, hyper, coef,
        avg_coef, l1_q, state,
    )  # fmt: skip
