"""SGDClassifierCV and SGDRegressorCV: a whole hyperparameter grid in one pass per group.

A search over ``alpha`` x losses x folds trains many linear models on the same
rows.  Here every (candidate, fold) model of a *group* trains from one read of
each row an epoch (``_grid_runner.GridRunner``, ``_kernels.grid_epoch``); the
models of a group differ only in what the compiled grid epoch takes per model:
``alpha``, ``l1_ratio``, ``penalty``, ``eta0`` (not under ``"adaptive"``),
``power_t`` and a built-in loss with its parameters (``epsilon``,
``loss__*``).  Every other parameter (optimizer, batch size, schedule,
averaging, shuffling, ``max_iter``, ``tol``, class weights, a user-defined
loss, ...) splits the grid into groups, one pass each.  A group the grid
epoch cannot train (another optimizer than plain SGD, ``batch_size > 1``,
``early_stopping``, a joint multiclass loss) is fitted the slow way, one
estimator per (candidate, fold), over ``n_jobs`` threads.

How it differs from ``GridSearchCV(SGDClassifier(...))`` on the same folds:
the models of a group visit their rows in one shared shuffled order (each a
uniformly random permutation of its own fold's rows), where each
``SGDClassifier`` fit shuffles with its own seed.  With ``shuffle=False``
every model is the model ``SGDClassifier(**params, shuffle=False)`` trains on
its fold, to floating-point rounding (tests/test_search_cv.py).
"""

from __future__ import annotations

import inspect
import time
import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._kernels import _layout as L
from .._kernels._loss_switch import MAX_TERM_PARAMS
from ..losses import MulticlassLoss
from ._base import MAX_INT, atomic_fit, one_fit_at_a_time
from ._classifier import SGDClassifier
from ._grid_runner import GridModels, GridRunner
from ._input import as_kernel_input, check_sparse_structure
from ._multiclass import resolve_multi_class
from ._regressor import SGDRegressor
from ._training import check_start_can_move, train, zero_model_objective

#: Range of the log-spaced grid an integer ``alphas`` gives (one value a decade for 7).
ALPHA_RANGE = (1e-7, 1e-1)

#: Parameters the grid epoch takes per model: candidates differing only in
#: these train in one pass ("loss" and "epsilon" when the loss is built-in).
FUSED_PARAMETERS = frozenset({"alpha", "l1_ratio", "penalty", "eta0", "power_t", "loss", "epsilon"})

#: Parameters of the search itself, beside the base estimator's.


#: Defaults of the search parameters the CV estimators add to their base
#: estimator's (keyword-only, after the base's own).
SEARCH_DEFAULTS = {
    "alphas": 7,
    "l1_ratios": None,
    "param_grid": None,
    "cv": None,
    "scoring": None,
    "refit": True,
}


def _init_with_search_parameters(base):
    """An ``__init__`` taking every parameter of estimator class ``base``, with
    its defaults, then :data:`SEARCH_DEFAULTS`, each stored verbatim.

    One list of parameters: the base estimator's signature is the source of
    truth (scikit-learn reads parameters from ``inspect.signature(cls.__init__)``,
    which honours ``__signature__``), so a parameter added to
    ``SGDClassifier`` reaches ``SGDClassifierCV`` without a second copy.
    """
    base_signature = inspect.signature(base.__init__)
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in SEARCH_DEFAULTS.items()
    ]
    signature = base_signature.replace(parameters=[*base_signature.parameters.values(), *added])

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__


# ------------------------------------------------------------------ the grid
def expand_alphas(alphas):
    """``alphas`` as a list: an int ``n`` gives ``n`` log-spaced values over
    ``ALPHA_RANGE``."""
    if isinstance(alphas, Integral):
        return [float(a) for a in np.geomspace(*ALPHA_RANGE, int(alphas))]
    values = [float(a) for a in np.ravel(np.asarray(alphas, dtype=np.float64))]
    if not values:
        raise ValueError(
            "alphas is empty; give at least one value, or an int for a log-spaced grid."
        )
    if not all(np.isfinite(a) and a >= 0 for a in values):
        raise ValueError(f"alphas must be finite and non-negative; got {values}.")
    return values


