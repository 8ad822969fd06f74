"""Compiled update rules of the optimizers and learning-rate schedules.

Like the losses (``_loss_switch``), every optimizer and schedule reaches the
kernels as an integer code plus float64 parameters (their codes and slots are
in ``_layout``), so that one compiled mini-batch kernel serves them all and is
a cache hit in a fresh process.

Layout
------
hyper : float64 (O_SIZE,)
    The plain-SGD slots of ``_layout`` (``H_SCHEDULE`` .. ``H_COMPUTE_LOSS``;
    ``H_ETA0`` is the optimizer's base step size) followed by its ``O_*`` slots.
opt_state : float64 (N_SLOTS, n_features + 1)
    Per-weight optimizer state, one row per slot (each slot contiguous over the
    weights, so that dense updates stream through it); column ``n_features``
    belongs to the intercept.  Slots ``SLOT_A``..``SLOT_C`` are the rule's
    moments (momentum velocity, AdaGrad sum of squares, Adam's m / v / max v);
    ``SLOT_LAST`` is the number of the last update each weight has received and
    ``SLOT_CUM_ETA`` the sum of the step sizes up to it (sparse rows catch up
    from them).  The intercept is updated every step, so its column holds the
    number of updates made so far and the sum of all their step sizes.

Penalties
---------
Every rule turns the *data* gradient ``g`` into a direction ``d`` and a diagonal
metric ``D`` (1 for SGD, ``1 - mu`` for momentum, ``sqrt(v) + eps`` for the
adaptive rules).  The penalty ``alpha * (l1 |w| + l2 w^2 / 2)`` is then applied as
a proximal step of size ``eta / D``: ``w <- soft(w - eta d, eta l1 / D) /
(1 + eta l2 / D)``.  Its fixed point is the minimum of mean loss + penalty for
every rule, and the optimizer's moments see only the data gradient, which is
exactly zero for a weight that no row of a sparse batch touches.  AdamW instead
decays the weight outside the metric (decoupled weight decay, Loshchilov &
Hutter): ``w <- soft(w (1 - eta l2) - eta d, eta l1)``.

Reference counts
----------------
The kernels call ``step_eta``, ``step_all``, ``intercept_step`` once a batch and
``coordinate_step`` / ``catch_up`` once a touched weight.  Each of them calls no
function that takes an array (``schedule_value``, ``direction``, ``_step_all``
and ``coordinate_step`` are inlined; ``catch_up`` takes scalars): a function
that does keeps two atomic reference-count updates per array argument on every
call, which Numba prunes otherwise (``tests/test_kernel_refcounts.py``).
"""

import math

from .._config import jit
from ._layout import (
    ADAGRAD,
    ADAM,
    ADAMW,
    AMSGRAD,
    CONSTANT,
    COSINE,
    EXPONENTIAL,
    H_ALPHA,
    H_ETA0,
    H_OPTIMAL_T0,
    H_POWER_T,
    H_SCHEDULE,
    INVSCALING,
    MOMENTUM,
    NESTEROV,
    O_EPS,
    O_P0,
    O_P1,
    O_SCHED_P0,
    O_SCHED_P1,
    O_SIZE,
    O_WARMUP,
    OPTIMAL,
    RMSPROP,
    SGD,
    SLOT_A,
    SLOT_B,
    SLOT_C,
)
from ._weights import inverse_scaling


@jit(inline="always")
def hyper_tuple(hyper):
    """The O_SIZE values of ``hyper`` as a tuple, for the helpers that run once a
    touched weight: a tuple passes by value, while an array argument costs
    atomic reference counts that Numba cannot always prune.  Every helper here
    reads ``hyper[SLOT]`` alike from either."""
    return (
        hyper[0], hyper[1], hyper[2], hyper[3], hyper[4], hyper[5],
        hyper[6], hyper[7], hyper[8], hyper[9], hyper[10], hyper[11],
        hyper[12], hyper[13], hyper[14], hyper[15], hyper[16], hyper[17],
    )  # fmt: skip


assert O_SIZE == 18, "hyper_tuple lists every slot of hyper"


@jit(inline="always")
def schedule_value(hyper, s):
    """Step size of the wrapped schedule at its step ``s`` (s >= 1)."""
    code = int(hyper[H_SCHEDULE])
    lr = hyper[H_ETA0]
    if code == CONSTANT:
        return lr
    if code == INVSCALING:
        return inverse_scaling(lr, s, hyper[H_POWER_T])
    if code == OPTIMAL:
        return 1.0 / (hyper[H_ALPHA] * (hyper[H_OPTIMAL_T0] + s - 1.0))
    p0, p1 = hyper[O_SCHED_P0], hyper[O_SCHED_P1]
    if code == COSINE:
        u = min(s - 1.0, p0) / p0
        return lr * (p1 + (1.0 - p1) * 0.5 * (1.0 + math.cos(math.pi * u)))
    if code == EXPONENTIAL:
        return lr * math.pow(p0, (s - 1.0) / p1)
    return lr * math.pow(p0, math.floor((s - 1.0) / p1))


