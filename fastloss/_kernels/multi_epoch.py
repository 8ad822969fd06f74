"""One SGD epoch that trains one linear model per class from one read of each row.

scikit-learn's one-vs-rest reads X once per class per epoch; these kernels read
each row once and update every class's weights from it, which is what a
shuffled epoch (bound by memory latency: docs/developer/architecture.rst,
"Measured facts") needs.  The same loop
serves the joint multiclass losses (softmax, Crammer-Singer), whose gradient
couples the classes.

Both kernels share their arguments:

X / (data, indices, indptr)
    As in ``sgd_epoch``: dense (n_samples, n_features) C-contiguous, or CSR.
labels : int64 (n_samples,)
    Class index of each row.
sample_weight : float64 (n_samples,), or (0,) for weights all 1 (as in ``sgd_epoch``)
class_weight : float64 (n_classes,)
    Weight of each class of this block of classes.  One-vs-rest multiplies it
    into the weight of the class's positive samples only (scikit-learn's
    semantics); the joint modes into every sample of that class.
class_offset : int
    Global index of this block's first class: one-vs-rest classes can be
    split into blocks trained by separate threads.
order : uint32 or int64 (n_steps,)
    Rows to visit, in order.
mode : int
    ``OVR``, ``MULTINOMIAL`` or ``CRAMMER_SINGER`` (``_layout``).
loss_code, loss_params : int, float64 (n_params,)
    The scalar loss of one-vs-rest (``_loss_switch``), reached only through
    ``loss_value`` / ``loss_derivative``; unused by the joint modes.
hyper : float64 (H_SIZE,)
    Schedule, penalty, averaging and flags (``_layout``); the step size
    ``eta0`` is per class, in ``cstate``.
coef, avg_coef : X.dtype, C-contiguous
    Weights and averaged weights, updated in place.  Dense: (n_classes,
    n_features), a class's weights contiguous, so that each score is the
    vectorised dot product of ``sgd_epoch`` (and every class computes exactly
    what ``sgd_epoch_dense`` computes); CSR: (n_features, n_classes), a
    feature's weights for all classes contiguous, so that a stored value
    touches one cache line for all classes.
l1_q : float64, the shape of ``coef``
    L1 penalty each weight has received, updated in place.
cstate : float64 (C_SIZE, n_classes)
    Per-class intercepts, step counters, cumulative L1 penalty, step size,
    active flag and clip count (rows ``C_*``), updated in place.  An inactive
    class (one that met its one-vs-rest stopping criterion) is frozen.
loss_sums : float64 (n_classes,)
    Receives each class's weighted loss sum over the epoch (one-vs-rest: the
    class's binary problem, when ``hyper[H_COMPUTE_LOSS]``; joint modes: the
    loss of the samples of that class, always).

Per class, the arithmetic is exactly that of ``sgd_epoch`` (same operations in
the same order), so one-vs-rest here equals one ``sgd_epoch`` per class over
the same order.

Why two kernel bodies (dense and CSR), as in ``sgd_epoch``: the twins share
every per-row helper below, but their loops (prefetch, scores, the
one-vs-rest / joint loss step) are written twice.  One body compiled for both
row layouts (the row loops as helpers overloaded on the row array's type) was
tried for issue 17: bit-identical and free of reference counts, but
slower on dense rows (200,000 x 100, 5 one-vs-rest classes, kernel time per
shuffled epoch, 9 alternating pairs, medians: float64 39.9 -> 57.5 ms, float32 32.0 ->
49.2 ms; CSR 200,000 x 100,000 with 50 values a row 117.5 -> 128.7 ms), and the
time box ran out before the cause was found.  Until then the two bodies must be
edited together; tests/test_kernel_pairs.py runs both on the same rows, for
every mode, penalty, averaging and weights, and fails when they drift apart.
"""

import numpy as np

from .._config import jit
from ._layout import (
    C_ACTIVE,
    C_AVG_INTERCEPT,
    C_ETA0,
    C_INTERCEPT,
    C_L1_U,
    C_N_CLIPS,
    C_T,
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
    OVR,
)
from ._loss_switch import loss_derivative, loss_value
from ._multiclass_losses import multiclass_loss_gradient
from ._prefetch import AHEAD, _prefetch, prefetch_range, prefetch_row
from ._weights import (
    average_step,
    clip_dloss,
    overflow_marker,
    step_size,
)
from .sgd_epoch import row_dot

