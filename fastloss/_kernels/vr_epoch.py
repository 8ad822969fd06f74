"""One epoch of a variance-reduced solver (SAGA, or SVRG's inner loop) over dense or CSR rows.

SAGA (Defazio, Bach & Lacoste-Julien, 2014) keeps one derivative a row,
``table[i] = sw_i * dloss(y_i, x_i . w + b)`` at the weights the row was last
visited with, and their mean gradient ``mean = sum_i table[i] x_i / n``.  A step
on row ``i`` with a fresh derivative ``d``:

    w <- prox(w (1 - eta l2) - eta ((d - table[i]) x_i + mean))
    b <- b - eta ((d - table[i]) + mean_b)
    mean += (d - table[i]) x_i / n;  table[i] = d

where ``prox`` is the soft-thresholding of the L1 part (``eta l1``); the L2
part is in the smooth objective.  SVRG's inner loop (Johnson & Zhang, 2013) is
the same step with ``table`` and ``mean`` frozen at a snapshot (the runner
recomputes them every few epochs), so one kernel serves both
(``hyper[V_UPDATE_TABLE]``).

Arguments, shared by both kernels:

X / (data, indices, indptr)
    dense: (n_samples, n_features) C-contiguous float32 or float64;
    CSR: data (nnz,), indices (nnz,) uint32, indptr (n_samples + 1,) uint32.
y, sample_weight : float64 (n_samples,)
    Targets in the loss's encoding; weights (empty (0,): all 1).
order : uint32 or int64 (n_steps,)
    Rows to visit, in order.
loss_code, loss_params : int, float64 (n_params,)
hyper : float64 (V_SIZE,)
    ``H_ALPHA``, ``H_L2``, ``H_L1``, ``H_FIT_INTERCEPT``, ``H_COMPUTE_LOSS``
    and the ``V_*`` slots of ``_layout``.
coef : X.dtype (n_features,)
    The weights, updated in place (true weights on return).
table : float64 (n_samples,)
    Stored derivatives, one a row (only the rows in ``order`` are read).
mean : float64 (n_features + 1,)
    Their mean gradient; the last entry is the intercept's.
state : float64 (S_SIZE,)
    ``S_INTERCEPT``, ``S_T`` and ``S_N_CLIPS``, updated in place.

The binary CSR kernel takes ``mean`` as column ``F_MEAN`` of its
``feature_state`` (see :func:`saga_epoch_csr`) and a scratch array ``cumsum``
float64 (n_steps + 1,); the multinomial CSR kernel scratch arrays ``cumsum``
and ``last`` int64 (n_features,).  It keeps ``w = scale * v`` (the L2 shrink
in O(1)) and applies the steps of a feature no row touches just in time, when
a row next touches it (and to every feature at the end of the epoch): between
two touches a feature's ``mean`` entry is constant, so the skipped steps are
``v <- soft(v - c_t g, c_t l1)`` with ``c_t = eta / scale_t``, whose
composition :func:`skipped_steps` computes from the cumulative sum of the
``c_t`` (exactly; a weight that changes sign on the way takes a binary search
over them, :func:`crossing_steps`).  An epoch is O(nnz) plus O(n_features).
scikit-learn's ``sag_fast`` applies the same idea with a step-by-step loop where
the weight may cross zero.

Each returns the weighted sum of the per-sample losses at the weights each
row was visited with (as the SGD kernels report it).

The multinomial kernels (softmax cross-entropy over ``K`` classes) take the
same step with a derivative vector a row: ``labels`` int64 (n_samples,) class
indices instead of ``y``, ``coef`` (K, n_features) on dense rows and
(n_features, K) on CSR rows (a row's feature updates all its classes in one
cache line), ``intercept`` float64 (K,), ``table`` float64 (n_samples, K),
``mean`` float64 (K, n_features + 1) dense / (n_features + 1, K) CSR, and
scratch ``scores``, ``grad`` float64 (K,).
"""

