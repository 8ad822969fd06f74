"""What SGDClassifier and SGDRegressor share: parameters, input checks, atomic fits."""

from __future__ import annotations

import functools
import inspect
import textwrap
import threading
import warnings
import weakref
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, clone
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import _align_api_if_sparse, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..losses import Loss, loss_from_name
from ..losses._check import check_loss_once
from ..optim import OPTIMIZERS, Optimizer, Schedule
from ..optim._resolve import resolve_optimizer
from ._callbacks import CALLBACK_RUN_ATTRIBUTES
from ._input import as_kernel_input, check_sparse_structure
from ._runners import LinearRunner
from ._state import TrainingRecord, TrainingState, start_from
from ._training import Settings, check_start_can_move, train, zero_model_objective
from ._vr_runner import VarianceReducedRunner

MAX_INT = np.iinfo(np.int32).max  # seeds are drawn below it, as scikit-learn does

#: Largest ``batch_size``: 2**53, the largest integer a float64 holds exactly
#: (the kernels read it from their float64 ``hyper`` array; near 2**63 it
#: overflowed into a model that never trained).
MAX_BATCH_SIZE = 2**53


def draw_seeds(random_state, size: int) -> np.ndarray:
    """``check_random_state(random_state).randint(MAX_INT, size=size)``: the
    seeds of a fit's models, int64 (size,).

    The draws of an integer ``random_state`` are remembered: seeding a
    ``RandomState`` costs 0.1-0.3 ms, a tenth of a small fit, and a search
    fits with the same seed again and again.  ``None`` and ``RandomState``
    instances draw as before (and advance).
    """
    if isinstance(random_state, Integral):
        return np.array(_seeds_of(int(random_state), size), dtype=np.int64)
    return check_random_state(random_state).randint(MAX_INT, size=size)


@functools.lru_cache(maxsize=256)
def _seeds_of(seed: int, size: int) -> tuple:
    return tuple(check_random_state(seed).randint(MAX_INT, size=size).tolist())


class PublicInstanceOf(HasMethods):
    """scikit-learn's "an instance of" constraint, naming the class by its
    public path (``fastloss.losses.Loss``, not its private module
    ``fastloss.losses._base``).  A ``HasMethods`` (of no methods) because
    scikit-learn accepts only its own constraint classes and subclasses."""

    def __init__(self, cls, public_module):
        super().__init__([])
        self.cls, self.public_module = cls, public_module

    def is_satisfied_by(self, val):
        return isinstance(val, self.cls)

    def __str__(self):
        return f"an instance of '{self.public_module}.{self.cls.__qualname__}'"


def _default(cls, name):
    """The default value of parameter ``name`` of estimator class ``cls``
    (None if it has no such parameter)."""
    parameter = _init_parameters(cls).get(name)
    return None if parameter is None else parameter.default


@functools.cache
def _init_parameters(cls):
    """``inspect.signature(cls.__init__).parameters``, once per class: every
    fit reads defaults, and a signature costs about 0.1 ms."""
    return inspect.signature(cls.__init__).parameters


_FIT_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FIT_LOCKS_GUARD = threading.Lock()


def _fit_lock(estimator) -> threading.RLock:
    """The lock of one estimator object, kept beside it (not on it), so that
    pickling, ``clone`` and ``get_params`` never see it."""
    with _FIT_LOCKS_GUARD:
        lock = _FIT_LOCKS.get(estimator)
        if lock is None:
            lock = _FIT_LOCKS[estimator] = threading.RLock()
        return lock


