"""Linear metric learners: a map ``L`` trained by SGD on pairs or triplets.

:class:`SGDMetricLearner` learns from class labels, as scikit-learn's
``NeighborhoodComponentsAnalysis`` does (it draws a triplet for every row
each epoch, in compiled code); :class:`SGDPairsMetricLearner` and
:class:`SGDTripletsMetricLearner` learn from given pairs or triplets with
metric-learn's conventions.  All three train through the one training loop
(``_training.train``) with :class:`MetricRunner`, so stopping, the
``adaptive`` schedule, divergence errors, verbose output and the loss curve
are those of the other estimators.  The runner lives here rather than in
``_runners.py``: it shares nothing with the linear runners but their contract.
"""

from __future__ import annotations

import types
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._kernels import _layout as L
from .._kernels.metric_epoch import draw_triplets, metric_epoch
from ..losses._metric import METRIC_LOSSES, MetricLoss, metric_loss_from_name
from ._base import MAX_INT, PublicInstanceOf, atomic_fit, one_fit_at_a_time
from ._training import Settings, train

__all__ = ["SGDMetricLearner", "SGDPairsMetricLearner", "SGDTripletsMetricLearner"]

#: Random pairs of rows whose mean squared difference sets ``eta0="auto"``.
_AUTO_ETA0_PAIRS = 1000
#: ``eta0="auto"`` is this over the mean squared difference of two rows: a
#: similar pair's step ``L (I - 2 eta delta delta^T)`` then moves L by about
#: 2 * 0.03 of its typical length (scale-free: eta must scale as 1 / |x|^2).
#: Tuned on digits and the harness's synthetic set: 0.01-0.03 gave the same
#: kNN accuracy; 0.2 diverged under the "adaptive" schedule.
_AUTO_ETA0_FACTOR = 0.03

_EMPTY_LABELS = np.empty(0)

#: Pairs whose distances are computed at once by the prediction methods.
_CHUNK = 4096


@dataclass
class MetricState:
    """What a metric learner's training continues from: the map and the step."""

    components: np.ndarray  # float64 (n_components, n_features)
    t: float = 1.0


class MetricRunner:
    """Epoch runner of one linear map over pairs or triplets of rows
    (the contract is in ``_runners``' module docstring).

    Parameters
    ----------
    X : float64 (n_rows, n_features), C-contiguous
    tuples : int64 (n_tuples, 2 or 3)
        Row numbers of pairs or triplets; overwritten every epoch when
        ``classes`` is given.
    y : float64 (n_tuples,) or (0,)
        Pair labels (+1 / -1); empty for triplets.
    settings : Settings
    start : MetricState
        Not modified.
    classes : (members, class_start, class_of) or None
        Draw a triplet for every row each epoch from these class labels
        (``metric_epoch.draw_triplets``).
    n_candidates : int
        Positives and negatives drawn per anchor, the closest of each kept
        (1: random ones).
    seed : int
        Seed of the draws.
    """

    n_models = 1
    n_threads = 1

    def __init__(self, X, tuples, y, settings, start, classes=None, n_candidates=1, seed=0):
        self.X, self.tuples, self.y, self.settings = X, tuples, y, settings
        self.classes, self.n_candidates = classes, n_candidates
        self.rng = np.random.default_rng(seed)
        self.rows = np.arange(tuples.shape[0], dtype=np.int64)
        self.hyper = settings.hyper(settings.eta0)
        self.components = start.components.copy()
        self.kstate = np.zeros(L.S_SIZE)
        self.kstate[L.S_T] = start.t

    def _draw(self):
        """This epoch's triplets, one a row, from the class labels (with
        mining, the rows are embedded once: the candidates' distances cost
        O(n_components) each instead of O(n_components * n_features))."""
        embedding = np.empty((0, 0))
        if self.n_candidates > 1:
            embedding = self.X @ self.components.T
        seed = int(self.rng.integers(np.iinfo(np.int64).max))
        draw_triplets(*self.classes, embedding, self.n_candidates, seed, self.tuples)

    def run(self, order, pool=None, while_waiting=None):
        if self.classes is not None:
            self._draw()
        loss = metric_epoch(
            self.X, self.tuples, self.y, order, self.settings.loss._code,
            self.settings.loss_params, self.hyper, self.components, self.kstate,
        )  # fmt: skip
        if while_waiting is not None:
            while_waiting()
        return np.array([loss])

    def n_clips(self):
        return 0.0  # the metric losses' derivatives are bounded (|g| <= 1)

    def finite(self):
        return bool(np.isfinite(self.components).all())

    def model(self, m=0):
        return self.components, 0.0

    def set_eta0(self, m, eta0):
        self.hyper[L.H_ETA0] = eta0

    def stop(self, m):
        pass  # the loop ends with its only model

    def state(self):
        return MetricState(self.components.copy(), float(self.kstate[L.S_T]))


