"""Compiled scalar kernels of the built-in losses, and the integer switch over them.

Each loss is a pair of ``@njit`` functions of one sample: its value
``loss(y, p, ...)`` and its derivative in the raw prediction ``dloss(y, p, ...)``.
Kernels reach them through :func:`loss_value` / :func:`loss_derivative`, which
pick the loss by an integer code and read its hyperparameters from a float64
array.  Such a kernel is a cache hit in a fresh process (a kernel that receives a
loss *function* as an argument recompiles in every process, see DESIGN.md).

Conventions follow scikit-learn's SGD losses: binary classification losses take
``y`` in {-1, +1} and ``p`` the raw margin score; regression losses take the
target and the prediction.  Squared error is halved (``0.5 * (p - y) ** 2``).
"""

from __future__ import annotations

import math

from .._config import jit

# Integer codes of the built-in losses (stable: they index the compile cache).
HINGE = 0
SQUARED_HINGE = 1
LOG = 2
MODIFIED_HUBER = 3
SQUARED_ERROR = 4
HUBER = 5
EPSILON_INSENSITIVE = 6
SQUARED_EPSILON_INSENSITIVE = 7


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
    z = p * y
    if z > 0.0:
        return math.log1p(math.exp(-z))
    return -z + math.log1p(math.exp(z))


@jit()
def log_dloss(y, p):
    """-y * sigmoid(-y * p), evaluated without overflow."""
    z = p * y
    if z > 0.0:
        e = math.exp(-z)
        return -y * e / (1.0 + e)
    return -y / (1.0 + math.exp(z))


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
def loss_value(code, y, p, params):
    """Value of built-in loss ``code`` at one sample; ``params``: float64 (n_params,)."""
    if code == HINGE:
        return hinge_loss(y, p, params[0])
    if code == SQUARED_HINGE:
        return squared_hinge_loss(y, p, params[0])
    if code == LOG:
        return log_loss(y, p)
    if code == MODIFIED_HUBER:
        return modified_huber_loss(y, p)
    if code == SQUARED_ERROR:
        return squared_error_loss(y, p)
    if code == HUBER:
        return huber_loss(y, p, params[0])
    if code == EPSILON_INSENSITIVE:
        return epsilon_insensitive_loss(y, p, params[0])
    return squared_epsilon_insensitive_loss(y, p, params[0])


@jit()
def loss_derivative(code, y, p, params):
    """Derivative in ``p`` of built-in loss ``code`` at one sample."""
    if code == HINGE:
        return hinge_dloss(y, p, params[0])
    if code == SQUARED_HINGE:
        return squared_hinge_dloss(y, p, params[0])
    if code == LOG:
        return log_dloss(y, p)
    if code == MODIFIED_HUBER:
        return modified_huber_dloss(y, p)
    if code == SQUARED_ERROR:
        return squared_error_dloss(y, p)
    if code == HUBER:
        return huber_dloss(y, p, params[0])
    if code == EPSILON_INSENSITIVE:
        return epsilon_insensitive_dloss(y, p, params[0])
    return squared_epsilon_insensitive_dloss(y, p, params[0])


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
