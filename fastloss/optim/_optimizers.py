"""The built-in optimizers: SGD, momentum / Nesterov, AdaGrad, RMSProp, Adam, AdamW, AMSGrad.

Each class holds hyperparameters only; the update rules are compiled in
``fastloss._kernels._optim_rules`` (formulas: ``docs/user_guide/optimizers.rst``).
"""

from __future__ import annotations

import numpy as np

from .._kernels import _layout as L
from ._base import POSITIVE, UNIT_DECAY, Optimizer

__all__ = ["SGD", "Momentum", "AdaGrad", "RMSProp", "Adam", "AdamW", "AMSGrad"]


class SGD(Optimizer):
    """Plain stochastic gradient descent: ``w <- w - eta g``.

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``.

    Notes
    -----
    With ``batch_size=1`` and one of scikit-learn's four schedules this is
    exactly scikit-learn's algorithm (and runs its kernel); otherwise the
    mini-batch kernel applies the penalty as a proximal step.
    """

    name = "sgd"
    _code = L.SGD
    is_plain_sgd = True

    def __init__(self, lr: float | None = None):
        self.lr = lr


class Momentum(Optimizer):
    """SGD with heavy-ball or Nesterov momentum (PyTorch's form).

    ``v <- mu v + g``; ``w <- w - eta v`` (heavy ball), or
    ``w <- w - eta (g + mu v)`` with ``nesterov=True`` (Sutskever et al., 2013,
    rewritten in terms of the current weights, as PyTorch does).

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``.
    momentum : float, default=0.9
        ``mu`` in [0, 1).
    nesterov : bool, default=False
    """

    name = "momentum"
    aliases = {"nesterov": {"nesterov": True}}
    _parameter_constraints = {
        **Optimizer._parameter_constraints,
        "momentum": [UNIT_DECAY],
        "nesterov": ["boolean"],
    }

    def __init__(self, lr: float | None = None, momentum: float = 0.9, nesterov: bool = False):
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov

    @property
    def _code(self):
        return L.NESTEROV if self.nesterov else L.MOMENTUM

    def _kernel_params(self):
        return np.array([float(self.momentum), 0.0, 0.0])


class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer, 2011).

    ``G <- G + g^2``; ``w <- w - eta g / (sqrt(G) + eps)``.

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``.
    eps : float, default=1e-8
    """

    name = "adagrad"
    _code = L.ADAGRAD
    _parameter_constraints = {**Optimizer._parameter_constraints, "eps": [POSITIVE]}

    def __init__(self, lr: float | None = None, eps: float = 1e-8):
        self.lr = lr
        self.eps = eps

    def _kernel_params(self):
        return np.array([0.0, 0.0, float(self.eps)])


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton, 2012).

    ``s <- rho s + (1 - rho) g^2``; ``w <- w - eta g / (sqrt(s) + eps)``.

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``.
    rho : float, default=0.9
        Decay of the squared-gradient average, in [0, 1).
    eps : float, default=1e-8
    """

    name = "rmsprop"
    _code = L.RMSPROP
    _parameter_constraints = {
        **Optimizer._parameter_constraints,
        "rho": [UNIT_DECAY],
        "eps": [POSITIVE],
    }

    def __init__(self, lr: float | None = None, rho: float = 0.9, eps: float = 1e-8):
        self.lr = lr
        self.rho = rho
        self.eps = eps

    def _kernel_params(self):
        return np.array([float(self.rho), 0.0, float(self.eps)])


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with bias-corrected moment estimates.

    ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
    ``w <- w - eta (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``.
    beta1, beta2 : float, default=0.9, 0.999
        Decay rates of the moment estimates, in [0, 1).
    eps : float, default=1e-8
    """

    name = "adam"
    _code = L.ADAM
    _parameter_constraints = {
        **Optimizer._parameter_constraints,
        "beta1": [UNIT_DECAY],
        "beta2": [UNIT_DECAY],
        "eps": [POSITIVE],
    }

    def __init__(
        self,
        lr: float | None = None,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps

    def _kernel_params(self):
        return np.array([float(self.beta1), float(self.beta2), float(self.eps)])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    The L2 part of the estimator's penalty (``alpha * (1 - l1_ratio)``) is
    applied as weight decay outside the adaptive metric:
    ``w <- w (1 - eta l2) - eta mhat / (sqrt(vhat) + eps)`` (PyTorch's form:
    the paper's ``eta_t * lambda`` is ``eta * l2`` here).  Its fixed point is
    therefore not the minimum of loss + L2 penalty; use :class:`Adam` for that.

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``.
    beta1, beta2 : float, default=0.9, 0.999
    eps : float, default=1e-8
    """

    name = "adamw"
    _code = L.ADAMW


class AMSGrad(Adam):
    """AMSGrad (Reddi, Kale & Kumar, 2018): Adam's moments, the running maximum of ``v``.

    ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
    ``vmax <- max(vmax, v)``; ``w <- w - eta m / (sqrt(vmax) + eps)``
    (the paper's Algorithm 2, without bias correction).

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``.
    beta1, beta2 : float, default=0.9, 0.999
    eps : float, default=1e-8
    """

    name = "amsgrad"
    _code = L.AMSGRAD
