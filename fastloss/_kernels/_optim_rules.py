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
``rule_step`` / ``catch_up`` once a touched weight.  Each of them calls no
function that takes an array (``schedule_value``, ``direction``, ``_step_all``
and ``coordinate_step`` are inlined; ``rule_step`` and ``catch_up`` take
scalars): a function that does keeps two atomic reference-count updates per
array argument on every call, which Numba prunes otherwise
(``tests/test_kernel_refcounts.py``).

The sparse catch-up
-------------------
A weight that no row of a batch touches has a zero data gradient, so its update
is a closed form of the number of updates it skipped (``catch_up``).  Its
``exp`` / ``pow`` / ``log1p`` (13-32 ns each here) are replaced by two lookup
tables computed once an epoch (``lazy_tables``: sums of the step sizes and of
their powers by update, powers of the decays by number of skipped updates) and
by the power series of the L2 shrinks' logarithm (``penalty_product``).
"""

import math

import numpy as np

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
    return repeated_penalty_k(w, tau, shrink, math.pow(shrink, k), k, decoupled)


@jit()
def repeated_penalty_k(w, tau, shrink, shrink_k, k, decoupled):
    """:func:`repeated_penalty` given the product of the ``k`` shrinks,
    ``shrink_k`` (``shrink^k`` for equal steps; :func:`penalty_product`)."""
    if w == 0.0:
        return 0.0
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
    return interleaved_shrink_k(w, move, ratio, ratio_k, shrink, math.pow(shrink, k), k)


@jit()
def interleaved_shrink_k(w, move, ratio, ratio_k, shrink, shrink_k, k):
    """:func:`interleaved_shrink` given ``shrink_k``, the product of the ``k`` shrinks."""
    if ratio == shrink:
        total = k * shrink_k * shrink
    else:
        total = shrink * ratio * (ratio_k - shrink_k) / (ratio - shrink)
    return shrink_k * w - move * total


# ------------------------------------------------ the sparse kernel's catch-up
# Columns of the two lookup tables that ``lazy_tables`` computes once an epoch,
# so that a catch-up is table loads and arithmetic, not exp / pow / log1p (each
# 13-32 ns here, against about 9 ns for a whole plain-SGD step of a non-zero).
# By update ``u`` of the epoch (row u, u = 0..n_updates): the sums of the first
# u step sizes and of their powers 2..5 (each divided by its power, as the
# logarithm's series takes them), and the step size and Adam's bias
# corrections of update u + 1 (the first one a weight last updated at u skips).
U_S1, U_S2, U_S3, U_S4, U_S5, U_ETA_NEXT, U_BC1_NEXT, U_BC2_NEXT = range(8)
U_SIZE = 8
# By number of skipped updates ``k`` (row k): p0^k, p1^k, p1^((k-1)/2) (Adam's
# middle bias correction), q^k, sum_{i=1..k} q^-i and sum_{i=1..k} q^-2i for the
# ratio ``q`` by which the decaying metric shrinks a skipped update
# (sqrt(rho) for RMSProp, sqrt(beta2) for Adam / AdamW).
K_P0, K_P1, K_HALF_P1, K_Q, K_QINV, K_Q2INV = range(6)
K_SIZE = 8  # padded: one row is one cache line

#: Largest ``eta_i * c`` (step size times penalty rate) for which
#: :func:`penalty_product` sums the logarithm's series: its first omitted term
#: is below ``k * (2e-3)^6 / 6``, about 1e-17 a skipped update.
SERIES_LIMIT = 2e-3


@jit()
def lazy_tables(code, hyper, logs, t0, n_updates):
    """The catch-up's lookup tables for updates ``t0 + 1 .. t0 + n_updates``.

    Returns ``(by_update, by_skip, eta_max, q)``: float64 ``(n_updates + 1,
    U_SIZE)`` and ``(n_updates + 1, K_SIZE)`` (columns ``U_*``, ``K_*``), the
    largest step size of the epoch and the metric's decay ratio ``q``.
    ``logs`` is :func:`log_decays` of ``hyper``.
    """
    by_update = np.zeros((n_updates + 1, U_SIZE))
    by_skip = np.zeros((n_updates + 1, K_SIZE))
    s1 = s2 = s3 = s4 = s5 = 0.0
    eta_max = 0.0
    for u in range(n_updates + 1):
        eta = step_eta(hyper, t0 + u + 1.0)
        bc1, bc2 = bias_corrections(code, hyper, logs, t0 + u + 1.0)
        # indexed directly: a row view would count references in the loop
        by_update[u, U_S1], by_update[u, U_S2], by_update[u, U_S3] = s1, s2 / 2.0, s3 / 3.0
        by_update[u, U_S4], by_update[u, U_S5] = s4 / 4.0, s5 / 5.0
        by_update[u, U_ETA_NEXT], by_update[u, U_BC1_NEXT], by_update[u, U_BC2_NEXT] = eta, bc1, bc2
        if u < n_updates:
            eta_max = max(eta_max, abs(eta))
            e2 = eta * eta
            s1 += eta
            s2 += e2
            s3 += e2 * eta
            s4 += e2 * e2
            s5 += e2 * e2 * eta
    log_q = 0.5 * (logs[0] if code == RMSPROP else logs[1])
    qinv = q2inv = 0.0
    by_skip[0, K_P0] = by_skip[0, K_P1] = by_skip[0, K_Q] = 1.0
    for k in range(1, n_updates + 1):
        by_skip[k, K_P0] = math.exp(k * logs[0])
        by_skip[k, K_P1] = math.exp(k * logs[1])
        by_skip[k, K_HALF_P1] = math.exp(0.5 * (k - 1.0) * logs[1])
        by_skip[k, K_Q] = math.exp(k * log_q)
        qinv += math.exp(-k * log_q)
        q2inv += math.exp(-2.0 * k * log_q)
        by_skip[k, K_QINV], by_skip[k, K_Q2INV] = qinv, q2inv
    return by_update, by_skip, eta_max, math.exp(log_q)


@jit(inline="always")
def exp_neg(x):
    """``exp(-x)`` for ``x >= 0``: a Taylor polynomial of degree 4 below 2e-4 and
    10 below 1/8 (error under 1e-17 either way; the usual case, a small penalty
    over the skipped updates), else ``math.exp`` (13 ns here, the polynomials
    a few)."""
    y = -x
    if x < 2e-4:
        return 1.0 + y * (1.0 + y * 0.5 * (1.0 + y * (1.0 / 3.0) * (1.0 + y * 0.25)))
    if x >= 0.125:
        return math.exp(y)
    # Horner form of sum y^n / n!, multiplying by the reciprocals
    p = 1.0 + y * 0.1
    p = 1.0 + y * (1.0 / 9.0) * p
    p = 1.0 + y * 0.125 * p
    p = 1.0 + y * (1.0 / 7.0) * p
    p = 1.0 + y * (1.0 / 6.0) * p
    p = 1.0 + y * 0.2 * p
    p = 1.0 + y * 0.25 * p
    p = 1.0 + y * (1.0 / 3.0) * p
    p = 1.0 + y * 0.5 * p
    return 1.0 + y * p


@jit(inline="always")
def penalty_product(c, s1, s2, s3, s4, s5, k, eta_max, decoupled):
    """Product of the ``k`` skipped updates' L2 shrinks, ``prod 1 / (1 + eta_i c)``
    (proximal) or ``prod (1 - eta_i c)`` (decoupled).

    ``s1``..``s5`` are the sums of the skipped step sizes and of their powers
    2..5, each divided by its power (``s3 = sum eta_i^3 / 3``).  While every
    ``eta_i c`` is at most ``SERIES_LIMIT`` the logarithm ``-sum_i log(1 +
    eta_i c)`` is its power series in ``c`` over those sums, exact to rounding
    under any schedule.  Beyond, ``shrink^k`` with the mean
    step size (exact for a constant schedule).
    """
    if c == 0.0:
        return 1.0
    z = eta_max * c
    if z <= 1e-5:  # the terms from c^4 on are below k * 1e-20
        if decoupled:
            return exp_neg(c * (s1 + c * (s2 + c * s3)))
        return exp_neg(c * (s1 - c * (s2 - c * s3)))
    if z <= SERIES_LIMIT:
        if decoupled:
            x = c * (s1 + c * (s2 + c * (s3 + c * (s4 + c * s5))))
        else:
            x = c * (s1 - c * (s2 - c * (s3 - c * (s4 - c * s5))))
        return exp_neg(x)
    eta_mean = s1 / k
    shrink = 1.0 - eta_mean * c if decoupled else 1.0 / (1.0 + eta_mean * c)
    return math.pow(shrink, k)


@jit()
def harmonic_metric(root, q, q_k, qinv_k, q2inv_k, eps, k):
    """Harmonic mean of ``D_i = root * q^i + eps`` over i = 1..k, as
    :func:`decaying_metric`, from the sums ``qinv_k = sum q^-i`` and ``q2inv_k =
    sum q^-2i`` when ``eps`` is below 1e-4 of every ``root q^i``:
    ``sum 1 / D_i = qinv_k / root - eps q2inv_k / root^2`` to a relative
    1e-8.  Otherwise (or with ``qinv_k`` 0: unknown) :func:`decaying_metric`."""
    if qinv_k > 0.0 and root * q_k > 1e4 * eps:
        return k / (qinv_k / root - eps * q2inv_k / (root * root))
    return decaying_metric(root, q, q_k, eps, k)


@jit(inline="always")
def rule_step(code, p0, p1, eps, a, b, c, w, g, eta, bc1, bc2, l1, l2):
    """``coordinate_step`` on scalars: weight ``w`` with state slots ``a``, ``b``,
    ``c`` after one update with data gradient ``g``; returns ``(w, a, b, c)``.

    The sparse kernel keeps each weight's state beside it (one cache line a
    weight) and passes it by value; the formulas are ``direction``'s and
    ``coordinate_step``'s, kept in step with them by tests/test_kernel_pairs.py.
    """
    if code == SGD:
        d, D = g, 1.0
    elif code == MOMENTUM or code == NESTEROV:
        a = p0 * a + g
        d = g + p0 * a if code == NESTEROV else a
        D = 1.0 - p0
    elif code == ADAGRAD:
        a = a + g * g
        D = math.sqrt(a) + eps
        d = g / D
    elif code == RMSPROP:
        a = p0 * a + (1.0 - p0) * g * g
        D = math.sqrt(a) + eps
        d = g / D
    else:
        a = p0 * a + (1.0 - p0) * g
        b = p1 * b + (1.0 - p1) * g * g
        if code == AMSGRAD:
            c = max(c, b)
            D = math.sqrt(c) + eps
            d = a / D
        else:
            D = math.sqrt(b / bc2) + eps
            d = (a / bc1) / D
    if code == ADAMW:
        return soft_threshold(w * (1.0 - eta * l2) - eta * d, eta * l1), a, b, c
    w = w - eta * d
    if l1 > 0.0:
        w = soft_threshold(w, eta * l1 / D)
    if l2 > 0.0:
        w = w / (1.0 + eta * l2 / D)
    return w, a, b, c


@jit(inline="always")
def catch_up(
    code, p0, p1, eps, q, a, b, c, w, k, p0_k, p1_k, q_k, qinv_k, q2inv_k, eta_first, eta_max,
    s1, s2, s3, s4, s5, bc1, bc2, bc2_mid, l1, l2,
):  # fmt: skip
    """Weight ``w`` after ``k`` updates in which no row touched it (data gradient 0).

    ``p0``, ``p1``, ``eps`` are the rule's hyperparameters (``hyper[O_P0]``,
    ``hyper[O_P1]``, ``hyper[O_EPS]``), ``a``, ``b``, ``c`` the weight's state
    slots ``SLOT_A``..``SLOT_C``; ``p0_k``, ``p1_k``, ``q_k``, ``qinv_k``,
    ``q2inv_k`` the ``by_skip`` row ``k`` of :func:`lazy_tables` (``q`` its
    metric ratio), ``s1``..``s5`` the sums of the skipped step sizes and of
    their powers (divided by the power, as ``lazy_tables`` keeps them),
    ``eta_first``, ``bc1``, ``bc2`` the step size and bias corrections of the
    first skipped update, ``bc2_mid`` that of the middle one,
    ``eta_max`` the epoch's largest step size.  Returns ``(w, a, b)``, the
    weight and its first two slots after the ``k`` updates (``c``, AMSGrad's
    max, does not change).  Scalars in and out, table values rather than
    ``exp`` / ``pow``: it runs once for every weight a sparse batch touches.

    State: the moments' decay is exact (``beta^k``, ``mu^k``).

    Movement (the decaying moments still move the weight): a geometric sum with
    the step size of the first skipped step, ``eta_first`` (the moments weigh
    the first steps most).  Exact for momentum, Nesterov and AMSGrad under a
    constant schedule.  Adam / AdamW also freeze the bias corrections at those
    of the first skipped step (``bc1``, ``bc2``) and the metric at its value
    after one skipped step, although it shrinks by ``beta2^(1/2)`` a step.

    Penalty: ``k`` proximal steps with one metric: the constant one of SGD,
    momentum, AdaGrad and AMSGrad, the harmonic mean of the decaying one for
    RMSProp and Adam (:func:`harmonic_metric`; Adam's with ``bc2_mid``, the
    bias correction of the middle skipped step).  The L2 shrinks' product is
    :func:`penalty_product` (exact to rounding for small steps under any
    schedule); the L1 threshold uses the mean step size.  An L2-only penalty
    interleaves with the movement of momentum, Nesterov and AMSGrad exactly
    (``interleaved_shrink_k``); otherwise the penalty steps follow the
    movement.  Exact under a constant schedule: SGD and AdaGrad with any
    penalty; momentum, Nesterov and AMSGrad with L2 or no penalty; RMSProp
    without penalty.  SGD and AdaGrad with L2 alone are exact under any
    schedule while ``eta_i l2 / D`` stays below ``SERIES_LIMIT``.

    The approximations are tested against the dense eager update
    (tests/test_optim.py, tests/test_sparse_minibatch.py) and documented in
    docs/user_guide/optimizers.rst.
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
        s = a
        a = s * p0_k
        if penalised:
            D = harmonic_metric(math.sqrt(s), q, q_k, qinv_k, q2inv_k, eps, k)
    elif code != SGD:
        b1, b2 = p0, p1
        m, v = a, b
        if code == AMSGRAD:
            D = math.sqrt(c) + eps
            move, ratio = m / D, b1
        else:
            moved = m * b1 * (1.0 - p0_k) / (1.0 - b1)  # sum of the skipped steps' m
            w -= eta_first * (moved / bc1) / (math.sqrt(v * b2 / bc2) + eps)
            if penalised:
                D = harmonic_metric(math.sqrt(v / bc2_mid), q, q_k, qinv_k, q2inv_k, eps, k)
        a, b = m * p0_k, v * p1_k
    decoupled = code == ADAMW
    rate = l2 if decoupled else l2 / D
    shrink_k = penalty_product(rate, s1, s2, s3, s4, s5, k, eta_max, decoupled)
    if move == 0.0 and l1 == 0.0:
        return w * shrink_k, a, b
    # the one-update shrink and threshold of the mean step size
    eta_mean = s1 / k
    shrink = 1.0 - eta_mean * rate if decoupled else 1.0 / (1.0 + eta_mean * rate)
    if move != 0.0 and l1 == 0.0:
        # ratio is p0 (mu or beta1) wherever the weight moves
        return interleaved_shrink_k(w, eta_first * move, ratio, p0_k, shrink, shrink_k, k), a, b
    if move != 0.0:
        w -= eta_first * move * ratio * (1.0 - p0_k) / (1.0 - ratio)
    if not penalised:
        return w, a, b
    tau = eta_mean * l1 if decoupled else eta_mean * l1 / D
    return repeated_penalty_k(w, tau, shrink, shrink_k, k, decoupled), a, b
