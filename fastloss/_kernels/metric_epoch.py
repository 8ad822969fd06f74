"""One SGD epoch of a linear metric learner over pairs or triplets of rows.

The model is a linear map ``L`` (``components``, (n_components, n_features));
the squared distance of rows ``x`` and ``x'`` is ``||L (x - x')||^2``.  A
pair loss is a scalar loss of a pair's label ``y`` (+1 similar, -1
dissimilar) and its squared distance ``s``; a triplet loss a scalar loss of
``u = s(anchor, positive) - s(anchor, negative)`` (codes in ``_layout``).
With ``delta = x - x'`` and ``z = L delta``, ``d s / d L = 2 z delta^T``: each
sample's gradient is an outer product, n_components x n_features.

Rows are read by index (``tuples`` holds row numbers of ``X``): pairs or
triplets given as 3-D arrays reach the kernel as a 2-D view of their rows
and consecutive indices, given with a preprocessor as the user's indices;
neither is ever gathered into a copy.  Supervised fits draw a triplet of
row numbers for every row each epoch (:func:`draw_triplets`), O(n) memory.

Dense float64 rows only (the estimators convert): one specialisation a
kernel.  The L2 penalty uses the weight-scale trick (``L = scale * V``) so that
a sample whose loss is flat (a satisfied triplet, a dissimilar pair beyond
the margin) costs the distances only, no write of ``L``.
"""

import numpy as np

from .._config import jit
from ._layout import (
    CONTRASTIVE,
    H_ALPHA,
    H_COMPUTE_LOSS,
    H_ETA0,
    H_L2,
    H_OPTIMAL_T0,
    H_POWER_T,
    H_SCHEDULE,
    MIN_SCALE,
    S_T,
    SOFT_CONTRASTIVE,
    SOFT_TRIPLET,
    TRIPLET,
)
from ._loss_switch import sigmoid, softplus
from ._weights import step_size
from .shuffle import _below

__all__ = ["draw_triplets", "metric_epoch", "metric_loss_array"]

# dot products over features: reassociated so that LLVM vectorises them
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@jit()
def metric_loss_value(code, y, u, margin):
    """Loss of one sample: a pair's (label ``y``, squared distance ``u``) or a
    triplet's (``u`` = s(a, p) - s(a, n); ``y`` unused).

    contrastive: u for similar pairs, max(0, margin - u) for dissimilar ones
    (Hadsell et al., 2006, on squared distances); triplet: max(0, margin + u)
    (Weinberger and Saul's large-margin triplets); the soft variants replace
    max(0, .) by softplus.
    """
    if code == CONTRASTIVE:
        return u if y > 0.0 else max(0.0, margin - u)
    if code == SOFT_CONTRASTIVE:
        return u if y > 0.0 else softplus(margin - u)
    if code == TRIPLET:
        return max(0.0, margin + u)
    return softplus(margin + u)


@jit()
def metric_loss_derivative(code, y, u, margin):
    """Derivative of :func:`metric_loss_value` in ``u`` (the hinges' subgradient
    is 0 at the kink)."""
    if code == CONTRASTIVE:
        if y > 0.0:
            return 1.0
        return -1.0 if u < margin else 0.0
    if code == SOFT_CONTRASTIVE:
        return 1.0 if y > 0.0 else -sigmoid(margin - u)
    if code == TRIPLET:
        return 1.0 if margin + u > 0.0 else 0.0
    return sigmoid(margin + u)


@jit()
def metric_loss_array(code, y, u, params, value, derivative):
    """``value[i]``, ``derivative[i]`` of every sample (float64 (n,) each) of
    :func:`metric_loss_value` at ``(y[i], u[i])``; ``params``: (margin,)."""
    margin = params[0]
    for i in range(u.shape[0]):
        value[i] = metric_loss_value(code, y[i], u[i], margin)
        derivative[i] = metric_loss_derivative(code, y[i], u[i], margin)


@jit()
def draw_triplets(members, class_start, class_of, embedding, n_candidates, seed, tuples):
    """Draw an (anchor, positive, negative) triplet of row numbers for every row.

    Parameters
    ----------
    members : int64 (n_rows,)
        Row numbers sorted by class: class ``c``'s rows are
        ``members[class_start[c]:class_start[c + 1]]``.
    class_start : int64 (n_classes + 1,)
    class_of : int64 (n_rows,)
        Class index of each row.
    embedding : float64 (n_rows, n_components), or (0, 0)
        Rows under the current map, read when ``n_candidates > 1``.
    n_candidates : int
        Candidates drawn for each anchor: of the positives and of the
        negatives, the one closest to the anchor in ``embedding`` is kept
        (a near same-class neighbour, a hard negative); 1 keeps random ones.
    seed : int
        Non-negative; the draws are a function of it.
    tuples : int64 (n_rows, 3)
        Out: row ``i`` is ``(i, p, q)``, ``p`` drawn uniformly from ``i``'s
        class without ``i`` (``i`` itself when alone in its class: a zero
        distance), ``q`` from the other classes (at least one).
    """
    s = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) | np.uint64(1)
    n_rows = class_of.shape[0]
    for i in range(n_rows):
        c = class_of[i]
        lo, hi = class_start[c], class_start[c + 1]
        size = hi - lo
        positive, nearest = i, np.inf
        for _ in range(n_candidates if size > 1 else 0):
            # uniform over the size - 1 others: a draw that hits i takes the
            # last member instead (never i: i there is never hit)
            s, r = _below(s, np.uint64(size - 1))
            candidate = members[lo + np.int64(r)]
            if candidate == i:
                candidate = members[hi - 1]
            if n_candidates == 1:
                positive = candidate
                break
            d = 0.0
            for f in range(embedding.shape[1]):
                e = embedding[i, f] - embedding[candidate, f]
                d += e * e
            if d < nearest:
                positive, nearest = candidate, d
        negative, closest = -1, np.inf
        for _ in range(n_candidates):
            s, r = _below(s, np.uint64(n_rows - size))
            k = np.int64(r)
            if k >= lo:
                k += size  # skip the anchor's class
            candidate = members[k]
            if n_candidates == 1:
                negative = candidate
                break
            d = 0.0
            for f in range(embedding.shape[1]):
                e = embedding[i, f] - embedding[candidate, f]
                d += e * e
            if d < closest:
                negative, closest = candidate, d
        tuples[i, 0] = i
        tuples[i, 1] = positive
        tuples[i, 2] = negative


