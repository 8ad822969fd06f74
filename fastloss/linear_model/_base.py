"""What SGDClassifier and SGDRegressor share: parameters, input checks, atomic fits."""

from __future__ import annotations

import functools
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, clone
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import _align_api_if_sparse, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..losses import Loss, loss_from_name
from ..losses._check import check_loss_once
from ..optim import OPTIMIZERS, Optimizer, Schedule
from ..optim._resolve import (
    previous_optimizer_state,
    resolve_optimizer,
    saved_optimizer_state,
)
from ._callbacks import CALLBACK_RUN_ATTRIBUTES
from ._input import as_kernel_input, check_sparse_structure
from ._training import LinearState, Settings, model_weights, train

MAX_INT = np.iinfo(np.int32).max  # seeds are drawn below it, as scikit-learn does


def atomic_fit(method):
    """Make a fitting method all-or-nothing.

    Fitting never modifies arrays an estimator already holds (the kernels work
    on copies), so restoring the attribute dictionary after any exception,
    ``KeyboardInterrupt`` included, puts a previously fitted model back exactly
    as it was.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            # _fit_context tears the callbacks down after us: keep what it needs
            running = {k: v for k, v in self.__dict__.items() if k in CALLBACK_RUN_ATTRIBUTES}
            self.__dict__.clear()
            self.__dict__.update(saved)
            self.__dict__.update(running)
            raise

    return wrapper


class BaseSGD(CallbackSupportMixin, BaseEstimator):
    """Parameters and machinery shared by the SGD estimators (not public).

    Nothing here imports ``sklearn.linear_model``, ``sklearn.model_selection``
    or ``sklearn.metrics`` at import time: those packages import most of
    scikit-learn's estimators, about 60 ms of a fresh process's start, which
    fastloss would otherwise pay on top of Numba's.
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean", StrOptions({"block"})],
        "verbose": ["verbose"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "learning_rate": [
            StrOptions({"constant", "optimal", "invscaling", "adaptive"}),
            Schedule,
        ],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, None, closed="neither"), "boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS)), Optimizer],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _linear_scores(self, X):
        """``X @ coef_.T + intercept_`` of a fitted model on checked ``X``:
        (n_samples,) for one model (1-D ``coef_``), else (n_samples, n_models)."""
        check_is_fitted(self)
        check_sparse_structure(X)
        X = validate_data(self, X, accept_sparse=["csr", "csc", "coo"], reset=False)
        return safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_

    def densify(self):
        """Convert ``coef_`` back to a dense array.

        A no-op unless :meth:`sparsify` was called; fitting needs dense
        coefficients.

        Returns
        -------
        self
            Fitted estimator.
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before densifying.")
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    def sparsify(self):
        """Convert ``coef_`` to a sparse CSR array.

        Saves memory when most coefficients are zero (an L1 or elastic-net
        penalty); with more than about half non-zero it costs memory instead.
        ``intercept_`` stays dense. Call :meth:`densify` before
        :meth:`partial_fit` again.

        Returns
        -------
        self
            Fitted estimator.
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before sparsifying.")
        self.coef_ = _align_api_if_sparse(sp.csr_array(self.coef_))
        return self

    # ------------------------------------------------------------- parameters
    def _resolve_loss(self) -> Loss:
        """The loss object to train with (a fresh copy: the parameter stays as given)."""
        if isinstance(self.loss, str):
            return loss_from_name(self.loss, self.epsilon)
        loss = clone(self.loss)
        loss._validate()
        check_loss_once(loss)  # user-defined losses only; once per class and parameters
        return loss

    def _check_settings(self, for_partial_fit=False):
        """Checks of parameter combinations, run by every fit and partial_fit call."""
        if for_partial_fit:
            # scikit-learn's fit context skips validation on a fitted model's
            # partial_fit; parameters may have changed since through set_params.
            self._validate_params()
        if self.early_stopping and for_partial_fit:
            raise ValueError("early_stopping should be False with partial_fit")
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is used "
                "to compute the optimal learning rate."
            )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        resolve_optimizer(self)  # raises for unsupported combinations

    def _settings(self, loss: Loss, max_iter: int) -> Settings:
        l1_ratio = {"l2": 0.0, "l1": 1.0, None: 0.0}.get(self.penalty, self.l1_ratio)
        schedule, eta0, power_t, optim = resolve_optimizer(self)
        return Settings(
            loss=loss,
            schedule=schedule,
            eta0=eta0,
            power_t=power_t,
            alpha=float(self.alpha),
            l1_ratio=float(l1_ratio),
            penalized=self.penalty is not None,
            average=int(self.average),
            fit_intercept=bool(self.fit_intercept),
            max_iter=max_iter,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            shuffle=self.shuffle if self.shuffle == "block" else bool(self.shuffle),
            verbose=int(self.verbose),
            optim=optim,
        )

    def _previous_solution(self):
        """Where a ``partial_fit`` continues from: the last call's weights and step."""
        return {
            "t": self.t_,
            "coef": self._standard_coef,
            "intercept": self._standard_intercept,
            "avg_coef": self._average_coef,
            "avg_intercept": self._average_intercept,
            "l1_received": self._l1_received,
            "l1_total": self._l1_total,
            "opt_state": previous_optimizer_state(self),
        }

    def _set_solution(self, states, settings, loss, dtype, flat):
        """Set the fitted attributes from trained states (one per model).

        ``flat``: one model whose ``coef_`` is 1-D (the regressor).
        """

        def stack(values, as_dtype=dtype):
            array = np.array(values, dtype=as_dtype)
            return array[0] if flat and array.ndim == 2 else array

        model = [model_weights(s, settings) for s in states]
        self._standard_coef = stack([s.coef for s in states])
        self._standard_intercept = stack([s.intercept for s in states])
        self._average_coef = stack([s.avg_coef for s in states])
        self._average_intercept = stack([s.avg_intercept for s in states])
        self._l1_received = stack([s.l1_received for s in states], np.float64)
        self._l1_total = stack([s.l1_total for s in states], np.float64)
        self.coef_ = stack([coef for coef, _ in model])
        self.intercept_ = stack([intercept for _, intercept in model])
        self.n_iter_ = max(s.n_iter for s in states)
        self.t_ = max(s.t for s in states)
        self.loss_function_ = loss
        self._optimizer_state, self._optimizer_code = saved_optimizer_state(states, settings)

    def _record_curves(self, states, continued):
        """Set ``loss_curve_`` and ``validation_scores_`` from trained states.

        One-vs-rest curves are averaged over the classes, a class that stopped
        early counting with its last value.  ``continued``: this call went on
        from the previous one (``partial_fit``, ``warm_start``), so its epochs
        are appended.
        """

        def per_epoch(curves):
            if len(curves) == 1:
                return np.array(curves[0], dtype=np.float64)
            n_epochs = max(map(len, curves))
            padded = [c + c[-1:] * (n_epochs - len(c)) for c in curves]
            return np.mean(np.array(padded, dtype=np.float64), axis=0)

        losses = per_epoch([s.loss_curve for s in states])
        previous = getattr(self, "loss_curve_", None)
        continued = continued and previous is not None
        self.loss_curve_ = np.concatenate([previous, losses]) if continued else losses
        if not states[0].validation_scores:
            self.validation_scores_ = None
            return
        scores = per_epoch([s.validation_scores for s in states])
        previous = getattr(self, "validation_scores_", None)
        if continued and previous is not None:
            scores = np.concatenate([previous, scores])
        self.validation_scores_ = scores

    def _warn_if_not_converged(self):
        if self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------------ input
    def _validate_Xy(self, X, y, reset, **kwargs):
        check_sparse_structure(X)
        dtype = (
            [np.float64, np.float32] if reset or not hasattr(self, "coef_") else self.coef_.dtype
        )
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc", "coo"],
            dtype=dtype,
            order="C",
            reset=reset,
            **kwargs,
        )
        return as_kernel_input(X), y

    def _validation_split(self, y, sample_weight, stratify):
        """Row indices to train on and to validate on (early stopping)."""
        n_samples = y.shape[0]
        all_rows = np.arange(n_samples, dtype=np.int64)
        if not self.early_stopping:
            return all_rows, None
        from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit  # see BaseSGD

        splitter = (StratifiedShuffleSplit if stratify else ShuffleSplit)(
            test_size=self.validation_fraction, random_state=self.random_state
        )
        idx_train, idx_val = next(splitter.split(np.zeros((n_samples, 1)), y))
        if idx_train.shape[0] == 0 or idx_val.shape[0] == 0:
            raise ValueError(
                f"Splitting {n_samples} samples into a train set and a validation "
                f"set with validation_fraction={self.validation_fraction!r} led to "
                f"an empty set ({idx_train.shape[0]} and {idx_val.shape[0]} "
                "samples). Please either change validation_fraction, increase "
                "number of samples, or disable early_stopping."
            )
        if not np.any(sample_weight[idx_val] > 0):
            raise ValueError(
                "The sample weights for validation set are all zero, consider "
                "using a different random state."
            )
        return np.sort(idx_train).astype(np.int64), np.sort(idx_val)

    # --------------------------------------------------------------- training
    def _train_problems(self, X, problems, settings, train_idx, n_jobs=None, callbacks=None):
        """Train each ``(y, sample_weight, state, validation_score)`` problem.

        ``callbacks``: one ``EpochCallbacks`` (or ``None``) per problem.

        Seeds are drawn up front, one per problem, so results do not depend on
        ``n_jobs`` when there are several problems: they run in threads (the
        kernels release the GIL).  A single problem spreads each epoch over
        ``n_jobs`` threads instead (see ``_training._run_parallel_epoch``).
        """
        seeds = check_random_state(self.random_state).randint(MAX_INT, size=len(problems))
        args = [
            (X, y, sw, train_idx, settings, state, seed, score)
            for (y, sw, state, score), seed in zip(problems, seeds, strict=True)
        ]
        callbacks = callbacks or [None] * len(args)
        if len(args) == 1:
            n_threads = effective_n_jobs(n_jobs)
            return [train(*args[0], n_threads=n_threads, epoch_callbacks=callbacks[0])]
        if n_jobs in (None, 1):
            return [train(*a, epoch_callbacks=c) for a, c in zip(args, callbacks, strict=True)]
        return Parallel(n_jobs=n_jobs, prefer="threads", require="sharedmem")(
            delayed(train)(*a, epoch_callbacks=c) for a, c in zip(args, callbacks, strict=True)
        )

    def _sample_weight(self, sample_weight, X):
        return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