__all__ = ["multi_epoch_dense", "multi_epoch_csr"]


# ------------------------------------------ reference counts in the row loop
# Numba counts a reference to every array a function receives or an IR-inlined
# helper binds, and its refprune pass removes those counts only where nothing in
# between calls a function that takes an array.  Left in the row loop, they cost
# two atomic updates per array per row: a third of a 10-class one-vs-rest
# epoch.  Hence: the helpers called once a row (class_steps, add_dense_row,
# add_csr_row, finish_step, truncate_*_row) are plain calls whose bodies call no
# function that takes an array; the helpers inside them (fold_class,
# l1_truncate_cell, ...) are IR-inlined and call nothing; the dense scores,
# which call row_dot (compiled with fastmath, so not IR-inlined), are written
# in the kernels' bodies.  tests/test_kernel_refcounts.py checks all of it.
@jit(inline="always")
def fold_class(coef, avg_coef, k, class_major, scale, avg_a, avg_b):
    """Materialise class k's lazy average and weight scale into its weights in
    ``coef`` and ``avg_coef``: row k when ``class_major`` ((n_classes,
    n_features)), else column k ((n_features, n_classes))."""
    averaging = avg_a != 0.0 or avg_b != 1.0
    for j in range(coef.shape[1] if class_major else coef.shape[0]):
        r, c = (k, j) if class_major else (j, k)
        if averaging:
            avg_coef[r, c] = (avg_coef[r, c] + avg_a * coef[r, c]) / avg_b
        coef[r, c] *= scale


@jit(inline="always")
def l1_truncate_cell(coef, l1_q, j, k, u, scale):
    """``_weights.l1_truncate`` for the weight ``coef[j, k]`` of a 2-D array (either
    layout); returns its change."""
    z = coef[j, k]
    w = scale * z
    if w > 0.0:
        coef[j, k] = max(0.0, z - (u + l1_q[j, k]) / scale)
    elif w < 0.0:
        coef[j, k] = min(0.0, z + (u - l1_q[j, k]) / scale)
    delta = coef[j, k] - z
    l1_q[j, k] += scale * delta
    return delta


# ------------------------------------------------------------- one sample
@jit(inline="always")
def block_width(n_left):
    """Classes of the next block of scores: 8, 4, 2 or 1 (the largest that fits)."""
    if n_left >= 8:
        return 8
    if n_left >= 4:
        return 4
    return 2 if n_left >= 2 else 1


@jit(inline="always")
def csr_block(data, indices, start, end, coef, k0, width, p):
    """p[k0:k0 + width] = the CSR row ``start:end`` @ coef[:, k0:k0 + width], each
    summed in stored order; coef (n_features, n_classes).

    The block's sums live in scalar variables (LLVM keeps them in vector
    registers): accumulating in ``p`` would store and reload it every value.
    """
    if width == 8:
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
        for kk in range(start, end):
            x, w = data[kk], coef[indices[kk]]
            a0 += w[k0] * x
            a1 += w[k0 + 1] * x
            a2 += w[k0 + 2] * x
            a3 += w[k0 + 3] * x
            a4 += w[k0 + 4] * x
            a5 += w[k0 + 5] * x
            a6 += w[k0 + 6] * x
            a7 += w[k0 + 7] * x
        p[k0], p[k0 + 1], p[k0 + 2], p[k0 + 3] = a0, a1, a2, a3
        p[k0 + 4], p[k0 + 5], p[k0 + 6], p[k0 + 7] = a4, a5, a6, a7
    elif width == 4:
        a0 = a1 = a2 = a3 = 0.0
        for kk in range(start, end):
            x, w = data[kk], coef[indices[kk]]
            a0 += w[k0] * x
            a1 += w[k0 + 1] * x
            a2 += w[k0 + 2] * x
            a3 += w[k0 + 3] * x
        p[k0], p[k0 + 1], p[k0 + 2], p[k0 + 3] = a0, a1, a2, a3
    elif width == 2:
        a0 = a1 = 0.0
        for kk in range(start, end):
            x, w = data[kk], coef[indices[kk]]
            a0 += w[k0] * x
            a1 += w[k0 + 1] * x
        p[k0], p[k0 + 1] = a0, a1
    else:
        a0 = 0.0
        for kk in range(start, end):
            a0 += coef[indices[kk], k0] * data[kk]
        p[k0] = a0