@jit(fastmath=_FAST)
def metric_epoch(X, tuples, y, order, loss_code, loss_params, hyper, components, state):
    """One SGD epoch over the pairs or triplets ``tuples[order]``.

    Parameters
    ----------
    X : float64 (n_rows, n_features), C-contiguous
    tuples : int64 (n_tuples, 2) or (n_tuples, 3)
        Row numbers of ``X``.  Two columns: pairs labelled by ``y``.  Three:
        triplets (anchor, positive, negative); under a pair loss each is the
        similar pair (anchor, positive) then the dissimilar (anchor, negative).
    y : float64 (n_tuples,), or (0,) with three columns
        Pair labels, +1 similar, -1 dissimilar.
    order : int64 (n_steps,)
        Tuples to visit, in order.
    loss_code, loss_params : int, float64 (1,)
        A metric loss code of ``_layout`` and its margin.
    hyper : float64 (H_SIZE,)
        The plain-SGD slots: schedule, eta0, power_t, optimal t0, alpha, L2
        share, whether to sum the loss.
    components : float64 (n_components, n_features)
        The map ``L``, updated in place.
    state : float64 (S_SIZE,)
        ``S_T``: number of the next step, updated in place.

    Returns
    -------
    float
        Sum of the losses met (before each update), or 0 unless
        ``hyper[H_COMPUTE_LOSS]`` is set.
    """
    schedule = int(hyper[H_SCHEDULE])
    eta0, power_t, t0 = hyper[H_ETA0], hyper[H_POWER_T], hyper[H_OPTIMAL_T0]
    alpha = hyper[H_ALPHA]
    l2 = hyper[H_L2] * alpha
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    margin = loss_params[0]
    triplet_loss = loss_code == TRIPLET or loss_code == SOFT_TRIPLET
    width = tuples.shape[1]
    n_components, n_features = components.shape
    delta_p = np.empty(n_features)
    delta_n = np.empty(n_features)
    z_p = np.empty(n_components)
    z_n = np.empty(n_components)
    t = state[S_T]
    scale = 1.0  # components = scale * V, V held in ``components``
    loss_sum = 0.0

    for k in range(order.shape[0]):
        r = order[k]
        a = tuples[r, 0]
        # a triplet loss: one step; a pair loss: one step a pair (two for triplets)
        n_pairs = 1 if triplet_loss or width == 2 else 2
        for q in range(n_pairs):
            eta = step_size(schedule, eta0, power_t, t0, alpha, t)
            b = tuples[r, 1 + q]
            for f in range(n_features):
                delta_p[f] = X[a, f] - X[b, f]
            s_p = 0.0
            for c in range(n_components):
                acc = 0.0
                for f in range(n_features):
                    acc += components[c, f] * delta_p[f]
                z_p[c] = scale * acc
                s_p += z_p[c] * z_p[c]
            if triplet_loss:
                e = tuples[r, 2]
                for f in range(n_features):
                    delta_n[f] = X[a, f] - X[e, f]
                s_n = 0.0
                for c in range(n_components):
                    acc = 0.0
                    for f in range(n_features):
                        acc += components[c, f] * delta_n[f]
                    z_n[c] = scale * acc
                    s_n += z_n[c] * z_n[c]
                label, u = 1.0, s_p - s_n
            else:
                label = (1.0 if q == 0 else -1.0) if width == 3 else y[r]
                u = s_p
            if compute_loss:
                loss_sum += metric_loss_value(loss_code, label, u, margin)
            g = metric_loss_derivative(loss_code, label, u, margin)

            if l2 > 0.0:
                scale *= max(0.0, 1.0 - eta * l2)
                if scale < MIN_SCALE:
                    for c in range(n_components):
                        for f in range(n_features):
                            components[c, f] *= scale
                    scale = 1.0
            if g != 0.0:
                # L -= eta g d u / d L, with d s / d L = 2 z delta^T; in V units
                step = -2.0 * eta * g / scale
                for c in range(n_components):
                    cp = step * z_p[c]
                    if triplet_loss:
                        cn = step * z_n[c]
                        for f in range(n_features):
                            components[c, f] += cp * delta_p[f] - cn * delta_n[f]
                    else:
                        for f in range(n_features):
                            components[c, f] += cp * delta_p[f]
            t += 1.0

    if scale != 1.0:
        for c in range(n_components):
            for f in range(n_features):
                components[c, f] *= scale
    state[S_T] = t
    return loss_sum