def initial_states(
    n_models,
    n_features,
    dtype,
    t=1.0,
    coef=None,
    intercept=None,
    avg_coef=None,
    avg_intercept=None,
    l1_received=None,
    l1_total=None,
    opt_state=None,
):
    """Fresh or continued (copied) states for ``n_models`` linear models.

    ``coef`` / ``avg_coef`` / ``l1_received`` reshape to (n_models, n_features)
    and ``intercept`` / ``avg_intercept`` / ``l1_total`` to (n_models,); ``t`` is
    the step counter to continue from; ``opt_state`` (n_models, N_SLOTS,
    n_features + 1) the optimizer state of the mini-batch kernel.
    """
    states = [LinearState.zeros(n_features, dtype, t=t) for _ in range(n_models)]
    if opt_state is not None and opt_state.shape[0] == n_models:
        for state, rows in zip(states, opt_state, strict=True):
            state.opt_state = rows.copy()
    for values, coef_name, intercept_name in (
        ((coef, intercept), "coef", "intercept"),
        ((avg_coef, avg_intercept), "avg_coef", "avg_intercept"),
        ((l1_received, l1_total), "l1_received", "l1_total"),
    ):
        if values[0] is None:
            continue
        rows = np.reshape(values[0], (n_models, n_features))
        offsets = np.reshape(values[1], (n_models,))
        for state, row, offset in zip(states, rows, offsets, strict=True):
            getattr(state, coef_name)[:] = row
            setattr(state, intercept_name, float(offset))
    return states


def check_init(coef_init, intercept_init, n_models, X, coef_shape):
    """Validate user-given starting values; returns an ``initial_states`` dict.

    Either value alone is completed with zeros; ``coef_shape`` is the shape the
    estimator documents for ``coef_init``, used in the error message.
    """
    if coef_init is None and intercept_init is None:
        return {}
    n_features = X.shape[1]
    coef = np.zeros((n_models, n_features)) if coef_init is None else coef_init
    intercept = np.zeros(n_models) if intercept_init is None else intercept_init
    coef = np.asarray(coef, dtype=X.dtype)
    intercept = np.asarray(intercept, dtype=np.float64)
    if coef.size != n_models * n_features:
        raise ValueError(
            f"Provided coef_init does not match dataset: expected shape {coef_shape}, "
            f"got {coef.shape}."
        )
    if intercept.size != n_models:
        raise ValueError(
            f"Provided intercept_init does not match dataset: expected shape ({n_models},), "
            f"got {intercept.shape}."
        )
    return {"coef": coef, "intercept": intercept}
