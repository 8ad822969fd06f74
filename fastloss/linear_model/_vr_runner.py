"""Epoch runners of the variance-reduced solvers (SAGA, SVRG).

They offer the runner interface of :mod:`._runners` (so the one training loop
serves them: divergence, curves, callbacks, atomic publication) plus
``converged(models)``, the stopping rule the loop uses for them when ``tol``
is set: the relative change of the weights over an epoch,
``max|w - w_prev| / max|w| < tol`` (scikit-learn's SAG/SAGA rule), which
certifies the optimum where the objective's decrease between epochs would not.

:class:`VarianceReducedRunner` trains one linear model (binary, one class of
one-vs-rest, a regression) with ``_kernels.vr_epoch``;
:class:`MultinomialVRRunner` trains a softmax model over all classes with
the multinomial kernels of ``_kernels.vr_epoch``.  Both run serially (one-vs-rest classes are
spread over threads by ``BaseSGD._train_problems``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

from .._kernels import _layout as L
from .._kernels.vr_epoch import (
    saga_epoch_csr,
    saga_epoch_dense,
    saga_multinomial_csr,
    saga_multinomial_dense,
)
from ..losses._user import kernel_for
from ._runners import OneModelRunner, csr_arrays, kernel_rows, kernel_weights
from ._state import TrainingState

__all__ = ["MultinomialVRRunner", "VarianceReducedRunner", "smoothness_of", "vr_step"]


def smoothness_of(loss, optimizer) -> float:
    """The loss's smoothness constant (an upper bound on its second derivative
    in the raw prediction: ``Loss.smoothness_constant``); a ``ValueError``
    naming a smooth alternative for a loss without one."""
    return loss._smoothness_or_raise(f"optimizer={optimizer.name!r}")


def max_row_norm(X, sample_weight, train_idx, fit_intercept) -> float:
    """``max_i sw_i (||x_i||^2 + fit_intercept)`` over the training rows."""
    if sp.issparse(X):  # the squares over X's own index arrays, not a copy of them
        squares = sp.csr_array((np.square(X.data, dtype=np.float64), X.indices, X.indptr), X.shape)
        squared = np.asarray(squares.sum(axis=1)).ravel()
    else:
        squared = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    squared = squared[train_idx] + float(fit_intercept)
    return float((squared * sample_weight[train_idx]).max(initial=0.0))


def vr_step(optimizer, smoothness, max_norm, mu, n) -> float:
    """The solver's step: ``optimizer.step``, else its safe step from the
    smoothness ``L = smoothness * max_norm + mu`` (SAGA:
    ``1 / (2 L + min(2 n mu, L))``; SVRG: ``1 / (4 L)``)."""
    if optimizer.step is not None:
        return float(optimizer.step)
    lipschitz = smoothness * max_norm + mu
    if not np.isfinite(lipschitz):  # else a step of 0: a zero model that looks converged
        raise ValueError(
            f"optimizer={optimizer.name!r} derives its step from the largest squared row "
            f"norm of X, which overflows float64 ({max_norm:g}). Scale the features "
            "(StandardScaler or MaxAbsScaler), or pass the step: "
            f"{type(optimizer).__name__}(step=...)."
        )
    if lipschitz <= 0.0:
        return 1.0  # every derivative is zero: any step leaves the model where it is
    if optimizer.name == "svrg":
        return 1.0 / (4.0 * lipschitz)
    return 1.0 / (2.0 * lipschitz + min(2.0 * n * mu, lipschitz))


def vr_hyper(settings, step, n_train):
    """The kernels' ``hyper``: the plain-SGD slots, then the ``V_*`` slots."""
    hyper = np.zeros(L.V_SIZE)
    # the plain-SGD slots alone: the estimator's schedule does not apply (and
    # an Optimal() object would divide by alpha = 0)
    hyper[: L.H_SIZE] = dataclasses.replace(settings, optim=None).hyper(settings.eta0)
    hyper[L.V_STEP] = step
    hyper[L.V_N] = n_train
    hyper[L.V_UPDATE_TABLE] = float(settings.optim.optimizer.name == "saga")
    return hyper