@jit(inline="always")
def csr_scores(data, indices, start, end, coef, scale, cstate, p):
    """p[k] = scale[k] * (row @ coef[:, k]) + intercept[k] over the stored values
    ``start:end`` of a CSR row, in stored order; coef (n_features, n_classes)."""
    n_classes = p.shape[0]
    k0 = 0
    while k0 < n_classes:
        width = block_width(n_classes - k0)
        csr_block(data, indices, start, end, coef, k0, width, p)
        k0 += width
    for k in range(n_classes):
        p[k] = scale[k] * p[k] + cstate[C_INTERCEPT, k]


@jit(inline="always")
def ovr_target(positive, sw, class_weight):
    """One-vs-rest target (+1 / -1) and sample weight of one class: the class
    weight applies to the class's own samples only, as in scikit-learn."""
    if positive:
        return 1.0, sw * class_weight
    return -1.0, sw * 1.0


@jit()
def class_steps(
    hyper, cstate, weight, dloss, coef, avg_coef, class_major, scale, avg_a, avg_b, step
):
    """Per class: step size, L2 shrink, intercept update; ``step[k]`` receives
    the update of the class's stored weights per unit feature value.  Called
    once a row, not inlined (see "reference counts in the row loop").

    ``class_major``: ``coef`` is (n_classes, n_features), else its transpose.
    """
    schedule = int(hyper[H_SCHEDULE])
    power_t, t0, alpha = hyper[H_POWER_T], hyper[H_OPTIMAL_T0], hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    last_t, last_eta0, eta, factor = -1.0, -1.0, 0.0, 1.0
    for k in range(step.shape[0]):
        if cstate[C_ACTIVE, k] == 0.0:
            step[k] = 0.0
            continue
        t, eta0 = cstate[C_T, k], cstate[C_ETA0, k]
        if t != last_t or eta0 != last_eta0:  # classes usually share t: one pow
            eta = step_size(schedule, eta0, power_t, t0, alpha, t)
            factor = max(0.0, 1.0 - eta * l2)
            last_t, last_eta0 = t, eta0
        update = -eta * weight[k] * dloss[k]
        if l2 > 0.0:
            scale[k] *= factor
            if scale[k] < MIN_SCALE:  # _weights.shrink_or_fold
                fold_class(coef, avg_coef, k, class_major, scale[k], avg_a[k], avg_b[k])
                scale[k], avg_a[k], avg_b[k] = 1.0, 0.0, 1.0
        step[k] = update / scale[k]
        if fit_intercept:
            cstate[C_INTERCEPT, k] += update
        if l1 > 0.0:
            cstate[C_L1_U, k] += eta * l1


@jit()
def add_dense_row(coef, avg_coef, X, i, step, avg_a):
    """coef[k] += step[k] * X[i] for every class with a step, and the lazy
    average's correction; coef (n_classes, n_features)."""
    for k in range(step.shape[0]):
        c, a = step[k], avg_a[k]
        if c == 0.0:
            continue
        if a != 0.0:
            for j in range(X.shape[1]):
                d = c * X[i, j]
                coef[k, j] += d
                avg_coef[k, j] -= a * d
        else:
            c_x = X.dtype.type(c)  # as in sgd_epoch_dense: float32 lanes for float32 rows
            for j in range(X.shape[1]):
                coef[k, j] += c_x * X[i, j]


@jit()
def add_csr_row(coef, avg_coef, data, indices, start, end, step, avg_a, averaging):
    """coef[j, :] += step * x for each stored value x of feature j in ``start:end``
    of a CSR row, and the lazy average's correction; coef (n_features, n_classes)."""
    n_classes = step.shape[0]
    for kk in range(start, end):
        j, x = indices[kk], data[kk]
        if averaging:
            for k in range(n_classes):
                d = step[k] * x
                coef[j, k] += d
                avg_coef[j, k] -= avg_a[k] * d
        else:
            for k in range(n_classes):
                coef[j, k] += step[k] * x


@jit(inline="always")
def truncate_features(coef, avg_coef, l1_q, j, cstate, scale, avg_a):
    """L1-truncate feature j's weight of every active class; coef (n_features, n_classes)."""
    for k in range(scale.shape[0]):
        if cstate[C_ACTIVE, k] != 0.0:
            delta = l1_truncate_cell(coef, l1_q, j, k, cstate[C_L1_U, k], scale[k])
            avg_coef[j, k] -= avg_a[k] * delta