from .._config import jit
from ._layout import (
    F_MEAN,
    F_STEP_AT,
    F_SUM_AT,
    H_ALPHA,
    H_COMPUTE_LOSS,
    H_FIT_INTERCEPT,
    H_L1,
    H_L2,
    MIN_SCALE,
    S_INTERCEPT,
    S_N_CLIPS,
    S_T,
    V_N,
    V_STEP,
    V_UPDATE_TABLE,
)
from ._loss_switch import loss_derivative, loss_value
from ._multiclass_losses import softmax_loss_gradient
from ._prefetch import AHEAD, _prefetch, prefetch_range, prefetch_row
from ._weights import clip_dloss, overflow_marker
from .sgd_epoch import row_dot

__all__ = [
    "saga_epoch_dense",
    "saga_epoch_csr",
    "saga_multinomial_dense",
    "saga_multinomial_csr",
    "skipped_steps",
    "crossing_steps",
]


@jit(inline="always")
def soft_threshold(z, threshold):
    """sign(z) max(|z| - threshold, 0): the prox of ``threshold |.|``, without
    branches (a weight near zero would make them unpredictable)."""
    return z - min(max(z, -threshold), threshold)


@jit()
def skipped_steps(v, g, l1, total):
    """``v`` after steps ``v <- soft(v - c g, c l1)`` whose ``c`` sum to ``total``.

    Returns ``(value, exact)``; ``exact`` is False when the weight crosses zero
    with ``|g| > l1`` (where it lands depends on the individual steps: then
    :func:`crossing_steps`).  Where ``|g| <= l1`` the weight moves towards zero
    and stops there, so one soft-thresholding by the totals is the
    composition; otherwise it moves by ``-c (g + l1 sign(v))`` a step.
    """
    if l1 == 0.0:
        return v - total * g, True
    if abs(g) <= l1:
        return soft_threshold(v - total * g, total * l1), True
    if g > 0.0:
        if v <= 0.0:
            return v - total * (g - l1), True
        z = v - total * (g + l1)
        return (z, True) if z > 0.0 else (0.0, False)
    if v >= 0.0:
        return v - total * (g + l1), True
    z = v - total * (g - l1)
    return (z, True) if z < 0.0 else (0.0, False)


@jit()
def crossing_steps(v, g, l1, cumsum, a, b):
    """``v`` after the steps ``a + 1 .. b`` (``c_t = cumsum[t] - cumsum[t - 1]``)
    of :func:`skipped_steps` when the weight crosses zero: a binary search for
    the step where it does, O(log(b - a))."""
    sign = 1.0
    if g < 0.0:  # mirror: the weight moves down from v > 0
        v, g, sign = -v, -g, -1.0
    down, past = g + l1, g - l1
    lo, hi = a + 1, b
    while lo < hi:
        mid = (lo + hi) // 2
        if v - (cumsum[mid] - cumsum[a]) * down <= 0.0:
            hi = mid
        else:
            lo = mid + 1
    before = v - (cumsum[lo - 1] - cumsum[a]) * down
    at = min(0.0, before - (cumsum[lo] - cumsum[lo - 1]) * past)
    return sign * (at - (cumsum[b] - cumsum[lo]) * past)