# --------------------------------------------------------------- estimators
class _BaseSGDMetricLearner(BaseEstimator):
    """Parameters, initialisation, training and the metric of the learners."""

    _parameter_constraints: dict = {
        "loss": [StrOptions(set(METRIC_LOSSES)), PublicInstanceOf(MetricLoss, "fastloss.losses")],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "init": [StrOptions({"auto", "pca", "identity", "random"}), np.ndarray],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "eta0": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    #: The tuples the loss must take: 2 (pairs), 3 (triplets) or None (any).
    _tuple_size: int | None = None

    # ------------------------------------------------------------ parameters
    def _resolve_loss(self) -> MetricLoss:
        if isinstance(self.loss, str):
            loss = metric_loss_from_name(self.loss)
        else:
            loss = clone(self.loss)
            loss._validate()
        if self._tuple_size is not None and loss.tuple_size != self._tuple_size:
            kind = {2: "pairs", 3: "triplets"}[self._tuple_size]
            names = [n for n, c in METRIC_LOSSES.items() if c.tuple_size == self._tuple_size]
            raise ValueError(
                f"{type(self).__name__} trains on {kind}, and {loss!r} is not a loss of "
                f"{kind}: use loss={' or '.join(map(repr, names))} or their classes."
            )
        return loss

    def _settings(self, loss, eta0) -> Settings:
        return Settings(
            loss=loss,
            schedule=self.learning_rate,
            eta0=eta0,
            power_t=float(self.power_t),
            alpha=float(self.alpha),
            l1_ratio=0.0,
            penalized=True,
            average=0,
            fit_intercept=False,
            max_iter=self.max_iter,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            shuffle=bool(self.shuffle),
            verbose=int(self.verbose),
        )

    def _eta0(self, X, tuples, rng) -> float:
        """``eta0``, or for ``"auto"`` a step scaled to the data: the gradient
        of a squared distance grows with |x|^2, so a fixed step would diverge
        on raw pixels and crawl on standardised features."""
        if self.eta0 != "auto":
            return float(self.eta0)
        picked = rng.integers(tuples.shape[0], size=min(_AUTO_ETA0_PAIRS, tuples.shape[0]))
        diff = X[tuples[picked, 0]] - X[tuples[picked, 1]]
        mean_sq = float(np.mean(np.einsum("ij,ij->i", diff, diff)))
        return _AUTO_ETA0_FACTOR / mean_sq if mean_sq > 0.0 else 1.0

    def _initial_components(self, X, rng) -> np.ndarray:
        """The map training starts from (``init``; ``warm_start``: the last fit's)."""
        n_features = X.shape[1]
        if self.warm_start and hasattr(self, "components_"):
            if self.components_.shape[1] != n_features:
                raise ValueError(
                    f"The new inputs have {n_features} features; the previous fit had "
                    f"{self.components_.shape[1]} (warm_start=True)."
                )
            return self.components_.astype(np.float64, copy=True)
        n_components = n_features if self.n_components is None else self.n_components
        if n_components > n_features:
            raise ValueError(
                f"The preferred dimensionality of the projected space `n_components` "
                f"({n_components}) cannot be greater than the given data "
                f"dimensionality ({n_features})!"
            )
        init = self.init
        if isinstance(init, np.ndarray):
            init = check_array(init, dtype=np.float64)
            if init.shape[1] != n_features:
                raise ValueError(
                    f"The input dimensionality ({init.shape[1]}) of the given linear "
                    f"transformation `init` must match the dimensionality of the given "
                    f"inputs `X` ({n_features})."
                )
            if init.shape[0] > init.shape[1]:
                raise ValueError(
                    f"The output dimensionality ({init.shape[0]}) of the given linear "
                    f"transformation `init` cannot be greater than its input "
                    f"dimensionality ({init.shape[1]})."
                )
            if self.n_components is not None and self.n_components != init.shape[0]:
                raise ValueError(
                    f"The preferred dimensionality of the projected space `n_components` "
                    f"({self.n_components}) does not match the output dimensionality of "
                    f"the given linear transformation `init` ({init.shape[0]})!"
                )
            return np.ascontiguousarray(init)
        if init == "auto":
            init = "pca" if n_components < n_features else "identity"
        if init == "identity":
            return np.eye(n_components, n_features)
        if init == "random":
            return rng.standard_normal((n_components, n_features)) / np.sqrt(n_features)
        from sklearn.decomposition import PCA  # noqa: PLC0415 (only for init="pca")

        pca = PCA(n_components=n_components, random_state=int(rng.integers(MAX_INT)))
        return np.ascontiguousarray(pca.fit(X).components_, dtype=np.float64)

    # --------------------------------------------------------------- training
    def _train(self, X, tuples, y, classes=None, n_candidates=1):
        """Train from ``(X, tuples, y)`` (or triplets drawn from ``classes``,
        see :class:`MetricRunner`) and set the fitted attributes at once."""
        loss = self._resolve_loss()
        random_state = check_random_state(self.random_state)
        seed, sampler_seed, init_seed = random_state.randint(MAX_INT, size=3)
        rng = np.random.default_rng(init_seed)
        components = self._initial_components(X, rng)
        if classes is not None:  # tuples to come: estimate eta0 on random row pairs
            probe = rng.integers(X.shape[0], size=(min(_AUTO_ETA0_PAIRS, X.shape[0]), 2))
            eta0 = self._eta0(X, probe, rng)
        else:
            eta0 = self._eta0(X, tuples, rng)
        settings = self._settings(loss, eta0)
        runner = MetricRunner(
            X, tuples, y, settings, MetricState(components), classes, n_candidates, sampler_seed
        )
        record = train(runner, settings, seed)
        self.components_ = record.coef[0].copy()
        self.n_iter_ = int(record.n_iter[0])
        self.t_ = record.state.t
        self.loss_curve_ = np.array(record.loss_curves[0], dtype=np.float64)
        self.loss_function_ = loss
        if self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning,
                stacklevel=6,  # _train, fit and its three decorators, the caller
            )

    # ----------------------------------------------------------------- metric
    def transform(self, X):
        """Map the points into the learnt space: ``X @ components_.T``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.components_.T

    def get_mahalanobis_matrix(self) -> np.ndarray:
        """The Mahalanobis matrix ``M = components_.T @ components_`` of the
        learnt distance ``sqrt((x - x')^T M (x - x'))`` (metric-learn's name).

        Returns
        -------
        ndarray of shape (n_features, n_features)
        """
        check_is_fitted(self)
        return self.components_.T @ self.components_

    def get_metric(self):
        """The learnt distance as a function of two points (metric-learn's
        ``get_metric``), e.g. for ``KNeighborsClassifier(metric=...)``.

        Returns
        -------
        callable
            ``metric(u, v) -> float``.
        """
        check_is_fitted(self)
        components = self.components_.copy()

        def metric(u, v):
            z = components @ (np.asarray(u, dtype=np.float64) - np.asarray(v, dtype=np.float64))
            return float(np.sqrt(z @ z))

        return metric


_COMMON_PARAMETERS = """
    alpha : float, default=1e-4
        Strength of the L2 penalty ``alpha / 2 * ||components_||_F^2``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="adaptive"
        Step-size schedule, as in :class:`fastloss.SGDClassifier`:
        ``eta0``, ``eta0 / t ** power_t`` (``t`` counts updates), or ``eta0``
        divided by 5 whenever ``n_iter_no_change`` epochs did not improve the
        objective by ``tol``.  (scikit-learn's ``"optimal"`` is left out: its
        heuristic assumes a margin loss of a linear score.)
    eta0 : float or "auto", default="auto"
        Initial step size.  ``"auto"``: 0.03 over the mean squared difference
        of two rows (1,000 random pairs), since the gradient of a squared
        distance grows with the square of the data's scale.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    max_iter : int, default={max_iter}
        Epochs at most ({max_iter_source}).
    tol : float or None, default=1e-4
        Stop when the training objective has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; ``None`` runs ``max_iter`` epochs.
    n_iter_no_change : int, default=5
    shuffle : bool, default=True
        Visit the tuples in a new random order each epoch.
    warm_start : bool, default=False
        Start from the previous fit's ``components_`` instead of ``init``.
    verbose : int, default=0
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the order of the tuples and (supervised) the
        drawing of triplets; an int makes fits reproducible."""

_INIT_PARAMETERS = """
    n_components : int, default=None
        Dimension of the learnt space; ``None``: ``n_features``.
    init : {"auto", "pca", "identity", "random"} or ndarray of shape \
(n_components, n_features), default="auto"
        The map training starts from, as in scikit-learn's
        ``NeighborhoodComponentsAnalysis`` except that ``"auto"`` never picks
        ``"lda"``: ``"pca"`` when ``n_components < n_features``, else
        ``"identity"``.  ``"random"``: Gaussian entries of variance
        ``1 / n_features``."""

_ATTRIBUTES = """
    components_ : ndarray of shape (n_components, n_features)
        The learnt map ``L``: distances are ``||L x - L x'||``.
    n_features_in_ : int
    n_iter_ : int
        Epochs run.
    t_ : float
        Number of updates made plus one (scikit-learn's ``t_``).
    loss_curve_ : ndarray of shape (n_epochs,)
        Training objective after each epoch (mean loss a tuple as they were
        met, plus the penalty); NaN where it was not computed (``tol=None``
        without ``verbose``).
    loss_function_ : MetricLoss
        The loss object trained with."""


def _doc(text, max_iter, max_iter_source):
    return (
        text.replace("{common}", _COMMON_PARAMETERS)
        .replace("{max_iter}", str(max_iter))
        .replace("{max_iter_source}", max_iter_source)
        .replace("{init}", _INIT_PARAMETERS)
        .replace("{attributes}", _ATTRIBUTES)
    )


class SGDMetricLearner(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseSGDMetricLearner):
    __doc__ = _doc(
        """Linear metric learning from class labels by SGD on pairs or triplets.

    Learns a linear map ``L`` (``components_``) so that points of the same
    class are close under ``||L x - L x'||`` and points of other classes far,
    as scikit-learn's ``NeighborhoodComponentsAnalysis`` does, but by
    stochastic gradient descent: each epoch draws, in compiled code, a
    positive (same class) and a negative (other class) for every row, and
    takes one step a triplet (``Triplet``) or one a pair (``Contrastive``:
    the anchor with its positive, then with its negative).  An epoch costs
    O(n_samples * n_components * n_features), memory O(n_samples); NCA's
    iterations cost O(n_samples^2).  Use it before a
    ``KNeighborsClassifier`` in a ``Pipeline``; standardise the features
    first (``StandardScaler``).  Dense input only: sparse input raises.

    Parameters
    ----------
    loss : {"triplet", "soft_triplet", "contrastive", "soft_contrastive"} or \
MetricLoss, default="triplet"
        The loss, by name (default margin 1) or as an object
        (:class:`fastloss.losses.Triplet`, ...), searchable as ``loss__margin``.
{init}
    mining : {"hard", "random"}, default="hard"
        How each row's triplet is drawn.  ``"random"``: a random positive and
        a random negative.  ``"hard"``: of ``n_candidates`` random positives
        the closest to the anchor (a near neighbour of its own class, as
        LMNN's target neighbours: classes made of several clusters are not
        pulled into one), and of ``n_candidates`` random negatives the closest
        (hard-negative mining), both under the map at the start of the epoch.
        On the harness's synthetic set (two clusters a class) ``"hard"``
        lifted 5-NN accuracy from 0.75 to 0.92.
    n_candidates : int, default=10
        Positives and negatives considered per anchor with ``mining="hard"``.
{common}

    Attributes
    ----------
{attributes}
    feature_names_in_ : ndarray of shape (n_features,)
        Defined when ``X`` has string feature names.

    See Also
    --------
    SGDPairsMetricLearner, SGDTripletsMetricLearner : from given pairs or triplets.
    sklearn.neighbors.NeighborhoodComponentsAnalysis : the batch reference.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastloss import SGDMetricLearner
    >>> X, y = load_digits(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), SGDMetricLearner(random_state=0),
    ...                       KNeighborsClassifier())
    >>> model.fit(X[:1000], y[:1000]).score(X[1000:], y[1000:]) > 0.9
    True
    """,
        50,
        "NCA's default",
    )

    _parameter_constraints: dict = {
        **_BaseSGDMetricLearner._parameter_constraints,
        "mining": [StrOptions({"random", "hard"})],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        loss="triplet",
        n_components=None,
        init="auto",
        mining="hard",
        n_candidates=10,
        alpha=1e-4,
        learning_rate="adaptive",
        eta0="auto",
        power_t=0.5,
        max_iter=50,
        tol=1e-4,
        n_iter_no_change=5,
        shuffle=True,
        warm_start=False,
        verbose=0,
        random_state=None,
    ):
        self.loss = loss
        self.n_components = n_components
        self.init = init
        self.mining = mining
        self.n_candidates = n_candidates
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y):
        """Learn the map from labelled points.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels; at least two classes.

        Returns
        -------
        self : SGDMetricLearner
        """
        self._resolve_loss()  # a bad loss fails before the data are read
        X, y = validate_data(self, X, y, ensure_min_samples=2, dtype=np.float64, order="C")
        check_classification_targets(y)
        _, class_of = np.unique(y, return_inverse=True)
        class_of = class_of.astype(np.int64)
        counts = np.bincount(class_of)
        if counts.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes to draw negatives from; "
                f"got 1 class."
            )
        members = np.argsort(class_of, kind="stable").astype(np.int64)
        class_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        tuples = np.empty((X.shape[0], 3), dtype=np.int64)
        n_candidates = self.n_candidates if self.mining == "hard" else 1
        classes = (members, class_start, class_of)
        self._train(X, tuples, _EMPTY_LABELS, classes, n_candidates)
        return self


class _WeaklySupervised(_BaseSGDMetricLearner):
    """Pairs or triplets as 3-D arrays or as indices into a ``preprocessor``."""

    def __init__(
        self,
        loss="contrastive",
        preprocessor=None,
        n_components=None,
        init="auto",
        alpha=1e-4,
        learning_rate="adaptive",
        eta0="auto",
        power_t=0.5,
        max_iter=100,
        tol=1e-4,
        n_iter_no_change=5,
        shuffle=True,
        warm_start=False,
        verbose=0,
        random_state=None,
    ):
        self.loss = loss
        self.preprocessor = preprocessor
        self.n_components = n_components
        self.init = init
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def _rows_and_indices(self, tuples, reset, size=None):
        """``(X, indices)``: the rows the tuples refer to, float64 (n_rows,
        n_features) C-contiguous, and int64 (n_tuples, size) row numbers
        (``size``: the learner's tuples unless given).

        3-D tuples give a 2-D view of their own rows (no copy when they are
        float64 and C-contiguous); index tuples give ``preprocessor``.
        """
        size = self._tuple_size if size is None else size
        name = {2: "pairs", 3: "triplets"}[size]
        if sp.issparse(tuples) or sp.issparse(self.preprocessor):
            raise TypeError(
                f"{type(self).__name__} takes dense {name} only: sparse input is not "
                "supported. Use .toarray() to convert to a dense numpy array."
            )
        array = np.asarray(tuples)
        if array.ndim == 3:
            checked = check_array(
                array, allow_nd=True, dtype=np.float64, order="C", input_name=name
            )
            if checked.shape[1] != size:
                raise ValueError(
                    f"Expected {name} of shape (n_{name}, {size}, n_features); got shape "
                    f"{checked.shape}."
                )
            n_tuples, _, n_features = checked.shape
            X = checked.reshape(n_tuples * size, n_features)  # a view
            indices = np.arange(n_tuples * size, dtype=np.int64).reshape(n_tuples, size)
        elif array.ndim == 2:
            if self.preprocessor is None:
                raise ValueError(
                    f"{name.capitalize()} of shape {array.shape} are indices, which need a "
                    f"preprocessor: pass preprocessor=X (the points they index), or give "
                    f"the {name} as an array of shape (n_{name}, {size}, n_features)."
                )
            if array.shape[1] != size or not np.issubdtype(array.dtype, np.integer):
                raise ValueError(
                    f"Expected {name} of integer indices of shape (n_{name}, {size}); got "
                    f"shape {array.shape} of dtype {array.dtype}."
                )
            X = check_array(self.preprocessor, dtype=np.float64, order="C",
                            input_name="preprocessor")  # fmt: skip
            indices = np.ascontiguousarray(array, dtype=np.int64)
            if indices.size and (indices.min() < 0 or indices.max() >= X.shape[0]):
                raise ValueError(
                    f"The {name} index rows 0 to {X.shape[0] - 1} of the preprocessor; got "
                    f"indices from {indices.min()} to {indices.max()}."
                )
        else:
            raise ValueError(
                f"Expected {name} of shape (n_{name}, {size}, n_features), or integer "
                f"indices of shape (n_{name}, {size}) with a preprocessor; got shape "
                f"{array.shape}."
            )
        if indices.shape[0] == 0:
            raise ValueError(f"Found 0 {name}; at least 1 is required.")
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X, indices

    def _sq_distances(self, X, first, second):
        """``||L (X[first] - X[second])||^2``, in chunks of ``_CHUNK`` pairs so
        that memory stays O(chunk * n_components); the rows are embedded once
        when the pairs touch most of them, else only the pairs' differences."""
        embedded = X @ self.components_.T if 2 * first.shape[0] >= X.shape[0] else None
        out = np.empty(first.shape[0])
        for start in range(0, first.shape[0], _CHUNK):
            i, j = first[start : start + _CHUNK], second[start : start + _CHUNK]
            if embedded is not None:
                diff = embedded[i] - embedded[j]
            else:
                diff = (X[i] - X[j]) @ self.components_.T
            out[start : start + _CHUNK] = np.einsum("ij,ij->i", diff, diff)
        return out

    def pair_distance(self, pairs):
        """Learnt distance ``||L x - L x'||`` of each pair (metric-learn's name).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features), or (n_pairs, 2)
            Points, or with a ``preprocessor`` indices of its rows.

        Returns
        -------
        ndarray of shape (n_pairs,)
        """
        check_is_fitted(self)
        X, indices = self._rows_and_indices(pairs, reset=False, size=2)
        return np.sqrt(self._sq_distances(X, indices[:, 0], indices[:, 1]))

    def pair_score(self, pairs):
        """Similarity of each pair: ``-pair_distance(pairs)`` (metric-learn's
        convention, higher is more similar).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features), or (n_pairs, 2)

        Returns
        -------
        ndarray of shape (n_pairs,)
        """
        return -self.pair_distance(pairs)


_WEAK_PARAMETERS = """
    preprocessor : array-like of shape (n_points, n_features), default=None
        The points that index tuples refer to: with it, ``fit`` and the other
        methods also take integer arrays of row numbers.  Rows are read by
        index during training, never gathered into a 3-D copy (metric-learn
        builds the 3-D array).  Only an array, not metric-learn's callables."""


def _with_default_loss(init, loss):
    """``init`` (the weakly supervised learners' one ``__init__``) with another
    default ``loss``: the pair and triplet learners share every parameter but
    that default, and scikit-learn reads a class's parameters and defaults from
    its ``__init__`` signature, so each class needs its own function object."""
    defaults = (loss, *init.__defaults__[1:])
    own = types.FunctionType(
        init.__code__, init.__globals__, init.__name__, defaults, init.__closure__
    )
    own.__kwdefaults__, own.__doc__ = init.__kwdefaults__, init.__doc__
    own.__qualname__ = init.__qualname__
    return own


class SGDPairsMetricLearner(ClassifierMixin, _WeaklySupervised):
    __doc__ = _doc(
        """Linear metric learning from similar and dissimilar pairs, by SGD.

    Learns a linear map ``L`` (``components_``) so that pairs labelled +1
    are close under ``||L x - L x'||`` and pairs labelled -1 far, with
    metric-learn's conventions (``fit(pairs, y)``, ``pair_distance``,
    ``pair_score``, ``decision_function``, ``predict``, ``score`` as ROC AUC,
    ``calibrate_threshold``, ``get_mahalanobis_matrix``).  After training,
    the threshold is calibrated for accuracy on the training pairs, as
    metric-learn does.  Dense input only.

    Parameters
    ----------
    loss : {"contrastive", "soft_contrastive"} or MetricLoss, default="contrastive"
        A pair loss, by name (margin 1) or as an object
        (:class:`fastloss.losses.Contrastive`, ...).
{preprocessor}
{init}
{common}

    Attributes
    ----------
{attributes}
    threshold_ : float
        Distance at or below which ``predict`` calls a pair similar.
    classes_ : ndarray of shape (2,)
        ``[-1, 1]``.

    See Also
    --------
    SGDTripletsMetricLearner, SGDMetricLearner

    Examples
    --------
    >>> import numpy as np
    >>> from fastloss import SGDPairsMetricLearner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> X[:, 0] *= 10  # a noisy feature
    >>> pairs = rng.integers(200, size=(2000, 2))
    >>> y = np.where(np.abs(X[pairs[:, 0], 1] - X[pairs[:, 1], 1]) < 0.5, 1, -1)
    >>> learner = SGDPairsMetricLearner(preprocessor=X, random_state=0).fit(pairs, y)
    >>> learner.score(pairs, y) > 0.9
    True
    """.replace("{preprocessor}", _WEAK_PARAMETERS),
        100,
        "metric-learn's MMC default",
    )

    _tuple_size = 2
    _parameter_constraints: dict = {
        **_BaseSGDMetricLearner._parameter_constraints,
        "preprocessor": ["array-like", "sparse matrix", None],  # sparse: a clear error
    }

    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, pairs, y):
        """Learn the map from labelled pairs.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features), or (n_pairs, 2)
            Points, or with a ``preprocessor`` integer indices of its rows.
        y : array-like of shape (n_pairs,)
            +1 for a similar pair, -1 for a dissimilar one.

        Returns
        -------
        self : SGDPairsMetricLearner
        """
        self._resolve_loss()
        X, indices = self._rows_and_indices(pairs, reset=True)
        y = _pair_labels(y, indices.shape[0])
        self._train(X, indices, y)
        self.classes_ = np.array([-1, 1])
        self.calibrate_threshold(pairs, y)
        return self

    def decision_function(self, pairs):
        """``pair_score(pairs)``: higher means more similar (metric-learn's
        convention; the ROC AUC of ``score`` is computed on it).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features), or (n_pairs, 2)

        Returns
        -------
        ndarray of shape (n_pairs,)
        """
        return self.pair_score(pairs)

    def predict(self, pairs):
        """+1 for the pairs at distance ``threshold_`` or less, else -1.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features), or (n_pairs, 2)

        Returns
        -------
        ndarray of shape (n_pairs,)
        """
        check_is_fitted(self, "threshold_")
        return np.where(self.pair_distance(pairs) <= self.threshold_, 1, -1)

    def score(self, pairs, y):
        """ROC AUC of ``decision_function`` against the pair labels (metric-learn's score).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features), or (n_pairs, 2)
        y : array-like of shape (n_pairs,)
            +1 / -1.

        Returns
        -------
        float
        """
        from sklearn.metrics import roc_auc_score  # noqa: PLC0415 (see BaseSGD)

        scores = self.decision_function(pairs)
        return float(roc_auc_score(_pair_labels(y, scores.shape[0]), scores))

    def set_threshold(self, threshold):
        """Set ``threshold_``, the distance at or below which a pair is similar.

        Parameters
        ----------
        threshold : float

        Returns
        -------
        self
        """
        self.threshold_ = float(threshold)
        return self

    def calibrate_threshold(self, pairs_valid, y_valid, strategy="accuracy", min_rate=None,
                            beta=1.0):  # fmt: skip
        """Choose ``threshold_`` on labelled pairs, for verification (metric-learn's method).

        Parameters
        ----------
        pairs_valid : array-like of shape (n_pairs, 2, n_features), or (n_pairs, 2)
        y_valid : array-like of shape (n_pairs,)
            +1 / -1.
        strategy : {"accuracy", "f_beta", "max_tpr", "max_tnr"}, default="accuracy"
            Maximise the accuracy, the F-beta score, the true positive rate with
            a true negative rate of at least ``min_rate``, or the true negative
            rate with a true positive rate of at least ``min_rate``.
        min_rate : float in [0, 1], default=None
            Required for ``"max_tpr"`` and ``"max_tnr"``.
        beta : float, default=1.0
            The beta of ``"f_beta"``.

        Returns
        -------
        self
        """
        from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: PLC0415

        check_is_fitted(self)
        if strategy not in ("accuracy", "f_beta", "max_tpr", "max_tnr"):
            raise ValueError(
                "strategy must be one of 'accuracy', 'f_beta', 'max_tpr', 'max_tnr'; "
                f"got {strategy!r}."
            )
        if strategy in ("max_tpr", "max_tnr") and (
            not isinstance(min_rate, Real) or not 0 <= min_rate <= 1
        ):
            raise ValueError(
                f"Strategy {strategy!r} needs min_rate, a number in [0, 1]; got {min_rate!r}."
            )
        if strategy == "f_beta" and (not isinstance(beta, Real) or beta <= 0):
            raise ValueError(f"beta must be a positive number; got {beta!r}.")
        scores = self.decision_function(pairs_valid)
        y = _pair_labels(y_valid, scores.shape[0])
        if strategy == "f_beta":
            precision, recall, cuts = precision_recall_curve(y, scores)
            with np.errstate(invalid="ignore", divide="ignore"):
                f = (1 + beta**2) * precision * recall / (beta**2 * precision + recall)
            best = int(np.nanargmax(f[:-1]))
            return self.set_threshold(-cuts[best])
        fpr, tpr, cuts = roc_curve(y, scores, drop_intermediate=False)
        if strategy == "accuracy":
            n_pos, n_neg = np.sum(y == 1), np.sum(y == -1)
            best = int(np.argmax(tpr * n_pos + (1 - fpr) * n_neg))
        elif strategy == "max_tpr":
            allowed = np.flatnonzero(1 - fpr >= min_rate)
            best = int(allowed[np.argmax(tpr[allowed])])
        else:
            allowed = np.flatnonzero(tpr >= min_rate)
            best = int(allowed[np.argmin(fpr[allowed])])
        # roc_curve's first cut (inf) calls no pair similar: threshold -inf
        return self.set_threshold(-cuts[best])


def _pair_labels(y, n_pairs):
    """Pair labels as float64 +1 / -1, one a pair."""
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    if y.ndim != 1 or y.shape[0] != n_pairs:
        raise ValueError(f"Expected {n_pairs} pair labels in a 1-D array; got shape {y.shape}.")
    if not np.isin(y, (-1, 1)).all():
        raise ValueError(
            "Pair labels must be +1 (similar) or -1 (dissimilar); got "
            f"{np.unique(y[~np.isin(y, (-1, 1))])[:5].tolist()}."
        )
    return np.ascontiguousarray(y, dtype=np.float64)


class SGDTripletsMetricLearner(_WeaklySupervised):
    __doc__ = _doc(
        """Linear metric learning from triplets (anchor, positive, negative), by SGD.

    Learns a linear map ``L`` (``components_``) so that each anchor is closer
    to its positive than to its negative under ``||L x - L x'||``, with
    metric-learn's conventions (``fit(triplets)``, ``decision_function``,
    ``predict``, ``score`` as accuracy, ``pair_distance``,
    ``get_mahalanobis_matrix``).  Dense input only.

    Parameters
    ----------
    loss : {"triplet", "soft_triplet"} or MetricLoss, default="triplet"
        A triplet loss, by name (margin 1) or as an object
        (:class:`fastloss.losses.Triplet`, ...).
{preprocessor}
{init}
{common}

    Attributes
    ----------
{attributes}

    See Also
    --------
    SGDPairsMetricLearner, SGDMetricLearner

    Examples
    --------
    >>> import numpy as np
    >>> from fastloss import SGDTripletsMetricLearner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> triplets = rng.integers(300, size=(3000, 3))
    >>> key = X[:, 0]  # only the first feature says what is similar
    >>> closer = np.abs(key[triplets[:, 0]] - key[triplets[:, 1]]) < np.abs(
    ...     key[triplets[:, 0]] - key[triplets[:, 2]])
    >>> triplets[~closer] = triplets[~closer][:, [0, 2, 1]]
    >>> learner = SGDTripletsMetricLearner(preprocessor=X, random_state=0).fit(triplets)
    >>> learner.score(triplets) > 0.9
    True
    """.replace("{preprocessor}", _WEAK_PARAMETERS),
        100,
        "metric-learn's MMC default",
    )

    _tuple_size = 3
    _parameter_constraints: dict = {
        **_BaseSGDMetricLearner._parameter_constraints,
        "preprocessor": ["array-like", "sparse matrix", None],  # sparse: a clear error
    }

    __init__ = _with_default_loss(_WeaklySupervised.__init__, "triplet")

    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, triplets, y=None):
        """Learn the map from triplets.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features), or (n_triplets, 3)
            (anchor, positive, negative) points, or with a ``preprocessor``
            integer indices of its rows.
        y : None
            Ignored (triplets carry their own order).

        Returns
        -------
        self : SGDTripletsMetricLearner
        """
        self._resolve_loss()
        X, indices = self._rows_and_indices(triplets, reset=True)
        self._train(X, indices, _EMPTY_LABELS)
        return self

    def decision_function(self, triplets):
        """``d(anchor, negative) - d(anchor, positive)`` of each triplet:
        positive when the learnt distance orders it right (metric-learn's
        convention).

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features), or (n_triplets, 3)

        Returns
        -------
        ndarray of shape (n_triplets,)
        """
        check_is_fitted(self)
        X, indices = self._rows_and_indices(triplets, reset=False)
        d_p = np.sqrt(self._sq_distances(X, indices[:, 0], indices[:, 1]))
        d_n = np.sqrt(self._sq_distances(X, indices[:, 0], indices[:, 2]))
        return d_n - d_p

    def predict(self, triplets):
        """+1 for the triplets the learnt distance orders right, -1 for the
        others (0 for a tie), as metric-learn.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features), or (n_triplets, 3)

        Returns
        -------
        ndarray of shape (n_triplets,)
        """
        return np.sign(self.decision_function(triplets)).astype(np.int64)

    def score(self, triplets, y=None):
        """Fraction of triplets ordered right (ties count half), as metric-learn.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features), or (n_triplets, 3)
        y : None
            Ignored.

        Returns
        -------
        float
        """
        return float(self.predict(triplets).mean() / 2 + 0.5)