def relative_change(new, old) -> float:
    """``max|new - old| / max|new|`` (0 for two zero models)."""
    top = float(np.abs(new).max(initial=0.0))
    change = float(np.abs(new - old).max(initial=0.0))
    if top == 0.0:
        return 0.0 if change == 0.0 else np.inf
    return change / top


class VarianceReducedRunner(OneModelRunner):
    """One linear model trained by SAGA or SVRG (``settings.optim.optimizer``).

    Parameters are those of :class:`._runners.LinearRunner`.  The stored
    derivatives (SAGA) and the snapshot (SVRG) start at ``start``'s weights
    (one full-gradient pass; SAGA from zero weights starts from a zero
    table, which is as consistent and costs no pass), so that a warm start at
    the optimum stays there; they are not part of the
    :class:`~._state.TrainingState`.
    """

    n_models = 1
    n_threads = 1

    def __init__(self, X, y, sample_weight, train_idx, settings, start, m, n_threads=1):
        self.X, self.settings = X, settings
        self.optimizer = settings.optim.optimizer
        loss = settings.loss
        self.y = np.ascontiguousarray(y, dtype=np.float64)
        self.full_weight = sample_weight
        self.sample_weight = kernel_weights(sample_weight)
        self.train_idx = train_idx
        self.rows = kernel_rows(train_idx, X.shape[0])
        n_train = train_idx.shape[0]
        mu = settings.alpha * (1.0 - settings.l1_ratio) if settings.penalized else 0.0
        norm = max_row_norm(X, sample_weight, train_idx, settings.fit_intercept)
        self.step = vr_step(self.optimizer, smoothness_of(loss, self.optimizer), norm, mu, n_train)
        self.hyper = vr_hyper(settings, self.step, n_train)
        n_features = X.shape[1]
        self.coef = start.coef[m].copy()
        self.previous = self.coef.astype(np.float64)
        self.kstate = np.zeros(L.S_SIZE)
        self.kstate[[L.S_INTERCEPT, L.S_T]] = start.intercept[m], start.t
        self.table = np.zeros(X.shape[0])
        self.mean = np.zeros(n_features + 1)
        if sp.issparse(X):  # the CSR kernel keeps the mean beside its per-feature state
            self.feature_state = np.zeros((n_features + 1, L.F_SIZE))
            self.mean = self.feature_state[:, L.F_MEAN]
            self.cumsum = np.zeros(n_train + 1)
        self.epochs = 0
        self.warm = bool(self.coef.any() or self.kstate[L.S_INTERCEPT] != 0.0)
        # the single-model interface of OneModelRunner: no averaging, no L1 bookkeeping
        self.avg_coef = self.coef
        self.l1_q = np.zeros(n_features)
        self.opt_state = None

    # ----------------------------------------------------------------- epochs
    def snapshot(self):
        """The derivatives and their mean gradient at the current weights: SAGA's
        starting table, SVRG's snapshot."""
        X, idx = self.X, self.train_idx
        rows = X if idx.shape[0] == X.shape[0] else X[idx]
        raw = safe_sparse_dot(rows, self.coef, dense_output=True).astype(np.float64)
        raw += self.kstate[L.S_INTERCEPT]
        d = self.settings.loss.gradient(self.y[idx], raw) * self.full_weight[idx]
        self.table[idx] = d
        n = idx.shape[0]
        mean = safe_sparse_dot(d.astype(X.dtype), rows, dense_output=True)
        self.mean[:-1] = np.asarray(mean, dtype=np.float64).ravel() / n
        self.mean[-1] = d.sum() / n if self.settings.fit_intercept else 0.0

    def run(self, order, pool=None, while_waiting=None):
        if (self.epochs == 0 and self.warm) or (
            self.optimizer.name == "svrg" and self.epochs % self.optimizer.update_every == 0
        ):
            self.snapshot()  # SAGA: a table at the starting weights, unless they are zero
        self.epochs += 1
        self.previous = np.append(self.coef.astype(np.float64), self.kstate[L.S_INTERCEPT])
        loss = self.settings.loss
        head = (self.y, self.sample_weight, order, loss._code, self.settings.loss_params)
        if sp.issparse(self.X):
            tail = (self.hyper, self.coef, self.table, self.feature_state, self.cumsum)
            kernel = kernel_for(saga_epoch_csr, loss)
            total = kernel(*csr_arrays(self.X), *head, *tail, self.kstate)
        else:
            tail = (self.hyper, self.coef, self.table, self.mean)
            total = kernel_for(saga_epoch_dense, loss)(self.X, *head, *tail, self.kstate)
        return np.array([total])

    def converged(self, models) -> bool:
        """Whether the last epoch changed the weights by less than ``tol``
        relative to their largest magnitude."""
        new = np.append(self.coef.astype(np.float64), self.kstate[L.S_INTERCEPT])
        return relative_change(new, self.previous) < self.settings.tol

    # ------------------------------------------------------------ the model
    def finite(self):
        return np.isfinite(self.kstate[L.S_INTERCEPT]) and np.isfinite(self.coef).all()

    def model(self, m=0):
        return self.coef, self.kstate[L.S_INTERCEPT]

    def state(self):
        k = self.kstate
        dtype = self.coef.dtype
        return TrainingState(
            coef=self.coef[None].copy(),
            avg_coef=self.coef[None].copy(),
            l1_received=self.l1_q[None].copy(),
            intercept=np.array([k[L.S_INTERCEPT]], dtype),
            avg_intercept=np.array([k[L.S_INTERCEPT]], dtype),
            l1_total=np.zeros(1),
            t=float(k[L.S_T]),
        )


