"""SGDClassifier: scikit-learn's SGDClassifier on fastloss kernels."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..losses import (
    CLASSIFICATION_LOSSES,
    EXTRA_CLASSIFICATION_LOSSES,
    Loss,
    MulticlassLoss,
)
from ..losses._base import TARGET_DOMAINS
from ._base import BaseSGD, PublicInstanceOf, atomic_fit, names_in_docstring, one_fit_at_a_time
from ._callbacks import fit_callbacks, linear_attributes
from ._multiclass import resolve_multi_class, train_classes
from ._vr_runner import train_multinomial


@names_in_docstring(CLASSIFICATION_LOSSES, EXTRA_CLASSIFICATION_LOSSES)
class SGDClassifier(ClassifierMixin, BaseSGD):
    """Linear classifiers (SVM, logistic regression, ...) trained by SGD.

    A drop-in replacement for :class:`sklearn.linear_model.SGDClassifier`: the
    same parameters, defaults, methods and fitted attributes, with the epoch
    loop compiled by Numba.  Multiclass problems are solved one-vs-rest, all
    classes from one read of each row an epoch, or jointly with
    ``multi_class="multinomial"``.

    Parameters
    ----------
    loss : str or Loss, default="hinge"
        A scikit-learn loss name ({sklearn_losses}), fastloss's {fastloss_losses},
        or a :class:`fastloss.losses.Loss` object (user-defined ones included),
        whose parameters are then searchable as ``loss__<name>``.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
    alpha : float, default=1e-4
        Regularisation strength; also sets the "optimal" learning rate.
    l1_ratio : float, default=0.15
        Elastic-net mixing (0 is L2, 1 is L1); used with "elasticnet".
    fit_intercept : bool, default=True
    max_iter : int, default=1000
        Maximum number of epochs of :meth:`fit`.
    tol : float or None, default=1e-3
        Stop when the objective (or, with early stopping, the validation
        score) has not improved by ``tol`` for ``n_iter_no_change`` epochs.
    shuffle : bool or "block", default=True
        Shuffle the training data before every epoch.  ``"block"`` (a fastloss
        addition) shuffles blocks of 64 consecutive rows instead of single
        rows: memory is then read in sequential runs, which makes an epoch
        much faster on large dense data (500,000 x 100 float64 hinge: 2.4x
        faster than the full reshuffle, with the same objective and accuracy
        to within 0.4 % and 0.1 point over five seeds; see the performance
        guide).  Rows sorted by class should be shuffled once beforehand.
    verbose : int, default=0
        Print one report per epoch.
    epsilon : float, default=0.1
        Width parameter of the "huber", "epsilon_insensitive" and
        "squared_epsilon_insensitive" losses given by name.  A loss object
        keeps its own parameters: with one, a non-default ``epsilon`` is
        ignored with a ``UserWarning`` (set ``loss__epsilon`` instead).
    n_jobs : int, default=None
        Threads (``None`` means 1, -1 all cores).  One-vs-rest classes train in
        blocks of classes, one a thread, each reading every row once an epoch,
        with results independent of ``n_jobs``.  A binary or multinomial model
        splits every epoch's rows over the threads, each on a private copy of
        the weights, averaged after the epoch (a fastloss addition:
        scikit-learn cannot parallelise one model); its results are
        reproducible for a given ``n_jobs``, but differ from ``n_jobs=1``.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the early-stopping split.
    learning_rate : {"optimal", "constant", "invscaling", "adaptive"} or Schedule, default="optimal"
        Step size schedule: ``1 / (alpha (t0 + t))``, ``eta0``,
        ``eta0 / t ** power_t``, or ``eta0`` divided by 5 whenever the
        stopping criterion stalls.
    eta0 : float, default=0.01
        Initial step size of the "constant", "invscaling" and "adaptive" schedules.
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified) and stop on
        the validation accuracy.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights.
    warm_start : bool, default=False
        Start :meth:`fit` from the previous solution.
    average : bool or int, default=False
        Average the iterates (ASGD); an int ``N`` starts averaging at sample ``N``.
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
    multi_class : {"ovr", "multinomial"}, default="ovr"
        How more than two classes are learnt (a fastloss addition).  ``"ovr"``:
        one binary model per class, as scikit-learn.  ``"multinomial"``: one
        joint model, with ``loss="log_loss"`` the softmax cross-entropy
        (:class:`fastloss.losses.Multinomial`, ``predict_proba`` is the
        softmax) and with ``loss="hinge"`` the Crammer-Singer multiclass hinge
        (:class:`fastloss.losses.MulticlassHinge`); passing either loss object
        selects it too.  With two classes both reduce to one weight vector
        trained on log loss or hinge, as scikit-learn's ``LogisticRegression``
        fits one row for binary problems.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : int
        Epochs run by the last fit (the largest over one-vs-rest classes).
    t_ : float
        Number of updates made so far, plus one.
    classes_ : ndarray of shape (n_classes,)
    loss_function_ : Loss
        The loss object trained with.
    loss_curve_ : ndarray of shape (n_epochs,)
        Training objective after each epoch (average loss as the samples were
        met, plus the penalty), recorded on every fit.  Grows over
        ``partial_fit`` and ``warm_start`` fits.
        One-vs-rest: the mean over the classes.
    validation_scores_ : ndarray of shape (n_epochs,) or None
        Validation accuracy after each epoch with ``early_stopping``, else
        None.  One-vs-rest: the mean of the binary problems' accuracies.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Only when ``X`` has string column names.

    Notes
    -----
    Differences from scikit-learn, all deliberate: the intercept is not damped
    on sparse data and the L1 truncation touches only a row's non-zero features
    on dense data too (so dense and sparse inputs give the same model), with
    the penalty still pending applied to ``coef_``; the L1 bookkeeping carries
    over between ``partial_fit`` calls (so chunks equal one epoch); the
    ``tol`` criterion adds the penalty at the end of the epoch rather than
    averaging it over samples; early stopping scores the averaged weights when
    averaging is on; negative ``power_t`` is rejected.
    """

    _coef_2d = True  # one row of coef_ a model (n_models, n_features)

    _parameter_constraints: dict = {
        **BaseSGD._parameter_constraints,
        "loss": [
            StrOptions(set(CLASSIFICATION_LOSSES) | set(EXTRA_CLASSIFICATION_LOSSES)),
            PublicInstanceOf(Loss, "fastloss.losses"),
        ],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "multi_class": [StrOptions({"ovr", "multinomial"})],
    }

    def __init__(
        self,
        loss="hinge",
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
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        optimizer="sgd",
        batch_size=1,
        multi_class="ovr",
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
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.multi_class = multi_class

    def _resolve_loss(self):
        loss = resolve_multi_class(super()._resolve_loss(), self.multi_class)
        if not isinstance(loss, MulticlassLoss) and loss._target_domain() not in ("binary", "real"):
            raise ValueError(
                f"{loss!r} takes targets {TARGET_DOMAINS[loss._target_domain()]}, but "
                "SGDClassifier trains on targets in {-1, +1}. Use it with "
                "fastloss.SGDRegressor."
            )
        return loss

    # ------------------------------------------------------------------ fitting
    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model by SGD over ``max_iter`` epochs at most.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        coef_init : ndarray of shape (n_classes, n_features), default=None
            Initial coefficients (warm start).
        intercept_init : ndarray of shape (n_classes,), default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDClassifier
        """
        self._check_settings()
        loss = self._resolve_loss()
        X, y = self._validate_Xy(X, y, reset=True)
        classes, labels = _classes_and_labels(y)
        self._check_n_classes(classes)
        start = self._start(_n_models(classes), X, coef_init, intercept_init)
        self._train(
            X, y, classes, sample_weight, loss, self.max_iter, start, self.warm_start, labels
        )
        self._warn_if_not_converged()
        return self

    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of SGD over the given samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, ignored after.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDClassifier
        """
        first_call = not hasattr(self, "classes_")
        self._check_settings(for_partial_fit=True)
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. In "
                "order to use 'balanced' weights, use compute_class_weight("
                "'balanced', classes=classes, y=y). In place of y you can use a "
                "large enough sample of the full training set target to properly "
                "estimate the class frequency distributions. Pass the resulting "
                "weights as the class_weight parameter."
            )
        loss = self._resolve_loss()
        X, y = self._validate_Xy(X, y, reset=first_call)
        _check_targets(y)
        _check_partial_fit_first_call(self, classes)
        self._check_n_classes(self.classes_)
        labels = _labels_in(self.classes_, y)
        if labels is None:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            raise ValueError(
                f"The target label(s) {unseen.tolist()} in y do not exist in the "
                f"initial classes {self.classes_.tolist()}."
            )
        start = self._start(_n_models(self.classes_), X) if first_call else self._continued_state()
        self._train(X, y, self.classes_, sample_weight, loss, 1, start, not first_call, labels)
        return self

    def _class_weights(self, classes, y):
        """``compute_class_weight`` of ``class_weight``, float64 (n_classes,).

        Every label of ``y`` is in ``classes`` (``fit`` takes them from ``y``,
        ``partial_fit`` checks), so only ``"balanced"`` needs ``y`` scanned:
        uniform weights need nothing and a dict only ``classes``.
        """
        if self.class_weight is None:
            return np.ones(classes.shape[0])
        if self.class_weight == "balanced":
            return compute_class_weight("balanced", classes=classes, y=y)
        return compute_class_weight(self.class_weight, classes=classes, y=classes)

    def _check_n_classes(self, classes):
        if classes.shape[0] < 2:
            raise ValueError(
                f"The number of classes has to be greater than one; got {classes.shape[0]} class"
            )

    def _train(self, X, y, classes, sample_weight, loss, max_iter, start, continued, labels=None):
        """Train one model (binary) or one per class (one-vs-rest) and set attributes.

        ``start``: the TrainingState to start from; ``continued``: this call
        goes on from the last one (its curves are appended); ``labels``: each
        row's index in ``classes`` (intp, computed when None).
        """
        given_weight = sample_weight
        sample_weight = self._sample_weight(sample_weight, X)
        if labels is None:
            labels = np.searchsorted(classes, y)
        class_weight = self._class_weights(classes, y)
        if not np.all(np.isfinite(class_weight)) or np.any(class_weight < 0):
            raise ValueError(
                f"class_weight must be finite and non-negative; got {self.class_weight!r}."
            )
        all_weighted = given_weight is None and np.all(class_weight > 0)  # no scan needed
        if not all_weighted and not np.any(sample_weight * class_weight[labels] > 0):
            # as an all-zero sample_weight: nothing to learn from, a zero model
            raise ValueError(
                f"class_weight={self.class_weight!r} and the sample weights leave every "
                "sample a weight of zero; give at least one class present in y a "
                "positive weight."
            )
        settings = self._settings(loss, max_iter)
        early = self.early_stopping and max_iter > 1
        if early:
            train_idx, val_idx = self._validation_split(y, sample_weight, stratify=True)
        else:
            train_idx, val_idx = np.arange(y.shape[0], dtype=np.int64), None

        binary = classes.shape[0] == 2
        joint = isinstance(loss, MulticlassLoss)
        vr = settings.optim is not None and settings.optim.optimizer.is_variance_reduced
        if not binary and joint and settings.optim is not None and not vr:
            raise ValueError(
                f"The joint multiclass loss {loss!r} trains with plain SGD only; got "
                f"optimizer={self.optimizer!r}, batch_size={self.batch_size!r}, "
                f"learning_rate={self.learning_rate!r}. Use optimizer='sgd', batch_size=1 "
                "and one of scikit-learn's learning_rate names, or multi_class='ovr'."
            )
        if not binary and (settings.optim is None or joint):  # joint: SAGA / SVRG
            # every class from one read of each row (other optimizers: one-vs-rest
            # problems below, one per class)
            split = (train_idx, val_idx)
            weights = (given_weight, sample_weight, class_weight)
            self._train_classes(X, y, classes, weights, loss, settings, split, start, continued)
            return
        if joint:  # on two classes: its binary equivalent
            settings = self._settings(loss.binary_loss(), max_iter)
        n_models = 1 if binary else classes.shape[0]
        problems = []
        for k in range(n_models):
            is_pos = labels == (1 if binary else k)
            target = is_pos.astype(np.float64)  # +1 / -1, 5x faster than np.where
            target *= 2.0
            target -= 1.0
            pos_w = class_weight[1] if binary else class_weight[k]
            neg_w = class_weight[0] if binary else 1.0
            if pos_w == neg_w == 1.0:  # the product would be a copy of sample_weight
                sw = sample_weight
            else:
                sw = sample_weight * np.where(is_pos, pos_w, neg_w)
            score = _accuracy_score_fn(X, target, sw, val_idx) if early else None
            problems.append((target, sw, score))

        reconstruct = linear_attributes(False, X.dtype, classes_=classes, loss_function_=loss)
        with fit_callbacks(self, X, y, given_weight, n_models, max_iter, reconstruct) as callbacks:
            record = self._train_problems(X, problems, settings, train_idx, start, callbacks)
            self._publish(record, loss, X.dtype, continued, classes_=classes)

    def _train_classes(self, X, y, classes, weights, loss, settings, split, start, continued):
        """Train more than two classes with the multi-output kernel and set attributes.

        ``weights``: the sample weights as given, as used (class weights not
        folded in) and the class weights (n_classes,).
        """
        given_weight, sample_weight, class_weight = weights
        joint = isinstance(loss, MulticlassLoss)
        dtype = X.dtype

        def reconstruct(coefs, intercepts):  # a joint model after one epoch
            return {
                "coef_": np.array(coefs, dtype=dtype),
                "intercept_": np.array(intercepts, dtype=dtype),
                "classes_": classes,
                "loss_function_": loss,
            }

        n_models = 1 if joint else classes.shape[0]
        max_iter = settings.max_iter
        with fit_callbacks(self, X, y, given_weight, n_models, max_iter, reconstruct) as callbacks:
            if all(c is None for c in callbacks):
                callbacks = None
            # a joint loss under SAGA / SVRG trains with their multinomial runner
            trainer = train_classes if settings.optim is None else train_multinomial
            record = trainer(
                self, X, y, classes, sample_weight, class_weight, settings, split, start, callbacks
            )
            self._publish(record, loss, X.dtype, continued, classes_=classes)

    # ------------------------------------------------------------- prediction
    def decision_function(self, X):
        """Signed distance of each sample to each model's hyperplane.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for binary problems, else (n_samples, n_classes)
        """
        scores = self._linear_scores(X)  # coef_ is (n_models, n_features)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Class labels: the class with the highest decision function.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        indices = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_.take(indices, axis=0)

    def _probabilistic_link(self):
        loss = self.loss_function_ if hasattr(self, "loss_function_") else self._resolve_loss()
        return loss.link if loss.link.gives_probabilities else None

    def _check_proba(self):
        if self._probabilistic_link() is None:
            raise AttributeError(
                f"probability estimates are not available for loss={self.loss!r}; "
                "use loss='log_loss' or 'modified_huber', or calibrate with "
                "sklearn.calibration.CalibratedClassifierCV."
            )
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Probability estimates (log loss, modified Huber and multinomial).

        Binary probabilities come from the loss's link; one-vs-rest ones are
        normalised over the classes, as scikit-learn does; a multinomial model's
        are the softmax of :meth:`decision_function`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        prob = np.asarray(
            self._probabilistic_link().inverse(self.decision_function(X)), dtype=np.float64
        )
        if prob.ndim == 1:
            return np.column_stack([1.0 - prob, prob])
        total = prob.sum(axis=1)
        all_zero = total == 0
        prob[all_zero] = 1.0
        total[all_zero] = prob.shape[1]
        return prob / total[:, None]

    @available_if(_check_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


def _n_models(classes):
    """Linear models a classifier trains: one for two classes, else one a class."""
    return 1 if classes.shape[0] == 2 else classes.shape[0]


#: Largest span ``max(y) - min(y)`` of integer labels counted with a table
#: (``_classes_and_labels``); wider spans are sorted as ``np.unique`` does.
_LABEL_TABLE_SPAN = 1 << 20


def _classes_and_labels(y):
    """``check_classification_targets(y)``, ``np.unique(y)`` and each row's
    index into it (intp), from one pass over ``y`` where it can.

    ``y`` is validated 1-D.  Integer and boolean labels are always "binary" or
    "multiclass" and are counted by ``np.bincount`` over ``y - min(y)`` (a
    classifier's fit had spent three ``np.unique`` of ``y``, 19 ms of a
    500,000-row fit); other labels are checked by scikit-learn and sorted by
    ``np.unique(return_inverse=True)``.
    """
    if y.dtype.kind in "iub" and y.shape[0]:
        low, high = int(y.min()), int(y.max())
        if high - low < _LABEL_TABLE_SPAN and high <= np.iinfo(np.intp).max:
            offset = y.astype(np.intp, copy=False)  # read only, never written
            if low != 0:
                offset = offset - low
            present = np.flatnonzero(np.bincount(offset, minlength=high - low + 1))
            classes = (present + low).astype(y.dtype)
            if present.shape[0] == high - low + 1:  # every label in between: no gaps
                return classes, offset
            table = np.zeros(high - low + 1, dtype=np.intp)
            table[present] = np.arange(present.shape[0])
            return classes, table[offset]
    else:
        _check_targets(y)
    classes, labels = np.unique(y, return_inverse=True)
    return classes, labels.reshape(-1)


def _check_targets(y):
    """``check_classification_targets`` of validated 1-D ``y``, without its
    ``np.unique`` where the answer is known: integer and boolean labels, and
    floats that are all integers, are "binary" or "multiclass"."""
    kind = y.dtype.kind
    if kind in "iub" or (kind == "f" and not np.any(y != y.astype(int))):
        return
    check_classification_targets(y)  # raises for continuous or unknown labels


def _labels_in(classes, y):
    """Each label's index in sorted ``classes`` (intp), or None if some label
    of ``y`` is not among them."""
    if y.shape[0] == 0:
        return np.zeros(0, dtype=np.intp)
    try:
        labels = np.searchsorted(classes, y)
    except TypeError:  # labels of another kind (strings against numbers)
        return None
    if not (labels < classes.shape[0]).all() or not np.array_equal(classes[labels], y):
        return None
    return labels


def _accuracy_score_fn(X, target, sample_weight, val_idx):
    """Weighted validation accuracy of a binary model on targets in {-1, +1}."""
    X_val, y_val, w_val = X[val_idx], target[val_idx], sample_weight[val_idx]

    def score(coef, intercept):
        pred = np.where(X_val @ coef + intercept > 0, 1.0, -1.0)
        return float(np.average(pred == y_val, weights=w_val))

    return score
