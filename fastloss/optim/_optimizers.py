"""The built-in optimizers: SGD, momentum / Nesterov, AdaGrad, RMSProp, Adam, AdamW, AMSGrad.

Each class holds hyperparameters only; the update rules are compiled in
``fastloss._kernels._optim_rules`` (formulas: ``docs/user_guide/optimizers.rst``).

Every rule but plain SGD has an untuned default step, :meth:`_default_step`: the
base step size it trains with, under the ``"adaptive"`` schedule, when neither
its ``lr`` nor the estimator's ``learning_rate`` or ``eta0`` was changed from
its default (``fastloss.optim._resolve.resolve_optimizer``; the table and the
measurements behind each value: ``docs/user_guide/optimizers.rst``, "Defaults
that converge untuned").
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
        Base step size; ``None`` uses the estimator's ``eta0``, except that with
        the estimator's ``learning_rate`` and ``eta0`` both at their defaults
        the rule trains untuned: base step ``0.02 min(batch_size, 16) (1 -
        momentum)`` under the ``"adaptive"`` schedule, which divides it by 5
        whenever ``n_iter_no_change`` epochs fail to improve by ``tol`` and
        stops once it falls below 1e-6.
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

    def _default_step(self, batch_size: int) -> float:
        # The steady-state step of momentum is lr / (1 - mu): this makes it 0.02
        # a row, stable on squared error up to ||x||^2 = 100 (100 standardised
        # features; 0.1 diverged at 20); 0.01 stalled at a 3e-3 gap on 1,000
        # rows.  Scaled with the batch (Goyal et al., 2017) up to 16 rows: a
        # mean over b rows has b times less variance, and 0.01 a batch of 32
        # stalled at a 3.6e-2 gap.
        return 0.02 * min(batch_size, 16) * (1.0 - float(self.momentum))


class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer, 2011).

    ``G <- G + g^2``; ``w <- w - eta g / (sqrt(G) + eps)``.

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``, except that with
        the estimator's ``learning_rate`` and ``eta0`` both at their defaults
        the rule trains untuned: base step 1.0 under the ``"adaptive"``
        schedule, which divides it by 5 whenever ``n_iter_no_change`` epochs
        fail to improve by ``tol`` and stops once it falls below 1e-6.
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

    def _default_step(self, batch_size: int) -> float:
        # AdaGrad's own 1 / sqrt(sum g^2) decay makes a weight travel about
        # lr sqrt(updates): 0.01 left squared error on unscaled targets far
        # from its optimum (weights of order 100)
        return 1.0


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton, 2012).

    ``s <- rho s + (1 - rho) g^2``; ``w <- w - eta g / (sqrt(s) + eps)``.

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``, except that with
        the estimator's ``learning_rate`` and ``eta0`` both at their defaults
        the rule trains untuned: base step 0.01 under the ``"adaptive"``
        schedule, which divides it by 5 whenever ``n_iter_no_change`` epochs
        fail to improve by ``tol`` and stops once it falls below 1e-6.
    rho : float, default=0.999
        Decay of the squared-gradient average, in [0, 1).  The default was 0.9
        (Hinton's lecture; PyTorch uses 0.99) before issue 18: with one row an
        update, a short average divides each row's gradient by a scale its own
        square is a large part of, which damps the large gradients of badly
        fitted rows, so the rule settles where the damped gradients cancel, not
        at the optimum (relative objective gap 0.2 with 0.9 and 7e-3 with 0.99
        on a standardised logistic problem, below 2e-4 with 0.999).  ``s``
        starts at zero without bias correction, so the first step is about
        ``lr / sqrt(1 - rho)`` (32 ``lr``): start with a small ``lr`` or a
        :class:`~fastloss.optim.LinearWarmup`.
    eps : float, default=1e-8
    """

    name = "rmsprop"
    _code = L.RMSPROP
    _parameter_constraints = {
        **Optimizer._parameter_constraints,
        "rho": [UNIT_DECAY],
        "eps": [POSITIVE],
    }

    def __init__(self, lr: float | None = None, rho: float = 0.999, eps: float = 1e-8):
        self.lr = lr
        self.rho = rho
        self.eps = eps

    def _kernel_params(self):
        return np.array([float(self.rho), 0.0, float(self.eps)])

    def _default_step(self, batch_size: int) -> float:
        return 0.01


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with bias-corrected moment estimates.

    ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
    ``w <- w - eta (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.

    Parameters
    ----------
    lr : float or None, default=None
        Base step size; ``None`` uses the estimator's ``eta0``, except that with
        the estimator's ``learning_rate`` and ``eta0`` both at their defaults
        the rule trains untuned: base step 0.01 under the ``"adaptive"``
        schedule, which divides it by 5 whenever ``n_iter_no_change`` epochs
        fail to improve by ``tol`` and stops once it falls below 1e-6.
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

    def _default_step(self, batch_size: int) -> float:
        return 0.01


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
        Base step size; ``None`` uses the estimator's ``eta0``, except that with
        the estimator's ``learning_rate`` and ``eta0`` both at their defaults
        the rule trains untuned: base step 0.01 under the ``"adaptive"``
        schedule, which divides it by 5 whenever ``n_iter_no_change`` epochs
        fail to improve by ``tol`` and stops once it falls below 1e-6.
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
        Base step size; ``None`` uses the estimator's ``eta0``, except that with
        the estimator's ``learning_rate`` and ``eta0`` both at their defaults
        the rule trains untuned: base step 0.01 under the ``"adaptive"``
        schedule, which divides it by 5 whenever ``n_iter_no_change`` epochs
        fail to improve by ``tol`` and stops once it falls below 1e-6.
    beta1, beta2 : float, default=0.9, 0.999
    eps : float, default=1e-8
    """

    name = "amsgrad"
    _code = L.AMSGRAD