def candidate_params(search, base):
    """Every candidate's parameters, in ``GridSearchCV``'s order: ``param_grid``
    (a dict or list of dicts) with ``alpha`` from ``alphas`` and ``l1_ratio``
    from ``l1_ratios`` added to each entry that does not name them."""
    from sklearn.model_selection import ParameterGrid  # see BaseSGD: not at import time

    grid = search.param_grid
    entries = [{}] if grid is None else ([grid] if isinstance(grid, dict) else list(grid))
    if not entries:
        raise ValueError("param_grid is an empty list; give at least one dict of parameters.")
    valid = set(base.get_params(deep=False))
    expanded = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise TypeError(f"param_grid entries must be dicts; got {entry!r}.")
        for name in entry:
            if name.split("__")[0] not in valid:
                raise ValueError(
                    f"param_grid names {name!r}, which is not a parameter of "
                    f"{type(base).__name__}. Valid parameters are: {sorted(valid)}."
                )
        entry = dict(entry)
        if search.alphas is not None and "alpha" not in entry:
            entry["alpha"] = expand_alphas(search.alphas)
        if search.l1_ratios is not None and "l1_ratio" not in entry:
            l1_ratios = [float(r) for r in np.ravel(search.l1_ratios)]
            if not l1_ratios:
                raise ValueError("l1_ratios is empty; give at least one value, or None.")
            if base.penalty != "elasticnet" and "penalty" not in entry:
                raise ValueError(
                    f"l1_ratios is used only with penalty='elasticnet'; got "
                    f"penalty={base.penalty!r}."
                )
            entry["l1_ratio"] = l1_ratios
        expanded.append(entry)
    candidates = list(ParameterGrid(expanded))
    if not candidates:
        raise ValueError("The parameter grid has no candidates.")
    return candidates


def candidate_estimator(base, params):
    """The base estimator with a candidate's parameters, its parameters checked."""
    # params cloned, as GridSearchCV does: the grid's loss objects are shared
    # by candidates that set different nested parameters on them
    estimator = clone(base).set_params(**clone(params, safe=False))
    estimator._validate_params()
    return estimator


# ------------------------------------------------------------------- groups
@dataclass
class Task:
    """The data of one search, as every group reads it.

    ``y`` holds the labels as given (what scores compare with), ``target`` the
    kernel's targets: ±1 (binary), class indices (one-vs-rest) or float64
    values (regression).
    """

    y: np.ndarray
    target: np.ndarray
    sample_weight: np.ndarray | None
    classes: np.ndarray | None
    splits: list
    row_folds: np.ndarray

    @property
    def n_class_models(self) -> int:
        """Models one (candidate, fold) trains: one per class beyond two classes."""
        if self.classes is None or self.classes.shape[0] == 2:
            return 1
        return self.classes.shape[0]


@dataclass
class Group:
    """Candidates trained together: ``fused`` in one grid pass, else one fit each."""

    indices: list  # the candidates' positions in the grid
    estimators: list  # their estimators (base parameters + the candidate's)
    fused: bool


def fused_loss(estimator, classifier, n_classes):
    """The loss a candidate trains with in the grid epoch, or None when its
    group must be fitted the slow way."""
    if estimator.early_stopping:
        return None
    estimator._check_settings()
    loss = estimator._resolve_loss()
    if classifier:
        loss = resolve_multi_class(loss, estimator.multi_class)
        if isinstance(loss, MulticlassLoss):
            if n_classes > 2:
                return None
            loss = loss.binary_loss()
    settings = estimator._settings(loss, estimator.max_iter)
    return loss if settings.optim is None else None


def in_switch(loss):
    """Whether the grid epoch reaches ``loss`` by its code (built-in, not composite)."""
    return not type(loss)._is_user_defined() and getattr(loss, "_kernel_for", None) is None