@jit()
def step_eta(hyper, t):
    """Step size of update ``t`` (t >= 1), warm-up included."""
    warmup = hyper[O_WARMUP]
    if warmup > 0.0:
        if t <= warmup:
            return schedule_value(hyper, 1.0) * t / warmup
        return schedule_value(hyper, t - warmup)
    return schedule_value(hyper, t)


@jit()
def has_movement(code):
    """Whether the rule keeps moving a weight whose gradient is zero (a first moment)."""
    return code == MOMENTUM or code == NESTEROV or code >= ADAM


@jit()
def has_decay(code):
    """Whether the rule's state decays on a step whose gradient is zero."""
    return code == RMSPROP or has_movement(code)


@jit()
def bias_correction(beta, log_beta, t):
    """``1 - beta^t`` from ``log_beta = log(beta)``, as ``1 - exp(t log_beta)``
    (cheaper than ``pow``), and without either once ``beta^t <= exp(-40)``."""
    if t * (1.0 - beta) > 40.0:
        return 1.0
    return 1.0 - math.exp(t * log_beta)


@jit()
def log_decays(hyper):
    """``(log p0, log p1)`` of ``hyper[O_P0]``, ``hyper[O_P1]`` (-inf for a 0:
    every power of it is 0), taken once an epoch.

    The per-weight catch-up raises the rule's decays to a number of skipped
    steps ``k`` as ``exp(k log p)``: ``pow`` was about 40% of a sparse Adam epoch.
    """
    return math.log(hyper[O_P0]), math.log(hyper[O_P1])


@jit()
def bias_corrections(code, hyper, logs, t):
    """Adam's ``(1 - beta1^t, 1 - beta2^t)``; (1, 1) for the other rules.
    ``logs`` is :func:`log_decays` of ``hyper``."""
    if code == ADAM or code == ADAMW:
        return (
            bias_correction(hyper[O_P0], logs[0], t),
            bias_correction(hyper[O_P1], logs[1], t),
        )
    return 1.0, 1.0


@jit(inline="always")
def direction(code, hyper, st, j, g, bc1, bc2):
    """One rule's direction and metric from data gradient ``g``; updates ``st[:, j]``.

    Returns ``(d, D)``: the weight moves by ``-eta d``, the penalty's proximal
    step is ``eta / D``.
    """
    if code == SGD:
        return g, 1.0
    p0, eps = hyper[O_P0], hyper[O_EPS]
    if code == MOMENTUM or code == NESTEROV:
        v = p0 * st[SLOT_A, j] + g
        st[SLOT_A, j] = v
        if code == NESTEROV:
            return g + p0 * v, 1.0 - p0
        return v, 1.0 - p0
    if code == ADAGRAD:
        G = st[SLOT_A, j] + g * g
        st[SLOT_A, j] = G
        D = math.sqrt(G) + eps
        return g / D, D
    if code == RMSPROP:
        s = p0 * st[SLOT_A, j] + (1.0 - p0) * g * g
        st[SLOT_A, j] = s
        D = math.sqrt(s) + eps
        return g / D, D
    p1 = hyper[O_P1]
    m = p0 * st[SLOT_A, j] + (1.0 - p0) * g
    v = p1 * st[SLOT_B, j] + (1.0 - p1) * g * g
    st[SLOT_A, j], st[SLOT_B, j] = m, v
    if code == AMSGRAD:
        vmax = max(st[SLOT_C, j], v)
        st[SLOT_C, j] = vmax
        D = math.sqrt(vmax) + eps
        return m / D, D
    D = math.sqrt(v / bc2) + eps
    return (m / bc1) / D, D


@jit()
def soft_threshold(w, tau):
    if w > tau:
        return w - tau
    if w < -tau:
        return w + tau
    return 0.0


@jit(inline="always")
def coordinate_step(code, hyper, st, j, w, g, eta, bc1, bc2, l1, l2):
    """Weight ``w`` after one update with data gradient ``g`` (penalty included)."""
    d, D = direction(code, hyper, st, j, g, bc1, bc2)
    if code == ADAMW:
        return soft_threshold(w * (1.0 - eta * l2) - eta * d, eta * l1)
    w = w - eta * d
    if l1 > 0.0:
        w = soft_threshold(w, eta * l1 / D)
    if l2 > 0.0:
        w = w / (1.0 + eta * l2 / D)
    return w