class MultinomialVRRunner:
    """A softmax (multinomial) model of all classes trained by SAGA or SVRG.

    Parameters
    ----------
    X : ndarray (n_samples, n_features) C-contiguous, or CSR
    labels : int64 (n_samples,)
        Class index of each row.
    sample_weight : float64 (n_samples,)
        With the class weights folded in.
    train_idx : int64 (n_train,)
    settings : Settings
        ``settings.loss`` a :class:`~fastloss.losses.Multinomial`.
    start : TrainingState
        One model a class; not modified.
    """

    n_threads = 1

    def __init__(self, X, labels, sample_weight, train_idx, settings, start):
        self.X, self.settings = X, settings
        self.optimizer = settings.optim.optimizer
        self.labels = np.ascontiguousarray(labels, dtype=np.int64)
        self.full_weight = sample_weight
        self.sample_weight = kernel_weights(sample_weight)
        self.train_idx = train_idx
        self.rows = kernel_rows(train_idx, X.shape[0])
        self.n_models = n_classes = start.n_models
        n_train, n_features = train_idx.shape[0], X.shape[1]
        mu = settings.alpha * (1.0 - settings.l1_ratio) if settings.penalized else 0.0
        norm = max_row_norm(X, sample_weight, train_idx, settings.fit_intercept)
        smoothness = smoothness_of(settings.loss, self.optimizer)
        self.step = vr_step(self.optimizer, smoothness, norm, mu, n_train)
        self.hyper = vr_hyper(settings, self.step, n_train)
        self.sparse = sp.issparse(X)
        # dense: class-major rows; CSR: a feature's classes side by side
        self.coef = start.coef.copy() if not self.sparse else np.ascontiguousarray(start.coef.T)
        self.intercept = start.intercept.astype(np.float64)
        self.table = np.zeros((X.shape[0], n_classes))
        self.mean = np.zeros((n_classes, n_features + 1) if not self.sparse else
                             (n_features + 1, n_classes))  # fmt: skip
        self.scratch = (np.zeros(n_classes), np.zeros(n_classes))
        if self.sparse:
            self.scratch += (np.zeros(n_train + 1), np.zeros(n_features, np.int64))
        self.kstate = np.zeros(L.S_SIZE)
        self.kstate[L.S_T] = start.t
        self.epochs = 0
        self.warm = bool(self.coef.any() or self.intercept.any())
        self.previous = self._flat()

    def _weights(self):
        """(coef (K, n_features), intercept (K,)) views of the model."""
        return (self.coef.T if self.sparse else self.coef), self.intercept

    def _flat(self):
        coef, intercept = self._weights()
        return np.append(coef.astype(np.float64).ravel(), intercept)

    def snapshot(self):
        """The derivatives and their mean gradient at the current weights: SAGA's
        starting table, SVRG's snapshot."""
        X, idx = self.X, self.train_idx
        rows = X if idx.shape[0] == X.shape[0] else X[idx]
        coef, intercept = self._weights()
        raw = safe_sparse_dot(rows, coef.T, dense_output=True).astype(np.float64) + intercept
        raw -= raw.max(axis=1, keepdims=True)
        d = np.exp(raw)
        d /= d.sum(axis=1, keepdims=True)
        d[np.arange(idx.shape[0]), self.labels[idx]] -= 1.0
        d *= self.full_weight[idx, None]
        self.table[idx] = d
        n = idx.shape[0]
        mean = np.asarray(safe_sparse_dot(d.T.astype(X.dtype), rows, dense_output=True))
        full = np.zeros((coef.shape[0], coef.shape[1] + 1))
        full[:, :-1] = mean / n
        if self.settings.fit_intercept:
            full[:, -1] = d.sum(axis=0) / n
        self.mean[:] = full.T if self.sparse else full

    def run(self, order, pool=None, while_waiting=None):
        if (self.epochs == 0 and self.warm) or (
            self.optimizer.name == "svrg" and self.epochs % self.optimizer.update_every == 0
        ):
            self.snapshot()  # SAGA: a table at the starting weights, unless they are zero
        self.epochs += 1
        self.previous = self._flat()
        args = (self.labels, self.sample_weight, order, self.hyper, self.coef, self.intercept,
                self.table, self.mean, *self.scratch, self.kstate)  # fmt: skip
        if self.sparse:
            total = saga_multinomial_csr(*csr_arrays(self.X), *args)
        else:
            total = saga_multinomial_dense(self.X, *args)
        # the loop sums a criterion's per-model losses: the joint loss on the first
        sums = np.zeros(self.n_models)
        sums[0] = total
        return sums

    def converged(self, models) -> bool:
        """As :meth:`VarianceReducedRunner.converged`, over every class."""
        return relative_change(self._flat(), self.previous) < self.settings.tol

    def n_clips(self):
        return 0.0

    def finite(self):
        return np.isfinite(self.intercept).all() and np.isfinite(self.coef).all()

    def model(self, m):
        coef, intercept = self._weights()
        return coef[m], intercept[m]

    def set_eta0(self, m, eta0):
        pass  # the step is the solver's

    def stop(self, m):
        pass  # the classes stop together, and the loop then ends

    def state(self):
        coef, intercept = self._weights()
        coef = np.ascontiguousarray(coef)
        return TrainingState(
            coef=coef.copy(),
            avg_coef=coef.copy(),
            l1_received=np.zeros(coef.shape),
            intercept=intercept.astype(coef.dtype),
            avg_intercept=intercept.astype(coef.dtype),
            l1_total=np.zeros(coef.shape[0]),
            t=float(self.kstate[L.S_T]),
        )


