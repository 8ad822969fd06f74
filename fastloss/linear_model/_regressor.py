"""SGDRegressor: scikit-learn's SGDRegressor on fastloss kernels."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from ..losses import EXTRA_REGRESSION_LOSSES, REGRESSION_LOSSES, Loss
from ._base import BaseSGD, PublicInstanceOf, atomic_fit, names_in_docstring, one_fit_at_a_time
from ._callbacks import fit_callbacks, linear_attributes


@names_in_docstring(REGRESSION_LOSSES, EXTRA_REGRESSION_LOSSES)
class SGDRegressor(RegressorMixin, BaseSGD):
    """Linear regression (least squares, Huber, SVR, ...) trained by SGD.

    A drop-in replacement for :class:`sklearn.linear_model.SGDRegressor`: the
    same parameters, defaults, methods and fitted attributes, with the epoch
    loop compiled by Numba.

    Parameters
    ----------
    loss : str or Loss, default="squared_error"
        A scikit-learn loss name ({sklearn_losses}), fastloss's {fastloss_losses}
        (default hyperparameters), or a regression :class:`fastloss.losses.Loss`
        object (searchable as ``loss__<name>``), user-defined ones included.  Predictions are on the
        loss's link scale: ``exp`` for Poisson and Tweedie, ``expit`` for
        cross-entropy.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
    alpha : float, default=1e-4
    l1_ratio : float, default=0.15
    fit_intercept : bool, default=True
    max_iter : int, default=1000
    tol : float or None, default=1e-3
    shuffle : bool or "block", default=True
        See :class:`fastloss.SGDClassifier`.
    verbose : int, default=0
    epsilon : float, default=0.1
        Width parameter of the losses given by name that have one.  A loss
        object keeps its own parameters and wins: with one, a non-default
        ``epsilon`` is ignored with a ``UserWarning`` (``loss=Huber(epsilon=0.3),
        epsilon=5.0`` trains with 0.3; set ``loss__epsilon`` instead).
    n_jobs : int, default=None
        Threads for each epoch, each on a private copy of the weights averaged
        after the epoch (a fastloss addition; see :class:`fastloss.SGDClassifier`).
    random_state : int, RandomState instance or None, default=None
    learning_rate : {"invscaling", "constant", "optimal", "adaptive"} or Schedule, \
            default="invscaling"
        A scikit-learn schedule name or a :mod:`fastloss.optim` schedule object.
    eta0 : float, default=0.01
    power_t : float, default=0.25
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop on its R^2.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    warm_start : bool, default=False
    average : bool or int, default=False
    optimizer : str or Optimizer, default="sgd"
        Update rule (a fastloss addition): {optimizers}, or a
        :mod:`fastloss.optim` object (searchable as ``optimizer__lr`` ...).
        Its base step size is ``eta0`` unless the object sets ``lr``; a rule
        other than "sgd" with ``learning_rate``, ``eta0`` and ``lr`` all at
        their defaults trains with its own default step under the "adaptive"
        schedule instead (the untuned default, which reaches the optimum with
        the default ``tol``).  Not combinable with ``average``; see
        ``docs/user_guide/optimizers.rst``.
    batch_size : int, default=1
        Rows per update (a fastloss addition): 1 is scikit-learn's per-sample
        SGD; larger values average the gradient over mini-batches.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : ndarray of shape (1,)
    n_iter_ : int
    t_ : float
    loss_function_ : Loss
    loss_curve_ : ndarray of shape (n_epochs,)
        Training objective after each epoch (average loss as the samples were
        met, plus the penalty), recorded on every fit.  Grows over
        ``partial_fit`` and ``warm_start`` fits.
    validation_scores_ : ndarray of shape (n_epochs,) or None
        Validation score after each epoch with ``early_stopping``, else None.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)

    Notes
    -----
    See :class:`fastloss.SGDClassifier` for the deliberate differences from
    scikit-learn.
    """

    _coef_2d = False  # coef_ is 1-D (n_features,)

    _parameter_constraints: dict = {
        **BaseSGD._parameter_constraints,
        "loss": [
            StrOptions(set(REGRESSION_LOSSES) | set(EXTRA_REGRESSION_LOSSES)),
            PublicInstanceOf(Loss, "fastloss.losses"),
        ],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        n_jobs=None,
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        optimizer="sgd",
        batch_size=1,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.optimizer = optimizer
        self.batch_size = batch_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Poisson and Tweedie need non-negative (or positive) targets, as
        # scikit-learn's PoissonRegressor declares with the same tag.
        names = {**REGRESSION_LOSSES, **EXTRA_REGRESSION_LOSSES}
        loss = (
            names[self.loss]() if isinstance(self.loss, str) and self.loss in names else self.loss
        )
        try:
            domain = loss._target_domain() if isinstance(loss, Loss) else "real"
        except TypeError:  # invalid hyperparameters: fit will say so
            domain = "real"
        tags.target_tags.positive_only = domain in ("nonnegative", "positive")
        return tags

    def _resolve_loss(self):
        loss = super()._resolve_loss()
        if loss.is_classification:
            raise ValueError(
                f"{type(loss).__name__} is a classification loss; SGDRegressor needs "
                "a regression loss. Use fastloss.SGDClassifier for classification."
            )
        return loss

    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model by SGD over ``max_iter`` epochs at most.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        coef_init : ndarray of shape (n_features,), default=None
        intercept_init : ndarray of shape (1,), default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDRegressor
        """
        self._check_settings()
        loss = self._resolve_loss()
        X, y = self._validate_Xy(X, y, reset=True, y_numeric=True)
        start = self._start(
            1, X, coef_init, intercept_init, loss=loss, y=y, sample_weight=sample_weight
        )
        self._train(
            X, y, sample_weight, loss, self.max_iter, start, self.warm_start, scale_step=True
        )
        self._warn_if_not_converged()
        return self

    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch of SGD over the given samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDRegressor
        """
        first_call = not hasattr(self, "coef_")
        self._check_settings(for_partial_fit=True)
        loss = self._resolve_loss()
        X, y = self._validate_Xy(X, y, reset=first_call, y_numeric=True)
        if first_call:
            start = self._start(1, X, loss=loss, y=y, sample_weight=sample_weight)
        else:
            start = self._continued_state()
        self._train(X, y, sample_weight, loss, 1, start, not first_call)
        return self

    def _train(self, X, y, sample_weight, loss, max_iter, start, continued, scale_step=False):
        """Train and set attributes; ``scale_step``: a ``fit``, whose default
        plain-SGD step is put in the targets' units (``Loss.step_scale``; a
        ``partial_fit`` sees one chunk, whose scale would change every call)."""
        given_weight = sample_weight
        sample_weight = self._sample_weight(sample_weight, X)
        y = np.ascontiguousarray(y, dtype=np.float64)
        loss._check_target(y)
        settings = self._settings(loss, max_iter)
        if scale_step and settings.optim is None and self._step_untuned():
            settings.eta0 *= loss.step_scale(y, sample_weight)
        early = self.early_stopping and max_iter > 1
        if early:
            train_idx, val_idx = self._validation_split(y, sample_weight, stratify=False)
            score = _r2_score_fn(X, y, sample_weight, val_idx, loss.link)
        else:
            train_idx, score = np.arange(y.shape[0], dtype=np.int64), None
        problem = (y, sample_weight, score)
        reconstruct = linear_attributes(True, X.dtype, loss_function_=loss)
        with fit_callbacks(self, X, y, given_weight, 1, max_iter, reconstruct) as callbacks:
            record = self._train_problems(X, [problem], settings, train_idx, start, callbacks)
            self._publish(record, loss, X.dtype, continued)

    def predict(self, X):
        """Predict with the linear model, on the loss's link scale.

        ``X @ coef_ + intercept_`` for identity-link losses, its ``exp`` for
        Poisson and Tweedie, its ``expit`` for cross-entropy.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        raw = self._linear_scores(X)  # checks that the model is fitted first
        return self.loss_function_.link.inverse(raw)


def _r2_score_fn(X, y, sample_weight, val_idx, link):
    """Weighted validation R^2 of a linear model's predictions through ``link``."""
    from sklearn.metrics import r2_score  # only early stopping needs sklearn.metrics

    X_val, y_val, w_val = X[val_idx], y[val_idx], sample_weight[val_idx]

    def score(coef, intercept):
        prediction = link.inverse(X_val @ coef + intercept)
        return float(r2_score(y_val, prediction, sample_weight=w_val))

    return score