@jit()
def intercept_step(code, hyper, st, b, g, eta, bc1, bc2):
    """Intercept ``b`` after one update: its state is column ``n_features`` of
    ``st`` (the last), and no penalty applies to it."""
    return coordinate_step(code, hyper, st, st.shape[1] - 1, b, g, eta, bc1, bc2, 0.0, 0.0)


@jit(inline="always")
def _step_all(code, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2):
    for j in range(coef.shape[0]):
        coef[j] = coordinate_step(
            code, hyper, st, j, coef[j], grad[j] * scale, eta, bc1, bc2, l1, l2
        )


@jit()
def step_all(code, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2):
    """``coordinate_step`` for every weight, data gradient ``grad * scale``.

    One loop per rule, each with its code a constant, so that the compiler can
    drop the rule switch from the loop body.
    """
    if code == SGD:
        _step_all(SGD, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2)
    elif code == MOMENTUM:
        _step_all(MOMENTUM, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2)
    elif code == NESTEROV:
        _step_all(NESTEROV, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2)
    elif code == ADAGRAD:
        _step_all(ADAGRAD, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2)
    elif code == RMSPROP:
        _step_all(RMSPROP, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2)
    elif code == ADAM:
        _step_all(ADAM, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2)
    elif code == ADAMW:
        _step_all(ADAMW, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2)
    else:
        _step_all(AMSGRAD, hyper, st, coef, grad, scale, eta, bc1, bc2, l1, l2)


@jit()
def repeated_penalty(w, tau, shrink, k, decoupled):
    """``k`` penalty steps on a weight with no data gradient, in closed form.

    Proximal form: ``w <- shrink * soft(w, tau)`` with ``shrink = 1 / (1 + rho)``;
    decoupled (AdamW): ``w <- soft(shrink * w, tau)`` with ``shrink = 1 - rho``.
    A weight that reaches zero stays there, so the k-fold map is one clipped
    affine function of ``|w|``: ``|w| s^k - tau (s^f + ... + s^(f+k-1))`` with
    ``f`` 1 (proximal) or 0 (decoupled).
    """
    if w == 0.0:
        return 0.0
    shrink_k = math.pow(shrink, k)
    size = abs(w) * shrink_k
    if tau != 0.0:
        if shrink == 1.0:
            size -= tau * k
        else:
            size -= tau * (1.0 - shrink_k) / (1.0 - shrink) * (1.0 if decoupled else shrink)
    if size <= 0.0:
        return 0.0
    return size if w > 0.0 else -size


@jit()
def decaying_metric(root, ratio, ratio_k, eps, k):
    """Harmonic mean of ``D_i = root * ratio^i + eps`` over i = 1..k (0 < ratio < 1).

    The penalty of ``k`` steps whose metric decays geometrically (RMSProp's and
    Adam's second moment on skipped steps) is applied with this constant
    metric.  Midpoint rule for ``sum 1 / D_i``: the integral of ``1 / D(i)``
    over [0.5, k + 0.5] is ``(k - log((1 + x r^(k+1/2)) / (1 + x r^(1/2))) /
    log r) / eps`` with ``x = root / eps``; ``ratio_k`` is ``ratio^k``.
    """
    if root == 0.0:
        return eps
    x = root * math.sqrt(ratio) / eps
    total = k - (math.log1p(x * ratio_k) - math.log1p(x)) / math.log(ratio)
    if total > 1e-6 * k:
        return k * eps / total
    # eps negligible against every D_i (the difference above cancels): the
    # harmonic mean of root * ratio^i, from sum_i ratio^-i = (ratio^-k - 1) / (1 - ratio)
    return k * root * (1.0 - ratio) / (1.0 / ratio_k - 1.0)


@jit()
def interleaved_shrink(w, move, ratio, ratio_k, shrink, k):
    """``k`` steps ``w <- shrink * (w - move * ratio^i)``, i = 1..k, in closed form
    (``ratio_k = ratio^k``).

    ``w_k = shrink^k w - move * sum_i shrink^(k+1-i) ratio^i``, and that sum is
    ``shrink * ratio * (ratio^k - shrink^k) / (ratio - shrink)`` (or
    ``k shrink^(k+1)`` when the two are equal): a moment decaying by ``ratio``
    a step under an L2 proximal step of factor ``shrink``.
    """
    shrink_k = math.pow(shrink, k)
    if ratio == shrink:
        total = k * shrink_k * shrink
    else:
        total = shrink * ratio * (ratio_k - shrink_k) / (ratio - shrink)
    return shrink_k * w - move * total