def train_multinomial(estimator, X, y, classes, sample_weight, class_weight, settings, split,
                      start, callbacks=None):  # fmt: skip
    """Train a multinomial model of ``estimator`` (an SGDClassifier) with SAGA
    or SVRG; the arguments are those of ``_multiclass.train_classes``.

    Early stopping scores the model's weighted multiclass accuracy on the
    validation rows (``tol`` then applies to it, as for the other solvers).
    """
    from sklearn.utils import check_random_state

    from ._base import MAX_INT
    from ._training import train

    train_idx, val_idx = split
    labels = np.searchsorted(classes, y).astype(np.int64)
    weights = sample_weight * np.asarray(class_weight, dtype=np.float64)[labels]
    seed = check_random_state(estimator.random_state).randint(MAX_INT)
    scores = None
    if val_idx is not None:
        X_val, labels_val, w_val = X[val_idx], labels[val_idx], weights[val_idx]

        def joint_score(coefs, intercepts):
            pred = np.argmax(safe_sparse_dot(X_val, coefs.T, dense_output=True) + intercepts, 1)
            return float(np.average(pred == labels_val, weights=w_val))

        scores = [joint_score]
    runner = MultinomialVRRunner(X, labels, weights, train_idx, settings, start)
    criteria = [list(range(classes.shape[0]))]
    return train(runner, settings, seed, scores, callbacks, criteria)