@jit()
def truncate_dense_row(coef, avg_coef, l1_q, X, i, cstate, scale, avg_a):
    """L1-truncate every active class's weights of the row's non-zero features;
    coef (n_classes, n_features)."""
    for k in range(scale.shape[0]):
        if cstate[C_ACTIVE, k] == 0.0:
            continue
        u, a = cstate[C_L1_U, k], avg_a[k]
        for j in range(X.shape[1]):
            if X[i, j] != 0.0:
                delta = l1_truncate_cell(coef, l1_q, k, j, u, scale[k])
                avg_coef[k, j] -= a * delta


@jit()
def truncate_csr_row(coef, avg_coef, l1_q, data, indices, start, end, cstate, scale, avg_a):
    """L1-truncate every active class's weights of the CSR row's non-zero stored
    features; coef (n_features, n_classes)."""
    for kk in range(start, end):
        if data[kk] != 0.0:
            truncate_features(coef, avg_coef, l1_q, indices[kk], cstate, scale, avg_a)


@jit(inline="always")
def is_averaging(avg_a):
    """Whether any class's lazy average is running."""
    for k in range(avg_a.shape[0]):
        if avg_a[k] != 0.0:
            return True
    return False


@jit()
def finish_step(hyper, cstate, scale, avg_a, avg_b):
    """Enter the step into each active class's average; advance its counter."""
    average_start = hyper[H_AVERAGE_START]
    for k in range(scale.shape[0]):
        if cstate[C_ACTIVE, k] == 0.0:
            continue
        t = cstate[C_T, k]
        if 0.0 < average_start <= t:
            avg_a[k], avg_b[k], mu = average_step(t, average_start, scale[k], avg_a[k], avg_b[k])
            cstate[C_AVG_INTERCEPT, k] += mu * (cstate[C_INTERCEPT, k] - cstate[C_AVG_INTERCEPT, k])
        cstate[C_T, k] = t + 1.0


@jit()
def finish_epoch_rows(coef, avg_coef, scale, avg_a, avg_b):
    """Materialise every class's lazy average and weight scale; coef
    (n_classes, n_features)."""
    for k in range(scale.shape[0]):
        fold_class(coef, avg_coef, k, True, scale[k], avg_a[k], avg_b[k])


@jit()
def finish_epoch_columns(coef, avg_coef, scale, avg_a, avg_b):
    """Materialise every class's lazy average and weight scale; coef
    (n_features, n_classes)."""
    for k in range(scale.shape[0]):
        fold_class(coef, avg_coef, k, False, scale[k], avg_a[k], avg_b[k])


