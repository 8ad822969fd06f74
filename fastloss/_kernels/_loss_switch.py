"""Compiled scalar functions of the built-in losses, and the integer switch over them.

Each loss is a pair of ``@njit`` functions of one sample: its value
``loss(y, p, ...)`` and its derivative in the raw prediction ``dloss(y, p, ...)``.
Kernels reach them through :func:`loss_value` / :func:`loss_derivative`, which
pick the loss by an integer code and read its hyperparameters from a float64
array (the codes are in ``_layout``).  Such a kernel is a cache hit in a fresh
process (a kernel that receives a loss *function* as an argument recompiles in
every process: docs/developer/architecture.rst, "Measured facts").  A
user-defined loss has no code here: kernels
reach it through a copy whose ``loss_value`` / ``loss_derivative`` globals are
rebound (``_specialise``), which is why every kernel must call these two by
name, and why they keep their names.

A composite loss (``fastloss.losses.Sum`` of built-in losses) has the code
``COMPOSITE`` and its terms in ``params`` (``_layout``); the switch loops over
them through the per-term switch (:func:`term_value` / :func:`term_derivative`,
which take the hyperparameters as scalars), so every composite of built-in
losses runs the same cached kernels.

Conventions follow scikit-learn's SGD losses: binary classification losses take
``y`` in {-1, +1} and ``p`` the raw margin score; regression losses take the
target and the prediction.  Squared error is halved (``0.5 * (p - y) ** 2``).
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from .._config import jit
from ._layout import (
    ABSOLUTE_ERROR,
    CAUCHY,
    COMPOSITE,
    COMPOSITE_HEAD,
    COMPOSITE_N_TERMS,
    CROSS_ENTROPY,
    EPSILON_INSENSITIVE,
    FOCAL,
    GENERALIZED_CROSS_ENTROPY,
    HINGE,
    HUBER,
    LOG,
    LOG_COSH,
    MODIFIED_HUBER,
    POISSON,
    QUANTILE,
    RAMP,
    SMOOTH_HINGE,
    SQUARED_EPSILON_INSENSITIVE,
    SQUARED_ERROR,
    SQUARED_HINGE,
    SYMMETRIC_CROSS_ENTROPY,
    TUKEY,
    TWEEDIE,
)

#: Largest argument given to ``exp`` by the log-link losses: exp(300) ~ 2e130
#: and its square are finite, so an exploding prediction gives a huge value and
#: derivative (caught by the divergence check) rather than inf or inf - inf = NaN.
#: Beyond it the losses are flat, which no useful model reaches (a mean of 1e130).
MAX_EXP = 300.0


@jit()
def hinge_loss(y, p, threshold):
    """max(0, threshold - y * p)."""
    z = p * y
    return threshold - z if z <= threshold else 0.0


@jit()
def hinge_dloss(y, p, threshold):
    """-y where y * p <= threshold, else 0 (scikit-learn's subgradient)."""
    return -y if p * y <= threshold else 0.0


@jit()
def squared_hinge_loss(y, p, threshold):
    """max(0, threshold - y * p) ** 2."""
    z = threshold - p * y
    return z * z if z > 0.0 else 0.0


@jit()
def squared_hinge_dloss(y, p, threshold):
    z = threshold - p * y
    return -2.0 * y * z if z > 0.0 else 0.0


@jit()
def log_loss(y, p):
    """log(1 + exp(-y * p)), exact for any margin (no overflow at |z| = 1e6)."""
    return log_loss_and_dloss(y, p, True)[0]


@jit()
def log_dloss(y, p):
    """-y * sigmoid(-y * p), evaluated without overflow."""
    return log_loss_and_dloss(y, p, False)[1]


@jit(inline="always")
def log_loss_and_dloss(y, p, with_value):
    """(log_loss or 0.0, log_dloss) from one ``exp`` of the margin: the grid
    epoch needs both a sample, about 10 ns of the 60 a model spends on a row;
    the value's ``log1p`` only ``with_value``."""
    z = p * y
    if z > 0.0:
        e = math.exp(-z)
        return (math.log1p(e) if with_value else 0.0), -y * e / (1.0 + e)
    e = math.exp(z)
    return (-z + math.log1p(e) if with_value else 0.0), -y / (1.0 + e)


@jit()
def modified_huber_loss(y, p):
    """Quadratically smoothed hinge: (1 - z)^2 on [-1, 1], -4 z below."""
    z = p * y
    if z >= 1.0:
        return 0.0
    if z >= -1.0:
        return (1.0 - z) * (1.0 - z)
    return -4.0 * z


@jit()
def modified_huber_dloss(y, p):
    z = p * y
    if z >= 1.0:
        return 0.0
    if z >= -1.0:
        return -2.0 * (1.0 - z) * y
    return -4.0 * y


@jit()
def squared_error_loss(y, p):
    """0.5 * (p - y) ** 2."""
    r = p - y
    return 0.5 * r * r


@jit()
def squared_error_dloss(y, p):
    return p - y


@jit()
def huber_loss(y, p, epsilon):
    """Quadratic within epsilon of the target, linear beyond."""
    r = abs(p - y)
    if r <= epsilon:
        return 0.5 * r * r
    return epsilon * (r - 0.5 * epsilon)


@jit()
def huber_dloss(y, p, epsilon):
    r = p - y
    if abs(r) <= epsilon:
        return r
    return epsilon if r > 0.0 else -epsilon


@jit()
def epsilon_insensitive_loss(y, p, epsilon):
    """max(0, |y - p| - epsilon)."""
    r = abs(y - p) - epsilon
    return r if r > 0.0 else 0.0


@jit()
def epsilon_insensitive_dloss(y, p, epsilon):
    if y - p > epsilon:
        return -1.0
    if p - y > epsilon:
        return 1.0
    return 0.0


@jit()
def squared_epsilon_insensitive_loss(y, p, epsilon):
    """max(0, |y - p| - epsilon) ** 2."""
    r = abs(y - p) - epsilon
    return r * r if r > 0.0 else 0.0


@jit()
def squared_epsilon_insensitive_dloss(y, p, epsilon):
    z = y - p
    if z > epsilon:
        return -2.0 * (z - epsilon)
    if z < -epsilon:
        return 2.0 * (-z - epsilon)
    return 0.0


@jit()
def softplus(x):
    """log(1 + exp(x)) without overflow."""
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@jit()
def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow."""
    if x > 0.0:
        e = math.exp(-x)
        return 1.0 / (1.0 + e)
    e = math.exp(x)
    return e / (1.0 + e)


@jit()
def clipped_exp(x):
    """exp(min(x, MAX_EXP)): finite for any finite x."""
    return math.exp(min(x, MAX_EXP))


@jit()
def smooth_hinge_loss(y, p, smoothness):
    """Hinge with its kink replaced by a parabola of width ``smoothness``:
    0 for z >= 1, (1 - z)^2 / (2 s) on [1 - s, 1], 1 - z - s / 2 below."""
    z = p * y
    if z >= 1.0:
        return 0.0
    if z <= 1.0 - smoothness:
        return 1.0 - z - 0.5 * smoothness
    return (1.0 - z) * (1.0 - z) / (2.0 * smoothness)


@jit()
def smooth_hinge_dloss(y, p, smoothness):
    z = p * y
    if z >= 1.0:
        return 0.0
    if z <= 1.0 - smoothness:
        return -y
    return -y * (1.0 - z) / smoothness


@jit()
def focal_loss(y, p, gamma, alpha_pos, alpha_neg):
    """alpha_t (1 - q)^gamma * -log(q) with q = sigmoid(y p), the probability
    given to the true class; evaluated in log space (finite at any margin)."""
    z = p * y
    alpha_t = alpha_pos if y > 0.0 else alpha_neg
    # (1 - q)^gamma = sigmoid(-z)^gamma = exp(-gamma * softplus(z))
    modulation = math.exp(-gamma * softplus(z)) if gamma != 0.0 else 1.0
    return alpha_t * modulation * softplus(-z)


@jit()
def focal_dloss(y, p, gamma, alpha_pos, alpha_neg):
    """y alpha_t (1 - q)^gamma (gamma q log q - (1 - q)); gamma = 0 gives log loss."""
    z = p * y
    alpha_t = alpha_pos if y > 0.0 else alpha_neg
    miss = sigmoid(-z)  # 1 - q
    if gamma == 0.0:
        return -y * alpha_t * miss
    modulation = math.exp(-gamma * softplus(z))
    q_log_q = -sigmoid(z) * softplus(-z)  # q log q, -> 0 as q -> 0
    return y * alpha_t * modulation * (gamma * q_log_q - miss)


@jit()
def cross_entropy_loss(y, p):
    """-y log sigmoid(p) - (1 - y) log sigmoid(-p) = softplus(p) - y p, y in [0, 1]."""
    return softplus(p) - y * p


@jit()
def cross_entropy_dloss(y, p):
    return sigmoid(p) - y


@jit()
def quantile_loss(y, p, quantile):
    """Pinball loss: quantile * (y - p) above the prediction, (1 - quantile) * (p - y) below."""
    r = y - p
    if r >= 0.0:
        return quantile * r
    return (quantile - 1.0) * r


@jit()
def quantile_dloss(y, p, quantile):
    """-quantile where y >= p (scikit-learn's pinball subgradient), else 1 - quantile."""
    if y >= p:
        return -quantile
    return 1.0 - quantile


@jit()
def log_cosh_loss(y, p):
    """log(cosh(p - y)) = |r| + log1p(exp(-2 |r|)) - log 2, exact for large |r|."""
    r = abs(p - y)
    return r + math.log1p(math.exp(-2.0 * r)) - math.log(2.0)


@jit()
def log_cosh_dloss(y, p):
    return math.tanh(p - y)


@jit()
def xlogy(x, y):
    """x log(y) with 0 log(0) = 0."""
    if x == 0.0:
        return 0.0
    return x * math.log(y)


@jit()
def poisson_loss(y, p):
    """Half Poisson deviance y log(y / mu) - y + mu with mu = exp(p), y >= 0."""
    return clipped_exp(p) - y * p + xlogy(y, y) - y


@jit()
def poisson_dloss(y, p):
    return clipped_exp(p) - y


@jit()
def tweedie_loss(y, p, power):
    """Half Tweedie deviance with log link mu = exp(p); zero where mu = y.

    power 0: (y - mu)^2 / 2; power 1: Poisson; power 2: Gamma,
    log(mu / y) + y / mu - 1; otherwise
    max(y, 0)^(2 - power) / ((1 - power)(2 - power)) - y mu^(1 - power) / (1 - power)
    + mu^(2 - power) / (2 - power).
    """
    if power == 0.0:
        r = clipped_exp(p) - y
        return 0.5 * r * r
    if power == 1.0:
        return poisson_loss(y, p)
    if power == 2.0:
        return p - math.log(y) + y * clipped_exp(-p) - 1.0
    a, b = 1.0 - power, 2.0 - power
    constant = math.pow(max(y, 0.0), b) / (a * b)
    return constant - y * clipped_exp(a * p) / a + clipped_exp(b * p) / b


@jit()
def tweedie_dloss(y, p, power):
    """mu^(2 - power) - y mu^(1 - power)."""
    return clipped_exp((2.0 - power) * p) - y * clipped_exp((1.0 - power) * p)


@jit()
def ramp_loss(y, p, s):
    """Hinge truncated at margin s < 1: 0 for z >= 1, 1 - z on [s, 1], 1 - s below."""
    z = p * y
    if z >= 1.0:
        return 0.0
    if z <= s:
        return 1.0 - s
    return 1.0 - z


@jit()
def ramp_dloss(y, p, s):
    """-y for s <= z <= 1 (the hinge's subgradient at 1, pushing at s), else 0."""
    z = p * y
    return -y if s <= z <= 1.0 else 0.0


@jit()
def generalized_cross_entropy_loss(y, p, q):
    """(1 - f^q) / q with f = sigmoid(y p) (Zhang & Sabuncu, 2018); q = 0 is the log loss.

    Written as -expm1(-q softplus(-z)) / q: finite at any margin (at most 1 / q).
    """
    nll = softplus(-p * y)  # -log f
    if q == 0.0:
        return nll
    return -math.expm1(-q * nll) / q


@jit()
def generalized_cross_entropy_dloss(y, p, q):
    """-y f^q (1 - f): the log loss's derivative damped by f^q."""
    z = p * y
    return -y * math.exp(-q * softplus(-z)) * sigmoid(-z)


#: -A of Wang et al. (2019): the reverse cross-entropy takes log 0 = A = -4.
RCE_LOG_ZERO = 4.0


@jit()
def symmetric_cross_entropy_loss(y, p, alpha, beta):
    """alpha * log loss + beta * reverse cross-entropy; for two classes the
    reverse term is -A (1 - f) = 4 sigmoid(-y p) (Wang et al., 2019)."""
    z = p * y
    return alpha * softplus(-z) + beta * RCE_LOG_ZERO * sigmoid(-z)


@jit()
def symmetric_cross_entropy_dloss(y, p, alpha, beta):
    z = p * y
    return -y * sigmoid(-z) * (alpha + beta * RCE_LOG_ZERO * sigmoid(z))


@jit()
def tukey_loss(y, p, c):
    """Tukey's biweight: c^2 / 6 (1 - (1 - (r / c)^2)^3) for |r| < c, c^2 / 6 beyond."""
    t = (p - y) / c
    if abs(t) >= 1.0:
        return c * c / 6.0
    u = 1.0 - t * t
    return c * c / 6.0 * (1.0 - u * u * u)


@jit()
def tukey_dloss(y, p, c):
    """r (1 - (r / c)^2)^2 for |r| < c, 0 beyond: gross outliers pull with no force."""
    r = p - y
    t = r / c
    if abs(t) >= 1.0:
        return 0.0
    u = 1.0 - t * t
    return r * u * u


@jit()
def cauchy_loss(y, p, c):
    """c^2 / 2 log(1 + (r / c)^2), exact where (r / c)^2 would overflow."""
    t = abs((p - y) / c)
    if t > 1e100:
        return c * c * math.log(t)
    return 0.5 * c * c * math.log1p(t * t)


@jit()
def cauchy_dloss(y, p, c):
    """r / (1 + (r / c)^2): decays like c^2 / r for large residuals."""
    r = p - y
    t = r / c
    if abs(t) > 1e100:
        return c / t
    return r / (1.0 + t * t)


@jit()
def absolute_error_loss(y, p):
    """|p - y|."""
    return abs(p - y)


@jit()
def absolute_error_dloss(y, p):
    """sign(p - y), 0 at p = y."""
    if p > y:
        return 1.0
    if p < y:
        return -1.0
    return 0.0


@jit(inline="always")
def term_value(code, y, p, a, b, c):
    """Value of built-in loss ``code`` at one sample; ``a``, ``b``, ``c``: its
    first, second and third hyperparameters (0 where it has fewer).

    Scalars, not the parameter array: an array bound by a helper IR-inlined on
    two paths (plain and composite) keeps reference counts in the row loop."""
    if code == HINGE:
        return hinge_loss(y, p, a)
    if code == SQUARED_HINGE:
        return squared_hinge_loss(y, p, a)
    if code == LOG:
        return log_loss(y, p)
    if code == MODIFIED_HUBER:
        return modified_huber_loss(y, p)
    if code == SQUARED_ERROR:
        return squared_error_loss(y, p)
    if code == HUBER:
        return huber_loss(y, p, a)
    if code == EPSILON_INSENSITIVE:
        return epsilon_insensitive_loss(y, p, a)
    if code == SQUARED_EPSILON_INSENSITIVE:
        return squared_epsilon_insensitive_loss(y, p, a)
    if code == SMOOTH_HINGE:
        return smooth_hinge_loss(y, p, a)
    if code == FOCAL:
        return focal_loss(y, p, a, b, c)
    if code == CROSS_ENTROPY:
        return cross_entropy_loss(y, p)
    if code == QUANTILE:
        return quantile_loss(y, p, a)
    if code == LOG_COSH:
        return log_cosh_loss(y, p)
    if code == POISSON:
        return poisson_loss(y, p)
    if code == TWEEDIE:
        return tweedie_loss(y, p, a)
    if code == RAMP:
        return ramp_loss(y, p, a)
    if code == GENERALIZED_CROSS_ENTROPY:
        return generalized_cross_entropy_loss(y, p, a)
    if code == SYMMETRIC_CROSS_ENTROPY:
        return symmetric_cross_entropy_loss(y, p, a, b)
    if code == TUKEY:
        return tukey_loss(y, p, a)
    if code == CAUCHY:
        return cauchy_loss(y, p, a)
    if code == ABSOLUTE_ERROR:
        return absolute_error_loss(y, p)
    return math.nan  # not a built-in code: NaN makes the fit fail loudly


@jit(inline="always")
def term_derivative(code, y, p, a, b, c):
    """Derivative in ``p`` of built-in loss ``code`` at one sample; ``a``, ``b``,
    ``c`` as in term_value."""
    if code == HINGE:
        return hinge_dloss(y, p, a)
    if code == SQUARED_HINGE:
        return squared_hinge_dloss(y, p, a)
    if code == LOG:
        return log_dloss(y, p)
    if code == MODIFIED_HUBER:
        return modified_huber_dloss(y, p)
    if code == SQUARED_ERROR:
        return squared_error_dloss(y, p)
    if code == HUBER:
        return huber_dloss(y, p, a)
    if code == EPSILON_INSENSITIVE:
        return epsilon_insensitive_dloss(y, p, a)
    if code == SQUARED_EPSILON_INSENSITIVE:
        return squared_epsilon_insensitive_dloss(y, p, a)
    if code == SMOOTH_HINGE:
        return smooth_hinge_dloss(y, p, a)
    if code == FOCAL:
        return focal_dloss(y, p, a, b, c)
    if code == CROSS_ENTROPY:
        return cross_entropy_dloss(y, p)
    if code == QUANTILE:
        return quantile_dloss(y, p, a)
    if code == LOG_COSH:
        return log_cosh_dloss(y, p)
    if code == POISSON:
        return poisson_dloss(y, p)
    if code == TWEEDIE:
        return tweedie_dloss(y, p, a)
    if code == RAMP:
        return ramp_dloss(y, p, a)
    if code == GENERALIZED_CROSS_ENTROPY:
        return generalized_cross_entropy_dloss(y, p, a)
    if code == SYMMETRIC_CROSS_ENTROPY:
        return symmetric_cross_entropy_dloss(y, p, a, b)
    if code == TUKEY:
        return tukey_dloss(y, p, a)
    if code == CAUCHY:
        return cauchy_dloss(y, p, a)
    if code == ABSOLUTE_ERROR:
        return absolute_error_dloss(y, p)
    return math.nan  # not a built-in code: NaN makes the fit fail loudly


@jit(inline="always")
def term_value_and_derivative(code, y, p, a, b, c, with_value):
    """(value or 0.0, derivative) of built-in loss ``code`` at one sample, as
    term_value and term_derivative give them, the value only ``with_value``;
    the log loss's from one ``exp`` (``log_loss_and_dloss``)."""
    if code == LOG:
        return log_loss_and_dloss(y, p, with_value)
    value = term_value(code, y, p, a, b, c) if with_value else 0.0
    return value, term_derivative(code, y, p, a, b, c)


#: Hyperparameters a built-in loss may have (term_value's a, b, c).
MAX_TERM_PARAMS = 3


@intrinsic
def data_address(typingctx, arr):
    """Address of a contiguous float64 array's first item, as an integer."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.float64 and arr.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.ptrtoint(array.data, context.get_value_type(types.intp))

    return types.intp(arr), codegen


@intrinsic
def load_float64(typingctx, address, index):
    """The float64 at ``address + 8 * index`` (an address from data_address)."""
    if not (isinstance(address, types.Integer) and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        pointer = builder.inttoptr(args[0], ir.DoubleType().as_pointer())
        return builder.load(builder.gep(pointer, [index]))

    return types.float64(address, index), codegen


# Two things keep the composite branches' loop over the terms cheap (measured
# on derivative_array: 1.4 ns a sample for Huber, 36-66 ns for a one-term sum
# without them, within 1 ns of the sum of its terms' with them):
# - the parameter array is read through its address: an array that an
#   IR-inlined helper uses inside a loop keeps an atomic reference-count
#   increment and decrement around that loop, once a sample (Numba's refprune
#   pass cannot remove a pair with a loop between them);
# - each term sees the prediction as ``p + 0.0 * weight`` (exactly p for the
#   finite weights a Sum accepts): with p invariant in the loop, LLVM hoisted
#   the exp of every branch of the switch out of it, computing all of them for
#   every sample whatever the terms.


@jit(inline="always")
def loss_value(code, y, p, params):
    """Value of built-in loss ``code`` at one sample; ``params``: float64 (n_params,).

    ``COMPOSITE`` is a weighted sum whose ``params`` are
    ``[n_terms, (code, weight, n_params, params...) ...]`` (``_layout``): a flat
    loop over the terms through the plain switch, no recursion, no array slices.
    """
    n = params.shape[0]
    if code != COMPOSITE:
        a = params[0] if n > 0 else 0.0
        b = params[1] if n > 1 else 0.0
        c = params[2] if n > 2 else 0.0
        return term_value(code, y, p, a, b, c)
    n_terms = int(params[COMPOSITE_N_TERMS])
    base = data_address(params)
    total = 0.0
    k = COMPOSITE_N_TERMS + 1
    for _ in range(n_terms):
        m = int(load_float64(base, k + 2))
        s = k + COMPOSITE_HEAD
        a = load_float64(base, s) if m > 0 else 0.0
        b = load_float64(base, s + 1) if m > 1 else 0.0
        c = load_float64(base, s + 2) if m > 2 else 0.0
        term = int(load_float64(base, k))
        weight = load_float64(base, k + 1)
        total += weight * term_value(term, y, p + 0.0 * weight, a, b, c)
        k = s + m
    return total


@jit(inline="always")
def loss_derivative(code, y, p, params):
    """Derivative in ``p`` of built-in loss ``code`` at one sample (``params`` as
    in loss_value)."""
    n = params.shape[0]
    if code != COMPOSITE:
        a = params[0] if n > 0 else 0.0
        b = params[1] if n > 1 else 0.0
        c = params[2] if n > 2 else 0.0
        return term_derivative(code, y, p, a, b, c)
    n_terms = int(params[COMPOSITE_N_TERMS])
    base = data_address(params)
    total = 0.0
    k = COMPOSITE_N_TERMS + 1
    for _ in range(n_terms):
        m = int(load_float64(base, k + 2))
        s = k + COMPOSITE_HEAD
        a = load_float64(base, s) if m > 0 else 0.0
        b = load_float64(base, s + 1) if m > 1 else 0.0
        c = load_float64(base, s + 2) if m > 2 else 0.0
        term = int(load_float64(base, k))
        weight = load_float64(base, k + 1)
        total += weight * term_derivative(term, y, p + 0.0 * weight, a, b, c)
        k = s + m
    return total


@jit()
def loss_array(code, y, p, params, out):
    """out[i] = loss(y[i], p[i]); y, p, out: float64 (n_samples,)."""
    for i in range(y.shape[0]):
        out[i] = loss_value(code, y[i], p[i], params)


@jit()
def derivative_array(code, y, p, params, out):
    """out[i] = dloss(y[i], p[i]); y, p, out: float64 (n_samples,)."""
    for i in range(y.shape[0]):
        out[i] = loss_derivative(code, y[i], p[i], params)