def one_fit_at_a_time(method):
    """Serialise the fitting methods of one estimator object across threads.

    Two threads fitting the same object at once would otherwise interleave
    their attributes (``n_features_in_`` of one fit beside ``coef_`` of the
    other) and ``partial_fit`` calls would lose each other's updates.  Under
    the lock each call runs whole, in turn: the last fit wins whole, and
    concurrent ``partial_fit`` calls all count, as if made one after the other.
    Re-entrant, so a callback may fit the estimator from its own thread.
    Outermost decorator: scikit-learn's fit context also writes to the object.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with _fit_lock(self):
            return method(self, *args, **kwargs)

    return wrapper


def names_in_docstring(sklearn_losses, fastloss_losses):
    """Class decorator: fill the docstring's ``{sklearn_losses}``,
    ``{fastloss_losses}`` and ``{optimizers}`` with the registered names (each
    paragraph re-wrapped), so that a new loss or optimizer class needs no edit
    of the estimators (docs/developer/architecture.rst)."""
    names = {
        "{sklearn_losses}": sklearn_losses,
        "{fastloss_losses}": fastloss_losses,
        "{optimizers}": OPTIMIZERS,
    }

    def indent(line):
        return len(line) - len(line.lstrip(" "))

    def fill(block):
        text = " ".join(line.strip() for line in block)
        for marker, registry in names.items():
            text = text.replace(marker, ", ".join(f'"{name}"' for name in registry))
        margin = " " * indent(block[0])
        return textwrap.fill(text, 79, initial_indent=margin, subsequent_indent=margin)

    def paragraph(lines, i):
        """``(start, end)`` of the lines around line ``i`` with its indent."""
        level = indent(lines[i])

        def same(k):
            return 0 <= k < len(lines) and lines[k].strip() and indent(lines[k]) == level

        start, end = i, i + 1
        while same(start - 1):
            start -= 1
        while same(end):
            end += 1
        return start, end

    def decorate(cls):
        lines, i = cls.__doc__.split("\n"), 0
        while i < len(lines):
            if not any(marker in lines[i] for marker in names):
                i += 1
                continue
            start, end = paragraph(lines, i)
            filled = fill(lines[start:end]).split("\n")
            lines[start:end] = filled
            i = start + len(filled)  # every line before it has been read
        cls.__doc__ = "\n".join(lines)
        return cls

    return decorate


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
            PublicInstanceOf(Schedule, "fastloss.optim"),
        ],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, None, closed="neither"), "boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS)), PublicInstanceOf(Optimizer, "fastloss.optim")],
        # at most 2**53: the kernels read it from a float64 array, exact up to there
        "batch_size": [Interval(Integral, 1, MAX_BATCH_SIZE, closed="both")],
    }

    # The HTML repr's "?" link: the API page docs/api.rst generates for the
    # estimator (fastloss.<Name>, as exported), relative to a page of the built
    # documentation's gallery; a site hosting the docs sets its own root here.
    _doc_link_module = "fastloss"
    _doc_link_template = "../generated/{estimator_module}.{estimator_name}.html"

    def _doc_link_url_param_generator(self):
        return {"estimator_module": "fastloss", "estimator_name": type(self).__name__}

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
        if getattr(loss, "_compares_samples", False):  # a pairwise ranking loss
            raise ValueError(
                f"{type(loss).__name__} compares pairs of samples; {type(self).__name__} "
                "scores samples one by one. Use fastloss.SGDRanker for ranking losses."
            )
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
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        self._optimizer_config()  # raises for unsupported combinations
        epsilon = getattr(self, "epsilon", None)
        if not isinstance(self.loss, str) and epsilon != _default(type(self), "epsilon"):
            # the loss object's own parameters win (they are what loss__epsilon
            # searches); scikit-learn warns likewise for l1_ratio without elasticnet
            warnings.warn(
                f"epsilon={epsilon!r} is ignored: the estimator's epsilon applies "
                f"only to losses given by name, and loss={self.loss!r} uses its own "
                "parameters. Set them on the loss object (loss__<name> in a search) "
                "and leave epsilon at its default.",
                UserWarning,
                stacklevel=2,
            )

    def _optimizer_config(self):
        """``optim.resolve_optimizer`` of this estimator's parameters."""
        return resolve_optimizer(
            self.optimizer,
            self.learning_rate,
            eta0=self.eta0,
            power_t=self.power_t,
            alpha=self.alpha,
            batch_size=self.batch_size,
            average=self.average,
            untuned=self._step_untuned(),
        )

    def _step_untuned(self) -> bool:
        """Whether the user left the step size to fastloss: ``learning_rate``
        and ``eta0`` at their defaults (an optimizer's own ``lr`` is checked by
        ``resolve_optimizer``)."""
        return all(getattr(self, p) == _default(type(self), p) for p in ("learning_rate", "eta0"))

    def _settings(self, loss: Loss, max_iter: int) -> Settings:
        l1_ratio = {"l2": 0.0, "l1": 1.0, None: 0.0}.get(self.penalty, self.l1_ratio)
        schedule, eta0, power_t, optim = self._optimizer_config()
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

    def _continued_state(self) -> TrainingState:
        """Where a ``partial_fit`` continues from: the last call's state, its
        optimizer state only if the rule is still the same (``set_params`` may
        have changed it, which starts the rule afresh)."""
        config = self._optimizer_config()[3]
        return self._training_state.for_optimizer(
            None if config is None else config.optimizer._code
        )

    def _start(
        self,
        n_models,
        X,
        coef_init=None,
        intercept_init=None,
        *,
        loss=None,
        y=None,
        sample_weight=None,
    ) -> TrainingState:
        """Where ``fit`` (and a first ``partial_fit``) starts from: zeros, the
        given values (either alone completed with zeros), or with ``warm_start``
        the last fit's weights.
        ``coef_init`` must reshape to (n_models, n_features).  From zeros, a
        fitted intercept starts at ``loss.best_constant(y, sample_weight)``
        for a ``loss`` that ``starts_at_best_constant`` (one model, regression)."""
        if self.warm_start and hasattr(self, "_training_state") and coef_init is None:
            coef_init = self._training_state.coef
            intercept_init = self._training_state.intercept
        n_features = X.shape[1]
        if coef_init is None and intercept_init is None:
            state = TrainingState.zeros(n_models, n_features, X.dtype)
            # not from one sample: its constant is exact, and the divergence check
            # would read SGD's next step from a first epoch's objective of ~0 as a blow-up
            at_best = y is not None and self.fit_intercept and X.shape[0] > 1
            if at_best and loss.starts_at_best_constant:
                weights = self._sample_weight(sample_weight, X)
                state.intercept[:] = loss.best_constant(y, weights)
            return state
        coef = np.zeros((n_models, n_features)) if coef_init is None else coef_init
        intercept = np.zeros(n_models) if intercept_init is None else intercept_init
        coef = np.asarray(coef, dtype=np.float64)
        intercept = np.asarray(intercept, dtype=np.float64)
        for name, given in (("coef_init", coef), ("intercept_init", intercept)):
            if not np.isfinite(given).all():
                raise ValueError(
                    f"{name} contains NaN or infinity ({np.count_nonzero(~np.isfinite(given))} "
                    f"of {given.size} values); pass finite initial values, or None to start "
                    "from zeros."
                )
        with np.errstate(over="ignore"):
            narrowed = coef.astype(X.dtype)
        if not np.isfinite(narrowed).all():  # finite in float64, not in X's float32
            raise ValueError(
                f"coef_init overflows {X.dtype} (the dtype of X): its largest magnitude is "
                f"{np.abs(coef).max():g}; pass smaller initial values."
            )
        coef = narrowed
        if coef.size != n_models * n_features:
            shape = (n_models, n_features) if self._coef_2d else (n_features,)
            raise ValueError(
                f"Provided coef_init does not match dataset: expected shape {shape}, "
                f"got {coef.shape}."
            )
        if intercept.size != n_models:
            raise ValueError(
                f"Provided intercept_init does not match dataset: expected shape ({n_models},), "
                f"got {intercept.shape}."
            )
        return start_from(coef, intercept, n_models, n_features, X.dtype)

    def _publish(self, record: TrainingRecord, loss, dtype, continued, **more):
        """Set every fitted attribute of a training record (and ``more``, e.g.
        ``classes_``) in one step.

        The attributes are built first and assigned by one ``dict.update``, so
        that no thread sees some of a fit's attributes beside another fit's
        (``one_fit_at_a_time`` serialises the fits themselves).
        """
        attributes = self._solution(record, loss, dtype)
        attributes.update(self._curves(record, continued))
        attributes.update(more)
        self.__dict__.update(attributes)

    def _set_solution(self, record: TrainingRecord, loss, dtype):
        """Set the fitted weights, counters and loss from a training record."""
        self.__dict__.update(self._solution(record, loss, dtype))

    def _record_curves(self, record: TrainingRecord, continued):
        """Set ``loss_curve_`` and ``validation_scores_`` from a training record."""
        self.__dict__.update(self._curves(record, continued))

    def _solution(self, record: TrainingRecord, loss, dtype) -> dict:
        """The fitted weights, counters and loss of a training record."""
        flat = not self._coef_2d

        def stack(values):
            array = np.array(values, dtype=dtype)
            return array[0] if flat and array.ndim == 2 else array

        return {
            "_training_state": record.state,
            "coef_": stack(record.coef),
            "intercept_": stack(record.intercept),
            "n_iter_": max(record.n_iter),
            "t_": record.state.t,
            "loss_function_": loss,
        }

    def _curves(self, record: TrainingRecord, continued) -> dict:
        """``loss_curve_`` and ``validation_scores_`` of a training record.

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

        losses = per_epoch(record.loss_curves)
        previous = getattr(self, "loss_curve_", None)
        continued = continued and previous is not None
        curves = {"loss_curve_": np.concatenate([previous, losses]) if continued else losses}
        if not record.validation_scores[0]:
            curves["validation_scores_"] = None
            return curves
        scores = per_epoch(record.validation_scores)
        previous = getattr(self, "validation_scores_", None)
        if continued and previous is not None:
            scores = np.concatenate([previous, scores])
        curves["validation_scores_"] = scores
        return curves

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
    def _train_problems(self, X, problems, settings, train_idx, start, callbacks=None):
        """Train each ``(y, sample_weight, validation_score)`` problem, problem
        ``k`` from model ``k`` of ``start``; returns one record of them all.

        ``callbacks``: one ``EpochCallbacks`` (or ``None``) per problem.

        Seeds are drawn up front, one per problem, so results do not depend on
        ``n_jobs`` when there are several problems: they run in threads (the
        kernels release the GIL).  A single problem spreads each epoch over
        ``n_jobs`` threads instead (``_runners.row_split_epoch``).
        """
        seeds = draw_seeds(self.random_state, len(problems))
        callbacks = callbacks or [None] * len(problems)
        n_threads = effective_n_jobs(self.n_jobs) if len(problems) == 1 else 1

        def train_one(k):
            y, sample_weight, score = problems[k]
            vr = settings.optim is not None and settings.optim.optimizer.is_variance_reduced
            runner_class = VarianceReducedRunner if vr else LinearRunner
            runner = runner_class(X, y, sample_weight, train_idx, settings, start, k, n_threads)
            scores = None if score is None else [score]
            if settings.loss.can_stall and not start.coef[k].any():
                check_start_can_move(settings.loss, y[train_idx], start.intercept[k])
            reference = None  # a regression from zero weights: its zero model
            if settings.step_chosen and not settings.loss.is_classification:
                if not start.coef[k].any():
                    w, target = sample_weight[train_idx], y[train_idx]
                    zero = zero_model_objective(settings.loss, target, w, start.intercept[k])
                    reference = [zero]
            return train(runner, settings, seeds[k], scores, [callbacks[k]], None, reference)

        if len(problems) == 1 or self.n_jobs in (None, 1):
            records = [train_one(k) for k in range(len(problems))]
        else:
            records = Parallel(n_jobs=self.n_jobs, prefer="threads", require="sharedmem")(
                delayed(train_one)(k) for k in range(len(problems))
            )
        return TrainingRecord.concatenate(records)

    def _sample_weight(self, sample_weight, X):
        return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