def plan_groups(estimators, classifier, n_classes):
    """The candidates split into groups (fused or not), in order of first appearance."""
    groups = {}
    for index, estimator in enumerate(estimators):
        try:
            loss = fused_loss(estimator, classifier, n_classes)
        except (ValueError, TypeError):  # a bad combination: its fits will say so
            loss = None
        if loss is None:
            key = ("separate",)
        else:
            params = estimator.get_params(deep=False)
            key = tuple(
                (name, repr(value))
                for name, value in sorted(params.items())
                if name not in FUSED_PARAMETERS
            )
            if estimator.learning_rate == "adaptive":  # the loop divides one eta0 per group
                key += (("eta0", repr(estimator.eta0)),)
            if not in_switch(loss):  # its own specialised kernel
                key += (("loss", repr(loss)),)
        group = groups.setdefault(key, Group([], [], loss is not None))
        group.indices.append(index)
        group.estimators.append(estimator)
    return list(groups.values())


def row_fold_masks(splits, n_samples):
    """int64 (n_samples,): bit ``f`` set where the row trains fold ``f``."""
    masks = np.zeros(n_samples, dtype=np.int64)
    for f, (train_rows, _) in enumerate(splits):
        masks[train_rows] |= np.int64(1) << np.int64(f)
    return masks


def grid_models(estimators, losses, task, X):
    """The ``GridModels`` of a fused group, model ``(c * n_folds + f) * K + k``
    for candidate ``c``, fold ``f`` and one-vs-rest class ``k`` of ``K``; and
    the start objectives of the training loop's divergence check."""
    K = task.n_class_models
    n_params = MAX_TERM_PARAMS  # grid_epoch reads three a model, zero-padded
    rows = []
    start_objectives = []
    for estimator, loss in zip(estimators, losses, strict=True):
        settings = estimator._settings(loss, estimator.max_iter)
        hyper = settings.hyper(settings.eta0)
        if task.classes is None:  # as SGDRegressor's fit: targets in the loss's domain
            loss._check_target(task.target)
        params = np.zeros(n_params)
        params[: len(settings.loss_params)] = settings.loss_params
        for f, (train_rows, _) in enumerate(task.splits):
            weights = _class_weights(estimator, task, train_rows)
            sw = (
                np.ones(train_rows.shape[0])
                if task.sample_weight is None
                else task.sample_weight[train_rows]
            )
            for k in range(K):
                target = task.target[train_rows]
                if K > 1:
                    target = np.where(target == k, 1.0, -1.0)
                    pos, neg = weights[k], 1.0
                elif weights is not None:
                    pos, neg = weights[1], weights[0]
                else:
                    pos, neg = 1.0, 1.0
                intercept = 0.0
                if (
                    task.classes is None
                    and settings.fit_intercept
                    and getattr(loss, "starts_at_best_constant", False)
                ):
                    intercept = float(loss.best_constant(target, sw))
                if loss.can_stall:
                    check_start_can_move(loss, target, intercept)
                reference = None
                if settings.step_chosen and not loss.is_classification:
                    fold_weight = sw * np.where(target > 0, pos, neg)
                    reference = zero_model_objective(loss, target, fold_weight, intercept)
                start_objectives.append(reference)
                rows.append((hyper, loss._code, params, f, k if K > 1 else -1, pos, neg,
                             train_rows.shape[0], intercept))  # fmt: skip
    columns = list(zip(*rows, strict=True))
    models = GridModels(
        hyper=np.array(columns[0], dtype=np.float64),
        loss_code=np.array(columns[1], dtype=np.int64),
        loss_params=np.array(columns[2], dtype=np.float64),
        fold=np.array(columns[3], dtype=np.int64),
        positive_class=np.array(columns[4], dtype=np.int64),
        pos_weight=np.array(columns[5], dtype=np.float64),
        neg_weight=np.array(columns[6], dtype=np.float64),
        n_train=np.array(columns[7], dtype=np.int64),
        intercept=np.array(columns[8], dtype=np.float64),
    )
    return models, start_objectives


def _class_weights(estimator, task, train_rows):
    """A classifier's class weights on a fold (as its fit computes them), or None."""
    if task.classes is None:
        return None
    if estimator.class_weight is None:
        return np.ones(task.classes.shape[0])
    return compute_class_weight(estimator.class_weight, classes=task.classes, y=task.y[train_rows])