@jit()
def catch_up(
    code, p0, p1, eps, a, b, c, w, k, p0_k, p1_k, eta_first, eta_mean, bc1, bc2, bc2_mid, l1, l2
):
    """Weight ``w`` after ``k`` updates in which no row touched it (data gradient 0).

    ``p0``, ``p1``, ``eps`` are the rule's hyperparameters (``hyper[O_P0]``,
    ``hyper[O_P1]``, ``hyper[O_EPS]``), ``p0_k``, ``p1_k`` their ``k``-th
    powers (the caller's ``exp(k log p)``), ``a``, ``b``, ``c`` the weight's state
    slots ``SLOT_A``..``SLOT_C``.  Returns ``(w, a, b)``, the weight and its first
    two slots after the ``k`` updates (``c``, AMSGrad's max, does not change).
    Scalars in and out: it runs once for every weight a sparse batch touches.

    State: the moments' decay is exact (``beta^k``, ``mu^k``).

    Movement (the decaying moments still move the weight): a geometric sum with
    the step size of the first skipped step, ``eta_first`` (the moments weigh
    the first steps most).  Exact for momentum, Nesterov and AMSGrad under a
    constant schedule.  Adam / AdamW also freeze the bias corrections at those
    of the first skipped step (``bc1``, ``bc2``) and the metric at its value
    after one skipped step, although it shrinks by ``beta2^(1/2)`` a step.

    Penalty: ``k`` proximal steps with the mean step size of the skipped steps
    ``eta_mean`` and one metric: the constant one of SGD, momentum, AdaGrad and
    AMSGrad, the harmonic mean of the decaying one for RMSProp and Adam
    (``decaying_metric``; Adam's with ``bc2_mid``, the bias correction of the
    middle skipped step).  An L2-only penalty interleaves with the movement of
    momentum, Nesterov and AMSGrad exactly (``interleaved_shrink``); otherwise
    the penalty steps follow the movement.  Exact under a constant schedule:
    SGD and AdaGrad with any penalty; momentum, Nesterov and AMSGrad with L2 or
    no penalty; RMSProp without penalty.  SGD and AdaGrad with L1 alone are
    exact under any schedule.

    The approximations are tested against the dense eager update
    (tests/test_optim.py) and documented in docs/user_guide/optimizers.rst.
    """
    penalised = l1 != 0.0 or l2 != 0.0
    D = 1.0
    # movement of step i is move * ratio^i (constant metric rules)
    move, ratio = 0.0, 0.0
    if code == MOMENTUM or code == NESTEROV:
        mu = p0
        v = a
        move, ratio = (v if code == MOMENTUM else v * mu), mu
        a = v * p0_k
        D = 1.0 - mu
    elif code == ADAGRAD:
        if penalised:
            D = math.sqrt(a) + eps
    elif code == RMSPROP:
        rho = p0
        rho_k = p0_k
        s = a
        a = s * rho_k
        if penalised:
            D = decaying_metric(math.sqrt(s), math.sqrt(rho), math.sqrt(rho_k), eps, k)
    elif code != SGD:
        b1, b2 = p0, p1
        b1_k, b2_k = p0_k, p1_k
        m, v = a, b
        if code == AMSGRAD:
            D = math.sqrt(c) + eps
            move, ratio = m / D, b1
        else:
            moved = m * b1 * (1.0 - b1_k) / (1.0 - b1)  # sum of the skipped steps' m
            w -= eta_first * (moved / bc1) / (math.sqrt(v * b2 / bc2) + eps)
            if penalised:
                D = decaying_metric(math.sqrt(v / bc2_mid), math.sqrt(b2), math.sqrt(b2_k), eps, k)
        a, b = m * b1_k, v * b2_k
    if move != 0.0 and l1 == 0.0:
        shrink = 1.0 / (1.0 + eta_mean * l2 / D)
        # ratio is p0 (mu or beta1) wherever the weight moves
        return interleaved_shrink(w, eta_first * move, ratio, p0_k, shrink, k), a, b
    if move != 0.0:
        w -= eta_first * move * ratio * (1.0 - p0_k) / (1.0 - ratio)
    if not penalised:
        return w, a, b
    if code == ADAMW:
        return repeated_penalty(w, eta_mean * l1, 1.0 - eta_mean * l2, k, True), a, b
    shrink = 1.0 / (1.0 + eta_mean * l2 / D)
    return repeated_penalty(w, eta_mean * l1 / D, shrink, k, False), a, b