# ------------------------------------------------------------------ epochs
@jit()
def multi_epoch_dense(
    X, labels, sample_weight, class_weight, class_offset, order, mode, loss_code,
    loss_params, hyper, coef, avg_coef, l1_q, cstate, loss_sums,
):  # fmt: skip
    """One epoch over the rows ``X[order]`` for every class; see the module docstring."""
    n_classes = coef.shape[0]
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    weighted = sample_weight.shape[0] != 0  # else every weight is 1
    l1 = hyper[H_L1] * hyper[H_ALPHA]
    scale, avg_a, avg_b = np.ones(n_classes), np.zeros(n_classes), np.ones(n_classes)
    p, weight = np.empty(n_classes), np.zeros(n_classes)
    dloss, step = np.zeros(n_classes), np.zeros(n_classes)
    loss_sums[:] = 0.0

    n_steps = order.shape[0]
    for s in range(n_steps):
        if s + AHEAD < n_steps:
            ahead = order[s + AHEAD]
            prefetch_row(X, ahead)
            _prefetch(labels, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order[s]
        for k in range(n_classes):
            p[k] = scale[k] * row_dot(coef, k, X, i) + cstate[C_INTERCEPT, k]
        # one-vs-rest reaches its scalar loss here, in the kernel's own body,
        # through the two module-level names (see _loss_switch); an inlined
        # helper for this loop, shared by both kernels, measured 10-30% slower
        label = labels[i]
        sw = sample_weight[i] if weighted else 1.0
        if mode == OVR:
            for k in range(n_classes):
                if cstate[C_ACTIVE, k] == 0.0:
                    dloss[k] = 0.0
                    continue
                y, weight[k] = ovr_target(label == k + class_offset, sw, class_weight[k])
                if compute_loss:
                    loss_sums[k] += weight[k] * loss_value(loss_code, y, p[k], loss_params)
                loss_sums[k] += overflow_marker(p[k])
                dloss[k], clipped = clip_dloss(loss_derivative(loss_code, y, p[k], loss_params))
                cstate[C_N_CLIPS, k] += clipped
        else:  # a joint loss: the sample's class weight applies to every class
            w = sw * class_weight[label]
            loss_sums[label] += w * multiclass_loss_gradient(mode, label, p, dloss)
            for k in range(n_classes):
                weight[k] = w
                loss_sums[label] += overflow_marker(p[k])
        class_steps(hyper, cstate, weight, dloss, coef, avg_coef, True, scale, avg_a, avg_b, step)
        add_dense_row(coef, avg_coef, X, i, step, avg_a)
        if l1 > 0.0:
            truncate_dense_row(coef, avg_coef, l1_q, X, i, cstate, scale, avg_a)
        finish_step(hyper, cstate, scale, avg_a, avg_b)

    finish_epoch_rows(coef, avg_coef, scale, avg_a, avg_b)


@jit()
def multi_epoch_csr(
    data, indices, indptr, labels, sample_weight, class_weight, class_offset, order, mode,
    loss_code, loss_params, hyper, coef, avg_coef, l1_q, cstate, loss_sums,
):  # fmt: skip
    """One epoch over the CSR rows ``order`` for every class, O(nnz * n_classes) a
    row; see the module docstring."""
    n_classes = coef.shape[1]
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    weighted = sample_weight.shape[0] != 0  # else every weight is 1
    l1 = hyper[H_L1] * hyper[H_ALPHA]
    scale, avg_a, avg_b = np.ones(n_classes), np.zeros(n_classes), np.ones(n_classes)
    p, weight = np.empty(n_classes), np.zeros(n_classes)
    dloss, step = np.zeros(n_classes), np.zeros(n_classes)
    loss_sums[:] = 0.0

    n_steps = order.shape[0]
    for s in range(n_steps):
        if s + 2 * AHEAD < n_steps:
            _prefetch(indptr, order[s + 2 * AHEAD])
        if s + AHEAD < n_steps:
            ahead = order[s + AHEAD]
            prefetch_range(data, indptr[ahead], indptr[ahead + 1])
            prefetch_range(indices, indptr[ahead], indptr[ahead + 1])
            _prefetch(labels, ahead)
            if weighted:
                _prefetch(sample_weight, ahead)
        i = order[s]
        start, end = indptr[i], indptr[i + 1]
        csr_scores(data, indices, start, end, coef, scale, cstate, p)
        # one-vs-rest reaches its scalar loss here, in the kernel's own body,
        # through the two module-level names (see _loss_switch); an inlined
        # helper for this loop, shared by both kernels, measured 10-30% slower
        label = labels[i]
        sw = sample_weight[i] if weighted else 1.0
        if mode == OVR:
            for k in range(n_classes):
                if cstate[C_ACTIVE, k] == 0.0:
                    dloss[k] = 0.0
                    continue
                y, weight[k] = ovr_target(label == k + class_offset, sw, class_weight[k])
                if compute_loss:
                    loss_sums[k] += weight[k] * loss_value(loss_code, y, p[k], loss_params)
                loss_sums[k] += overflow_marker(p[k])
                dloss[k], clipped = clip_dloss(loss_derivative(loss_code, y, p[k], loss_params))
                cstate[C_N_CLIPS, k] += clipped
        else:  # a joint loss: the sample's class weight applies to every class
            w = sw * class_weight[label]
            loss_sums[label] += w * multiclass_loss_gradient(mode, label, p, dloss)
            for k in range(n_classes):
                weight[k] = w
                loss_sums[label] += overflow_marker(p[k])
        class_steps(hyper, cstate, weight, dloss, coef, avg_coef, False, scale, avg_a, avg_b, step)
        add_csr_row(coef, avg_coef, data, indices, start, end, step, avg_a, is_averaging(avg_a))
        if l1 > 0.0:
            truncate_csr_row(coef, avg_coef, l1_q, data, indices, start, end, cstate, scale, avg_a)
        finish_step(hyper, cstate, scale, avg_a, avg_b)

    finish_epoch_columns(coef, avg_coef, scale, avg_a, avg_b)