def fit_group(X, task, group, seed, n_threads, scorer):
    """Fit one group; returns ``(scores, fit_times, score_times, n_iter)``, each
    (n_candidates, n_folds) (``n_iter`` for fused groups, else zeros)."""
    if group.fused:
        try:
            return _fit_fused(X, task, group, seed, n_threads, scorer)
        except (ValueError, FloatingPointError):
            # a model diverged (or a fold cannot be trained): every (candidate,
            # fold) on its own, so that only the failing ones score NaN, as in
            # GridSearchCV with error_score=np.nan
            pass
    return _fit_separately(X, task, group, n_threads, scorer)


def train_fused(X, task, group, seed, n_threads):
    """Train a fused group's models in one pass per epoch.

    Returns
    -------
    coef : X.dtype (n_candidates, n_folds, K, n_features)
    intercept : X.dtype (n_candidates, n_folds, K)
    n_iter : int (n_candidates, n_folds)
        Epochs of each (candidate, fold), the most over its classes.
    losses : list of Loss
        The loss each candidate trained with.
    """
    classifier = task.classes is not None
    n_classes = 0 if task.classes is None else task.classes.shape[0]
    losses = [fused_loss(e, classifier, n_classes) for e in group.estimators]
    models, start_objectives = grid_models(group.estimators, losses, task, X)
    settings = group.estimators[0]._settings(losses[0], group.estimators[0].max_iter)
    runner = GridRunner(
        X, task.target, task.sample_weight, task.row_folds, settings, models, losses[0], n_threads
    )
    criteria = [[m] for m in range(models.n_models)]
    record = train(runner, settings, seed, None, None, criteria, start_objectives)
    n_cand, n_folds, K = len(group.estimators), len(task.splits), task.n_class_models
    coef = np.array(record.coef, dtype=X.dtype).reshape(n_cand, n_folds, K, X.shape[1])
    intercept = np.array(record.intercept, dtype=X.dtype).reshape(n_cand, n_folds, K)
    n_iter = np.array(record.n_iter).reshape(n_cand, n_folds, K).max(axis=2)
    if settings.tol is not None and (n_iter == settings.max_iter).any():
        warnings.warn(
            f"{int((n_iter == settings.max_iter).sum())} of {n_iter.size} (candidate, fold) "
            "models reached max_iter before convergence. Consider increasing max_iter "
            "to improve the fit.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return coef, intercept, n_iter, losses


def _fit_fused(X, task, group, seed, n_threads, scorer):
    t_start = time.perf_counter()
    coef, intercept, n_iter, losses = train_fused(X, task, group, seed, n_threads)
    n_cand, n_folds, K = coef.shape[:3]
    fit_time = (time.perf_counter() - t_start) / (n_cand * n_folds)
    scores = np.empty((n_cand, n_folds))
    score_time = np.empty((n_cand, n_folds))
    for f, (_, test_rows) in enumerate(task.splits):
        t_score = time.perf_counter()
        X_test, y_test = X[test_rows], task.y[test_rows]
        if scorer is None:  # every model of the fold in one product
            weights = coef[:, f].reshape(n_cand * K, -1)
            raw = safe_sparse_dot(X_test, weights.T, dense_output=True)
            raw = raw + intercept[:, f].reshape(-1)
            for c in range(n_cand):
                scores[c, f] = _default_score(raw[:, c * K : (c + 1) * K], y_test, task)
        else:
            for c, estimator in enumerate(group.estimators):
                shell = _fitted_shell(estimator, losses[c], coef[c, f], intercept[c, f], task)
                scores[c, f] = scorer(shell, X_test, y_test)
        score_time[:, f] = (time.perf_counter() - t_score) / n_cand
    return scores, np.full((n_cand, n_folds), fit_time), score_time, n_iter


def _default_score(raw, y_test, task):
    """Accuracy (classifier) or R^2 (regressor) of one model's raw scores
    (n_test, K), as ``score`` computes them."""
    if task.classes is None:
        from sklearn.metrics import r2_score

        return float(r2_score(y_test, raw[:, 0]))
    if raw.shape[1] == 1:
        predicted = task.classes[(raw[:, 0] > 0).astype(np.intp)]
    else:
        predicted = task.classes[raw.argmax(axis=1)]
    return float(np.mean(predicted == y_test))


def _fitted_shell(estimator, loss, coef, intercept, task):
    """A fitted copy of ``estimator`` holding one grid model, for a scorer."""
    shell = clone(estimator)
    shell.coef_ = coef if task.classes is not None else coef[0]
    shell.intercept_ = intercept if task.classes is not None else intercept[:1]
    shell.loss_function_ = loss
    shell.n_features_in_ = coef.shape[-1]
    shell.n_iter_, shell.t_ = 0, 1.0
    if task.classes is not None:
        shell.classes_ = task.classes
    return shell


def _fit_separately(X, task, group, n_threads, scorer):
    """One fit per (candidate, fold), over ``n_threads`` threads; a failed fit
    scores NaN with a ``FitFailedWarning``, as in ``GridSearchCV``."""
    from sklearn.exceptions import FitFailedWarning

    def fit_one(estimator, train_rows, test_rows):
        estimator = clone(estimator)
        fit_params = {}
        if task.sample_weight is not None:
            fit_params["sample_weight"] = task.sample_weight[train_rows]
        t_start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                estimator.fit(X[train_rows], task.y[train_rows], **fit_params)
        except Exception as error:  # noqa: BLE001 - recorded as GridSearchCV does
            return np.nan, time.perf_counter() - t_start, 0.0, 0, repr(error)
        fit_time = time.perf_counter() - t_start
        t_start = time.perf_counter()
        X_test, y_test = X[test_rows], task.y[test_rows]
        score = (
            estimator.score(X_test, y_test) if scorer is None else scorer(estimator, X_test, y_test)
        )
        return score, fit_time, time.perf_counter() - t_start, estimator.n_iter_, None

    jobs = [
        (c, f, estimator, train_rows, test_rows)
        for c, estimator in enumerate(group.estimators)
        for f, (train_rows, test_rows) in enumerate(task.splits)
    ]
    results = Parallel(n_jobs=n_threads, prefer="threads")(
        delayed(fit_one)(estimator, train_rows, test_rows)
        for _, _, estimator, train_rows, test_rows in jobs
    )
    shape = (len(group.estimators), len(task.splits))
    out = [np.zeros(shape) for _ in range(4)]
    errors = []
    for (c, f, *_), result in zip(jobs, results, strict=True):
        for array, value in zip(out, result[:4], strict=True):
            array[c, f] = value
        if result[4] is not None:
            errors.append(result[4])
    if errors:
        warnings.warn(
            f"{len(errors)} of {len(jobs)} fits failed and score NaN; the first error: {errors[0]}",
            FitFailedWarning,
            stacklevel=2,
        )
    return tuple(out)


def on_dask():
    """Whether joblib's active backend is Dask's (``parallel_backend("dask")``)."""
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return "Dask" in type(backend).__name__


# ---------------------------------------------------------------- results
def results_table(candidates, scores, fit_times, score_times):
    """``cv_results_`` in ``GridSearchCV``'s format (single metric)."""
    n_candidates, n_folds = scores.shape
    results = {}
    for name, values in (("fit_time", fit_times), ("score_time", score_times)):
        results[f"mean_{name}"] = values.mean(axis=1)
        results[f"std_{name}"] = values.std(axis=1)
    for name, column in _param_columns(candidates).items():
        results[name] = column
    results["params"] = candidates
    for f in range(n_folds):
        results[f"split{f}_test_score"] = scores[:, f]
    means = scores.mean(axis=1)
    results["mean_test_score"] = means
    results["std_test_score"] = scores.std(axis=1)
    if np.isnan(means).all():
        ranks = np.ones(n_candidates, dtype=np.int32)
    else:
        from scipy.stats import rankdata

        filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
        ranks = rankdata(-filled, method="min").astype(np.int32, copy=False)
    results["rank_test_score"] = ranks
    return results


def _param_columns(candidates):
    """``param_<name>`` masked arrays, masked where a candidate lacks the parameter
    (numeric dtype when every value is a number of one shape, else object)."""
    names = []
    for params in candidates:
        names.extend(name for name in params if name not in names)
    columns = {}
    for name in names:
        present = {i: p[name] for i, p in enumerate(candidates) if name in p}
        try:
            probe = np.array(list(present.values()))
            dtype = probe.dtype if probe.dtype.kind not in "UO" and probe.ndim == 1 else object
        except ValueError:
            dtype = object
        column = np.ma.MaskedArray(np.empty(len(candidates), dtype=dtype), mask=True)
        for i, value in present.items():
            column[i] = value
        columns[f"param_{name}"] = column
    return columns


# -------------------------------------------------------------- estimators
class _SearchCV:
    """What the two search estimators share (not public): ``fit``, results,
    refit and the delegated predictions."""

    _base_class: type = None

    def _base_estimator(self):
        names = self._base_class._get_param_names()
        return self._base_class(**{name: getattr(self, name) for name in names})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _validate_Xy(self, X, y):
        check_sparse_structure(X)
        classifier = self._base_class is SGDClassifier
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc", "coo"], dtype=[np.float64, np.float32],
            order="C", y_numeric=not classifier, reset=True,
        )  # fmt: skip
        return as_kernel_input(X), y

    def _task(self, X, y, sample_weight):
        from sklearn.model_selection import check_cv

        classifier = self._base_class is SGDClassifier
        if classifier:
            check_classification_targets(y)
            classes = np.unique(y)
            if classes.shape[0] < 2:
                raise ValueError(
                    "The number of classes has to be greater than one; got "
                    f"{classes.shape[0]} class"
                )
            index = np.searchsorted(classes, y)
            target = (
                np.where(index == 1, 1.0, -1.0)
                if classes.shape[0] == 2
                else index.astype(np.float64)
            )
        else:
            classes, target = None, np.ascontiguousarray(y, dtype=np.float64)
        cv = check_cv(self.cv, y, classifier=classifier)
        splits = [(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
                  for a, b in cv.split(X, y)]  # fmt: skip
        if not splits:
            raise ValueError(f"cv={self.cv!r} gave no splits.")
        if len(splits) > L.MAX_GRID_FOLDS:
            raise ValueError(
                f"cv gave {len(splits)} splits; {type(self).__name__} trains at most "
                f"{L.MAX_GRID_FOLDS} folds in one pass. Use fewer folds."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        return Task(
            y=y,
            target=target,
            sample_weight=sample_weight,
            classes=classes,
            splits=splits,
            row_folds=row_fold_masks(splits, X.shape[0]),
        )

    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=False)
    @atomic_fit
    def fit(self, X, y, sample_weight=None):
        """Train every (candidate, fold) model, score them, and refit the best.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training rows of every fit (not of the scores).

        Returns
        -------
        self
        """
        from sklearn.metrics import check_scoring

        base = self._base_estimator()
        candidates = candidate_params(self, base)
        estimators = [candidate_estimator(base, params) for params in candidates]
        X, y = self._validate_Xy(X, y)
        task = self._task(X, y, sample_weight)
        scorer = None if self.scoring is None else check_scoring(base, self.scoring)
        n_classes = 0 if task.classes is None else task.classes.shape[0]
        groups = plan_groups(estimators, task.classes is not None, n_classes)
        seeds = check_random_state(self.random_state).randint(MAX_INT, size=len(groups))
        n_threads = effective_n_jobs(self.n_jobs)
        if on_dask() and len(groups) > 1:
            outputs = Parallel(n_jobs=-1)(
                delayed(fit_group)(X, task, g, seed, n_threads, scorer)
                for g, seed in zip(groups, seeds, strict=True)
            )
        else:
            outputs = [
                fit_group(X, task, g, seed, n_threads, scorer)
                for g, seed in zip(groups, seeds, strict=True)
            ]
        shape = (len(candidates), len(task.splits))
        scores, fit_times, score_times = np.empty(shape), np.empty(shape), np.empty(shape)
        for group, (s, fit_t, score_t, _) in zip(groups, outputs, strict=True):
            scores[group.indices], fit_times[group.indices] = s, fit_t
            score_times[group.indices] = score_t
        if np.isnan(scores).all():
            raise ValueError(
                f"All the {scores.size} fits failed or scored NaN; see the warnings above."
            )
        results = results_table(candidates, scores, fit_times, score_times)
        best = int(results["rank_test_score"].argmin())
        fitted = {
            "cv_results_": results,
            "best_index_": best,
            "best_params_": candidates[best],
            "best_score_": float(results["mean_test_score"][best]),
            "alpha_": float(candidates[best].get("alpha", base.alpha)),
            "n_splits_": len(task.splits),
            "scorer_": scorer if scorer is not None else check_scoring(base),
            "multimetric_": False,
        }
        if task.classes is not None:
            fitted["classes_"] = task.classes
        if self.refit:
            t_start = time.perf_counter()
            best_estimator = clone(estimators[best])
            fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
            best_estimator.fit(X, y, **fit_params)
            fitted.update(
                best_estimator_=best_estimator,
                refit_time_=time.perf_counter() - t_start,
                coef_=best_estimator.coef_,
                intercept_=best_estimator.intercept_,
                n_iter_=best_estimator.n_iter_,
                t_=best_estimator.t_,
            )
        self.__dict__.update(fitted)
        return self

    # ------------------------------------------------------------ prediction
    def _refitted(self):
        check_is_fitted(self)
        if not self.refit:
            raise AttributeError(
                f"{type(self).__name__} was fitted with refit=False: it has no model to "
                "predict with. Use best_params_ to fit one."
            )
        return self.best_estimator_

    def _checked(self, X):
        check_sparse_structure(X)
        return validate_data(self, X, accept_sparse=["csr", "csc", "coo"], reset=False)

    def predict(self, X):
        """Predict with the refit model (``best_estimator_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        best = self._refitted()
        return best.predict(self._checked(X))

    def score(self, X, y, sample_weight=None):
        """``scoring`` of the refit model on ``X``, ``y`` (accuracy or R^2 by default).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        if self.scoring is None:
            return super().score(X, y, sample_weight=sample_weight)
        best = self._refitted()
        return self.scorer_(best, self._checked(X), y)


def _best_has(method):
    def check(self):
        if hasattr(self, "best_estimator_"):
            return hasattr(self.best_estimator_, method)
        return hasattr(self._base_estimator(), method)

    return check


_SHARED_DOC = """
    Every parameter of :class:`fastloss.{base}` is a base setting of each
    candidate (see there); the search's own parameters follow.

    Parameters
    ----------
    alphas : int or array-like, default=7
        Values of ``alpha`` to search: a list, or an int ``n`` for ``n``
        values log-spaced over [1e-7, 1e-1].  None: no ``alpha`` dimension
        (the base ``alpha``, or ``param_grid``'s).
    l1_ratios : array-like or None, default=None
        Values of ``l1_ratio`` to search (``penalty="elasticnet"``).
    param_grid : dict or list of dicts, default=None
        Further parameters to search, in ``GridSearchCV``'s format, naming any
        parameter of :class:`fastloss.{base}`, loss objects and their nested
        parameters included (``{{"loss": [Huber()], "loss__epsilon": [0.1, 1]}}``).
        ``alphas`` and ``l1_ratios`` are added to every entry that does not name
        ``alpha`` / ``l1_ratio``.
    cv : int, cross-validation generator or iterable, default=None
        Folds, as ``GridSearchCV`` takes them (None: 5; {folds}).  At most 62 splits.
    scoring : str or callable, default=None
        A scikit-learn scorer name or callable; None: {metric}.
    refit : bool, default=True
        Refit the best candidate on all the data (``best_estimator_``).

    Attributes
    ----------
    cv_results_ : dict of ndarray
        ``GridSearchCV``'s keys: ``params``, ``param_<name>``,
        ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, ``mean_fit_time``, ``std_fit_time``,
        ``mean_score_time``, ``std_score_time``.  A fused group's training time is
        shared equally by its (candidate, fold) models.
    best_index_, best_params_, best_score_ : int, dict, float
    alpha_ : float
        ``alpha`` of the best candidate.
    best_estimator_ : {base}
        The best candidate refit on all the data (``refit=True``); ``coef_``,
        ``intercept_``, ``n_iter_``, ``t_`` are its, and the prediction methods
        delegate to it.
    refit_time_ : float
    n_splits_ : int
    scorer_ : callable
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)

    Notes
    -----
    Candidates that differ only in ``alpha``, ``l1_ratio``, ``penalty``,
    ``eta0`` (except under ``learning_rate="adaptive"``), ``power_t`` and a
    built-in loss (with its parameters) train together: every (candidate,
    fold{ovr}) model reads each row once an epoch, each with its own step
    counter, penalty, loss and ``tol`` criterion; a model that stopped costs
    nothing more on dense rows.  Any other parameter splits the grid into
    groups, one pass each.  Groups with an optimizer other than plain SGD,
    ``batch_size > 1`` or ``early_stopping``{joint} are fitted one estimator per
    (candidate, fold) over ``n_jobs`` threads, as ``GridSearchCV`` would; so is a
    group one of whose models diverges (the failing fits score NaN with a
    ``FitFailedWarning``).

    The models of a group visit their rows in one shared shuffled order (for
    each model a random permutation of its own training rows), where
    ``GridSearchCV`` fits shuffle each with their own seed: the scores are
    those of the same algorithm under other seeds.  With ``shuffle=False``
    each model equals ``{base}(**params, shuffle=False)`` fitted on its fold.
    Threads (``n_jobs``) split the models, and results do not depend on
    ``n_jobs``; under ``joblib.parallel_backend("dask")`` the groups go to
    the Dask workers.  Memory: the models' weights (n_models x n_features,
    twice with averaging or L1) and a few arrays of n_samples; ``X`` is never
    copied per fold (except by the per-fit fallback).
"""


class SGDClassifierCV(_SearchCV, ClassifierMixin, BaseEstimator):
    __doc__ = """Linear classifiers trained by SGD, with a cross-validated grid of
    hyperparameters trained in one pass over the rows.

    The cross-validated counterpart of :class:`fastloss.SGDClassifier`, as
    scikit-learn's ``LogisticRegressionCV`` is of ``LogisticRegression``: it
    searches ``alphas`` x ``l1_ratios`` x ``param_grid`` over ``cv`` folds and
    reports the results as ``GridSearchCV`` does.
""" + _SHARED_DOC.format(
        base="SGDClassifier",
        folds="stratified for classifiers, as scikit-learn does",
        metric="accuracy",
        ovr=", one-vs-rest class",
        joint=", a joint multiclass loss",
    )

    _base_class = SGDClassifier
    _parameter_constraints: dict = {
        **SGDClassifier._parameter_constraints,
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "l1_ratios": ["array-like", None],
        "param_grid": [dict, list, None],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "refit": ["boolean"],
    }

    __init__ = _init_with_search_parameters(_base_class)

    def decision_function(self, X):
        """Decision function of the refit model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        return self._refitted().decision_function(self._checked(X))

    @available_if(_best_has("predict_proba"))
    def predict_proba(self, X):
        """Probability estimates of the refit model (a loss that has them).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._refitted().predict_proba(self._checked(X))

    @available_if(_best_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._refitted().predict_log_proba(self._checked(X))


class SGDRegressorCV(_SearchCV, RegressorMixin, BaseEstimator):
    __doc__ = """Linear regression trained by SGD, with a cross-validated grid of
    hyperparameters trained in one pass over the rows.

    The cross-validated counterpart of :class:`fastloss.SGDRegressor`, as
    scikit-learn's ``ElasticNetCV`` is of ``ElasticNet``: it searches
    ``alphas`` x ``l1_ratios`` x ``param_grid`` over ``cv`` folds and reports
    the results as ``GridSearchCV`` does.
""" + _SHARED_DOC.format(base="SGDRegressor", folds="KFold", metric="R^2", ovr="", joint="")

    _base_class = SGDRegressor
    _parameter_constraints: dict = {
        **SGDRegressor._parameter_constraints,
        **{k: v for k, v in SGDClassifierCV._parameter_constraints.items()
           if k in SEARCH_DEFAULTS},
    }  # fmt: skip

    __init__ = _init_with_search_parameters(_base_class)
