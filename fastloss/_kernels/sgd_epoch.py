"""One epoch of plain SGD (scikit-learn's algorithm) over dense or CSR rows.

Both kernels share their arguments:

X / (data, indices, indptr)
    dense: (n_samples, n_features) C-contiguous float32 or float64;
    CSR: data (nnz,) float32/float64, indices (nnz,) int32, indptr
    (n_samples + 1,) int32, with indices in range (checked by the caller).
y, sample_weight : float64 (n_samples,)
    Targets in the loss's encoding; weights with class weights folded in.  An
    empty ``sample_weight`` (0,) means every weight is 1, and the kernel then
    reads no weights (``linear_model._runners.kernel_weights``).  An empty
    ``y`` means ±1 labels packed into ``order`` (below).
order : uint32 or int64 (n_steps,)
    Rows to visit, in order (a permutation of the training rows, or a prefix);
    uint32 below 2**32 rows (``linear_model._runners.kernel_rows``).  With an
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

Why two bodies, written side by side and edited together: the per-sample step
(schedule, loss, clipping, L2 scale, intercept, averaging) is the same in both,
and only the loops over a row's features (dot product, update, L1, prefetch)
differ.  One body compiled for both row layouts was built and measured for
issue 17 (the row loops as ``numba.extending.overload`` helpers on the row
array's type): bit-identical and cached, but whole fits ran slower per epoch
on 4 of 8 dense workloads (500,000 x 100, two runs of 7 and 11 alternating
pairs: squared error float32 +26-28 %, log loss float64 +7-10 %,
block-shuffled hinge +16-24 %; shuffled hinge float32 31 % faster), and the
empty-cache first fit took 2.5 s longer to compile.  Until a
shared body keeps every workload's speed, tests/test_kernel_pairs.py runs both
kernels on the same rows (labels packed or not, weights, every penalty,
averaging, float32 and float64) and fails when they drift apart.
"""

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
from ._prefetch import AHEAD, _prefetch, prefetch_range, prefetch_row
from ._weights import (
    average_step,
    clip_dloss,
    finish_epoch,
    l1_truncate,
    overflow_marker,
    shrink_or_fold,
    step_size,
)

__all__ = ["sgd_epoch_dense", "sgd_epoch_csr"]


@jit(inline="always")
def order_row(entry, packed):
    """The row of an order entry: without its label bit when labels are packed."""
    return entry & ROW_BITS if packed else entry


@jit(inline="always")
def packed_label(entry):
    """The ±1 label of a packed order entry (bit 31 set: +1)."""
    return 1.0 if entry > ROW_BITS else -1.0


@jit(fastmath={"reassoc", "contract", "nsz", "arcp"})
def row_dot(W, k, X, i):
    """W[k] @ X[i] for two C-contiguous 2-D arrays, reassociated so that LLVM
    vectorises it.  Indexing the 2-D arrays, not row views: a view costs two
    atomic reference-count updates, about 10% of a one-vs-rest epoch.  Every
    dense SGD kernel computes its scores here, so one-vs-rest and per-class
    epochs round alike.

    The sum is kept in X's dtype: float32 rows are summed in float32 (as
    scikit-learn's float32 SGD sums them), 8 products a vector, instead of
    each product being widened to float64, 4 a vector (see the float32 step
    in ``sgd_epoch_dense``)."""
    s = X.dtype.type(0.0)
    for j in range(X.shape[1]):
        s += W[k, j] * X[i, j]
    return s


@jit()
def sparse_dot(coef, data, indices, start, end):
    s = 0.0
    for k in range(start, end):
        s += coef[indices[k]] * data[k]
    return s


@jit()
def sgd_epoch_dense(
    X, y, sample_weight, order, loss_code, loss_params, hyper, coef, avg_coef, l1_q, state
):
    """One SGD epoch over the rows ``X[order]``; see the module docstring."""
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
    n_features = X.shape[1]
    weights = coef[None, :]  # 2-D view for row_dot (reshape: numba.np.arrayobj import at load)
    loss_sum = 0.0
    n_clips = 0

    n_steps = order.shape[0]
    for k in range(n_steps):
        if k + AHEAD < n_steps:
            ahead = order_row(order[k + AHEAD], packed)
            prefetch_row(X, ahead)
            if not packed:
                _prefetch(y, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order_row(order[k], packed)
        y_i = packed_label(order[k]) if packed else y[i]
        p = scale * row_dot(weights, 0, X, i) + intercept
        eta = step_size(schedule, eta0, power_t, t0, alpha, t)
        sw = sample_weight[i] if weighted else 1.0
        if compute_loss:
            loss_sum += sw * loss_value(loss_code, y_i, p, loss_params)
        loss_sum += overflow_marker(p)
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
                for j in range(n_features):
                    d = c * X[i, j]
                    coef[j] += d
                    avg_coef[j] -= avg_a * d
            else:
                c_x = X.dtype.type(c)  # float32 rows: a float32 update, 8 lanes a vector
                for j in range(n_features):
                    coef[j] += c_x * X[i, j]
        if fit_intercept:
            intercept += update
        if l1 > 0.0:
            u += eta * l1
            for j in range(n_features):
                if X[i, j] != 0.0:
                    delta = l1_truncate(coef, l1_q, j, u, scale)
                    avg_coef[j] -= avg_a * delta
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
def sgd_epoch_csr(
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
    avg_coef,
    l1_q,
    state,
):
    """One SGD epoch over CSR rows ``order``, O(nnz) a row; see the module docstring."""
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
    loss_sum = 0.0
    n_clips = 0

    n_steps = order.shape[0]
    for k in range(n_steps):
        if k + 2 * AHEAD < n_steps:
            _prefetch(indptr, order_row(order[k + 2 * AHEAD], packed))
        if k + AHEAD < n_steps:
            ahead = order_row(order[k + AHEAD], packed)
            prefetch_range(data, indptr[ahead], indptr[ahead + 1])
            prefetch_range(indices, indptr[ahead], indptr[ahead + 1])
            if not packed:
                _prefetch(y, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order_row(order[k], packed)
        y_i = packed_label(order[k]) if packed else y[i]
        start, end = indptr[i], indptr[i + 1]
        p = scale * sparse_dot(coef, data, indices, start, end) + intercept
        eta = step_size(schedule, eta0, power_t, t0, alpha, t)
        sw = sample_weight[i] if weighted else 1.0
        if compute_loss:
            loss_sum += sw * loss_value(loss_code, y_i, p, loss_params)
        loss_sum += overflow_marker(p)
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
                for kk in range(start, end):
                    j = indices[kk]
                    d = c * data[kk]
                    coef[j] += d
                    avg_coef[j] -= avg_a * d
            else:
                for kk in range(start, end):
                    coef[indices[kk]] += c * data[kk]
        if fit_intercept:
            intercept += update
        if l1 > 0.0:
            u += eta * l1
            for kk in range(start, end):
                if data[kk] != 0.0:
                    j = indices[kk]
                    delta = l1_truncate(coef, l1_q, j, u, scale)
                    avg_coef[j] -= avg_a * delta
        if 0.0 < average_start <= t:
            avg_a, avg_b, mu = average_step(t, average_start, scale, avg_a, avg_b)
            avg_intercept += mu * (intercept - avg_intercept)
        t += 1.0

    finish_epoch(coef, avg_coef, scale, avg_a, avg_b)
    state[S_INTERCEPT], state[S_AVG_INTERCEPT] = intercept, avg_intercept
    state[S_T], state[S_L1_U] = t, u
    state[S_N_CLIPS] += n_clips
    return loss_sum
