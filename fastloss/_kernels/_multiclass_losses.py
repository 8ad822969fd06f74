"""Compiled kernels of the multiclass losses, which see all classes' scores at once.

A multiclass loss of one sample takes its class ``label`` (an integer in
``[0, n_classes)``) and the raw scores ``p`` of every class (float64
``(n_classes,)``), and writes its gradient in ``p`` into ``g`` (float64
``(n_classes,)``).  Kernels pick the loss by an integer mode (``_layout``'s
``MULTINOMIAL``, ``CRAMMER_SINGER``), as they do for the scalar losses
(``_loss_switch``), so that they stay cacheable.
"""

from __future__ import annotations

import math

from .._config import jit
from ._layout import MULTINOMIAL


@jit(inline="always")
def softmax_loss_gradient(label, p, g):
    """Cross-entropy ``logsumexp(p) - p[label]``; ``g = softmax(p) - onehot(label)``.

    Shifted by ``max(p)`` (no overflow at any score), and the log of the sum
    taken as ``log1p`` of the other classes' terms, so that a small loss keeps
    its relative precision.
    """
    top = 0
    for k in range(1, p.shape[0]):
        if p[k] > p[top]:
            top = k
    rest = 0.0
    for k in range(p.shape[0]):
        g[k] = math.exp(p[k] - p[top])
        if k != top:
            rest += g[k]
    total = 1.0 + rest
    for k in range(p.shape[0]):
        g[k] /= total
    g[label] -= 1.0
    return (p[top] - p[label]) + math.log1p(rest)


@jit(inline="always")
def crammer_singer_loss_gradient(label, p, g):
    """Multiclass hinge ``max(0, 1 + max_{k != label} p[k] - p[label])``.

    ``g`` is its subgradient: +1 at the highest-scoring wrong class (the
    first one on ties), -1 at ``label``, where the margin is violated.
    """
    rival = -1
    for k in range(p.shape[0]):
        g[k] = 0.0
        if k != label and (rival < 0 or p[k] > p[rival]):
            rival = k
    z = 1.0 + p[rival] - p[label]
    if z <= 0.0:
        return 0.0
    g[rival] = 1.0
    g[label] = -1.0
    return z


@jit()
def multiclass_loss_gradient(code, label, p, g):
    """Loss of multiclass loss ``code`` at one sample; its gradient into ``g``.

    The two losses are inlined so that this function calls nothing that takes
    an array: Numba then prunes its reference counts, which would otherwise
    cost four atomic updates on every row of a multiclass epoch."""
    if code == MULTINOMIAL:
        return softmax_loss_gradient(label, p, g)
    return crammer_singer_loss_gradient(label, p, g)


@jit()
def multiclass_loss_array(code, labels, raw, out, grad):
    """Per-sample loss into ``out`` (n_samples,), gradients into ``grad``
    (n_samples, n_classes); ``labels`` int64 (n_samples,), ``raw`` float64
    (n_samples, n_classes)."""
    for i in range(labels.shape[0]):
        out[i] = multiclass_loss_gradient(code, labels[i], raw[i], grad[i])