@jit()
def saga_epoch_dense(
    X, y, sample_weight, order, loss_code, loss_params, hyper, coef, table, mean, state
):
    """One SAGA (or SVRG inner) epoch over the rows ``X[order]``; see the module docstring."""
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    eta = hyper[V_STEP]
    inv_n = 1.0 / hyper[V_N]
    update_table = hyper[V_UPDATE_TABLE] != 0.0
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    weighted = sample_weight.shape[0] != 0
    n_features = X.shape[1]
    intercept = state[S_INTERCEPT]
    shrink = 1.0 - eta * l2
    threshold = eta * l1
    weights = coef[None, :]
    loss_sum = 0.0
    n_clips = 0

    n_steps = order.shape[0]
    for k in range(n_steps):
        if k + AHEAD < n_steps:
            ahead = order[k + AHEAD]
            prefetch_row(X, ahead)
            _prefetch(y, ahead)
            _prefetch(table, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order[k]
        p = row_dot(weights, 0, X, i) + intercept
        sw = sample_weight[i] if weighted else 1.0
        if compute_loss:
            loss_sum += sw * loss_value(loss_code, y[i], p, loss_params)
        loss_sum += overflow_marker(p)
        dloss, clipped = clip_dloss(loss_derivative(loss_code, y[i], p, loss_params))
        n_clips += clipped
        delta = sw * dloss - table[i]

        if threshold > 0.0:
            for j in range(n_features):
                z = shrink * coef[j] - eta * (delta * X[i, j] + mean[j])
                coef[j] = soft_threshold(z, threshold)
        else:
            for j in range(n_features):
                coef[j] = shrink * coef[j] - eta * (delta * X[i, j] + mean[j])
        if fit_intercept:
            intercept -= eta * (delta + mean[n_features])
        if update_table and delta != 0.0:
            c = delta * inv_n
            for j in range(n_features):
                mean[j] += c * X[i, j]
            if fit_intercept:
                mean[n_features] += c
            table[i] += delta

    state[S_INTERCEPT] = intercept
    state[S_T] += n_steps
    state[S_N_CLIPS] += n_clips
    return loss_sum


@jit()
def saga_epoch_csr(
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
    table,
    feature_state,
    cumsum,
    state,
):
    """One SAGA (or SVRG inner) epoch over CSR rows ``order``, O(nnz) plus
    O(n_features); see the module docstring.

    ``feature_state`` float64 (n_features + 1, F_SIZE) holds, side by side, each
    feature's mean gradient (``F_MEAN``, the intercept's in the last row) and
    its cumulative step sum and step number at its last update (``F_SUM_AT``,
    ``F_STEP_AT``): a touched feature costs two random cache lines (``coef``
    and its row), not four with separate arrays and a lookup of ``cumsum``
    (read only where a weight crosses zero)."""
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    eta = hyper[V_STEP]
    inv_n = 1.0 / hyper[V_N]
    update_table = hyper[V_UPDATE_TABLE] != 0.0
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    weighted = sample_weight.shape[0] != 0
    n_features = coef.shape[0]
    intercept = state[S_INTERCEPT]
    shrink = 1.0 - eta * l2
    scale = 1.0
    total = 0.0  # cumsum[k]: the step sizes (in units of v) so far
    loss_sum = 0.0
    n_clips = 0
    cumsum[0] = 0.0
    for j in range(n_features):
        feature_state[j, F_SUM_AT] = 0.0
        feature_state[j, F_STEP_AT] = 0.0

    n_steps = order.shape[0]
    for k in range(n_steps):
        if k + 2 * AHEAD < n_steps:
            _prefetch(indptr, order[k + 2 * AHEAD])
        if k + AHEAD < n_steps:
            ahead = order[k + AHEAD]
            prefetch_range(data, indptr[ahead], indptr[ahead + 1])
            prefetch_range(indices, indptr[ahead], indptr[ahead + 1])
            _prefetch(y, ahead)
            _prefetch(table, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order[k]
        start, end = indptr[i], indptr[i + 1]
        # bring the row's features up to date (their steps after the last one
        # applied, up to step k) while scoring the row
        dot = 0.0
        for kk in range(start, end):
            j = indices[kk]
            skipped = total - feature_state[j, F_SUM_AT]
            if skipped != 0.0:
                g = feature_state[j, F_MEAN]
                v, exact = skipped_steps(coef[j], g, l1, skipped)
                if not exact:
                    v = crossing_steps(coef[j], g, l1, cumsum, int(feature_state[j, F_STEP_AT]), k)
                coef[j] = v
            dot += coef[j] * data[kk]
        p = scale * dot + intercept
        sw = sample_weight[i] if weighted else 1.0
        if compute_loss:
            loss_sum += sw * loss_value(loss_code, y[i], p, loss_params)
        loss_sum += overflow_marker(p)
        dloss, clipped = clip_dloss(loss_derivative(loss_code, y[i], p, loss_params))
        n_clips += clipped
        delta = sw * dloss - table[i]

        # step k + 1: the shrink on every weight (in the scale), the row's
        # features now, the others' mean-gradient and L1 steps when next touched
        scale *= shrink
        c = eta / scale
        total += c
        cumsum[k + 1] = total
        threshold = c * l1
        moved = delta * inv_n if update_table else 0.0
        for kk in range(start, end):
            j = indices[kk]
            x = data[kk]
            z = coef[j] - c * (delta * x + feature_state[j, F_MEAN])
            coef[j] = soft_threshold(z, threshold) if threshold > 0.0 else z
            feature_state[j, F_MEAN] += moved * x
            feature_state[j, F_SUM_AT] = total
            feature_state[j, F_STEP_AT] = k + 1
        if fit_intercept:
            intercept -= eta * (delta + feature_state[n_features, F_MEAN])
            feature_state[n_features, F_MEAN] += moved
        if update_table:
            table[i] += delta
        if scale < MIN_SCALE:  # fold the scale into the weights, all brought up to date
            for j in range(n_features):
                skipped = total - feature_state[j, F_SUM_AT]
                if skipped != 0.0:
                    g = feature_state[j, F_MEAN]
                    v, exact = skipped_steps(coef[j], g, l1, skipped)
                    if not exact:
                        v = crossing_steps(
                            coef[j], g, l1, cumsum, int(feature_state[j, F_STEP_AT]), k + 1
                        )
                    coef[j] = v
                coef[j] *= scale
                feature_state[j, F_SUM_AT] = 0.0
                feature_state[j, F_STEP_AT] = k + 1
            scale, total = 1.0, 0.0
            cumsum[k + 1] = 0.0  # every feature is at k + 1: earlier sums are never read

    for j in range(n_features):
        skipped = total - feature_state[j, F_SUM_AT]
        if skipped != 0.0:
            g = feature_state[j, F_MEAN]
            v, exact = skipped_steps(coef[j], g, l1, skipped)
            if not exact:
                v = crossing_steps(
                    coef[j], g, l1, cumsum, int(feature_state[j, F_STEP_AT]), n_steps
                )
            coef[j] = v
        coef[j] *= scale
    state[S_INTERCEPT] = intercept
    state[S_T] += n_steps
    state[S_N_CLIPS] += n_clips
    return loss_sum


@jit()
def saga_multinomial_dense(
    X, labels, sample_weight, order, hyper, coef, intercept, table, mean, scores, grad, state
):
    """One multinomial SAGA (or SVRG inner) epoch over ``X[order]``; see the
    module docstring."""
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    eta = hyper[V_STEP]
    inv_n = 1.0 / hyper[V_N]
    update_table = hyper[V_UPDATE_TABLE] != 0.0
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    weighted = sample_weight.shape[0] != 0
    n_classes, n_features = coef.shape
    shrink = 1.0 - eta * l2
    threshold = eta * l1
    loss_sum = 0.0

    n_steps = order.shape[0]
    for k in range(n_steps):
        if k + AHEAD < n_steps:
            ahead = order[k + AHEAD]
            prefetch_row(X, ahead)
            prefetch_row(table, ahead)
            _prefetch(labels, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order[k]
        for c in range(n_classes):
            scores[c] = row_dot(coef, c, X, i) + intercept[c]
        sw = sample_weight[i] if weighted else 1.0
        loss_sum += sw * softmax_loss_gradient(labels[i], scores, grad)
        for c in range(n_classes):
            loss_sum += overflow_marker(scores[c])
            delta = sw * grad[c] - table[i, c]
            for j in range(n_features):
                z = shrink * coef[c, j] - eta * (delta * X[i, j] + mean[c, j])
                coef[c, j] = soft_threshold(z, threshold) if threshold > 0.0 else z
            if fit_intercept:
                intercept[c] -= eta * (delta + mean[c, n_features])
            if update_table and delta != 0.0:
                d = delta * inv_n
                for j in range(n_features):
                    mean[c, j] += d * X[i, j]
                if fit_intercept:
                    mean[c, n_features] += d
                table[i, c] += delta

    state[S_T] += n_steps
    return loss_sum


@jit()
def saga_multinomial_csr(
    data,
    indices,
    indptr,
    labels,
    sample_weight,
    order,
    hyper,
    coef,
    intercept,
    table,
    mean,
    scores,
    grad,
    cumsum,
    last,
    state,
):
    """One multinomial SAGA (or SVRG inner) epoch over CSR rows ``order``,
    O(nnz K) plus O(n_features K), the skipped steps just in time as in
    :func:`saga_epoch_csr`; see the module docstring."""
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    eta = hyper[V_STEP]
    inv_n = 1.0 / hyper[V_N]
    update_table = hyper[V_UPDATE_TABLE] != 0.0
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    weighted = sample_weight.shape[0] != 0
    n_features, n_classes = coef.shape
    shrink = 1.0 - eta * l2
    scale = 1.0
    loss_sum = 0.0
    cumsum[0] = 0.0
    for j in range(n_features):
        last[j] = 0

    n_steps = order.shape[0]
    for k in range(n_steps):
        if k + 2 * AHEAD < n_steps:
            _prefetch(indptr, order[k + 2 * AHEAD])
        if k + AHEAD < n_steps:
            ahead = order[k + AHEAD]
            prefetch_range(data, indptr[ahead], indptr[ahead + 1])
            prefetch_range(indices, indptr[ahead], indptr[ahead + 1])
            prefetch_row(table, ahead)
            _prefetch(labels, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order[k]
        start, end = indptr[i], indptr[i + 1]
        for kk in range(start, end):
            j = indices[kk]
            a = last[j]
            if a < k:
                for c in range(n_classes):
                    v, exact = skipped_steps(coef[j, c], mean[j, c], l1, cumsum[k] - cumsum[a])
                    if not exact:
                        v = crossing_steps(coef[j, c], mean[j, c], l1, cumsum, a, k)
                    coef[j, c] = v
                last[j] = k
        for c in range(n_classes):
            scores[c] = 0.0
        for kk in range(start, end):
            j = indices[kk]
            x = data[kk]
            for c in range(n_classes):
                scores[c] += coef[j, c] * x
        for c in range(n_classes):
            scores[c] = scale * scores[c] + intercept[c]
        sw = sample_weight[i] if weighted else 1.0
        loss_sum += sw * softmax_loss_gradient(labels[i], scores, grad)
        for c in range(n_classes):
            loss_sum += overflow_marker(scores[c])
            grad[c] = sw * grad[c] - table[i, c]  # grad now holds the deltas

        scale *= shrink
        step = eta / scale
        cumsum[k + 1] = cumsum[k] + step
        threshold = step * l1
        for kk in range(start, end):
            j = indices[kk]
            x = data[kk]
            for c in range(n_classes):
                z = coef[j, c] - step * (grad[c] * x + mean[j, c])
                coef[j, c] = soft_threshold(z, threshold) if threshold > 0.0 else z
            last[j] = k + 1
        for c in range(n_classes):
            if fit_intercept:
                intercept[c] -= eta * (grad[c] + mean[n_features, c])
        if update_table:
            for kk in range(start, end):
                j = indices[kk]
                x = data[kk] * inv_n
                for c in range(n_classes):
                    mean[j, c] += grad[c] * x
            for c in range(n_classes):
                if fit_intercept:
                    mean[n_features, c] += grad[c] * inv_n
                table[i, c] += grad[c]
        if scale < MIN_SCALE:  # fold the scale into the weights, all brought up to date
            for j in range(n_features):
                a = last[j]
                for c in range(n_classes):
                    if a < k + 1:
                        total = cumsum[k + 1] - cumsum[a]
                        v, exact = skipped_steps(coef[j, c], mean[j, c], l1, total)
                        if not exact:
                            v = crossing_steps(coef[j, c], mean[j, c], l1, cumsum, a, k + 1)
                        coef[j, c] = v
                    coef[j, c] *= scale
                last[j] = k + 1
            scale = 1.0
            cumsum[k + 1] = 0.0

    for j in range(n_features):
        a = last[j]
        for c in range(n_classes):
            if a < n_steps:
                v, exact = skipped_steps(coef[j, c], mean[j, c], l1, cumsum[n_steps] - cumsum[a])
                if not exact:
                    v = crossing_steps(coef[j, c], mean[j, c], l1, cumsum, a, n_steps)
                coef[j, c] = v
            coef[j, c] *= scale
    state[S_T] += n_steps
    return loss_sum
