"""Composite losses (``losses.Sum``, ``a * loss + b * loss``) against the same
loss written by hand, with every solver, in searches, pickled, and compiled
once per structure."""

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from fastloss import SGDClassifier, SGDRegressor, losses
from fastloss._kernels import _loss_switch, minibatch_epoch, sgd_epoch
from fastloss.losses import Huber, LogLoss, Loss, Quantile, Sum
from fastloss.losses._user import kernel_for


class HuberAndQuantile(Loss):
    """0.7 Huber(epsilon) + 0.3 Quantile(quantile), written by hand."""

    def __init__(self, epsilon=1.0, quantile=0.9):
        self.epsilon = epsilon
        self.quantile = quantile

    @staticmethod
    def sample_loss(y, p, epsilon, quantile):
        r = abs(p - y)
        huber = 0.5 * r * r if r <= epsilon else epsilon * (r - 0.5 * epsilon)
        pinball = quantile * (y - p) if y - p >= 0.0 else (quantile - 1.0) * (y - p)
        return 0.7 * huber + 0.3 * pinball

    @staticmethod
    def sample_derivative(y, p, epsilon, quantile):
        r = p - y
        if abs(r) <= epsilon:
            huber = r
        else:
            huber = epsilon if r > 0.0 else -epsilon
        pinball = -quantile if y >= p else 1.0 - quantile
        return 0.7 * huber + 0.3 * pinball


class UserHuber(Loss):
    """Huber's loss as a user loss (a user-defined term)."""

    def __init__(self, epsilon=1.0):
        self.epsilon = epsilon

    @staticmethod
    def sample_loss(y, p, epsilon):
        r = abs(p - y)
        return 0.5 * r * r if r <= epsilon else epsilon * (r - 0.5 * epsilon)

    @staticmethod
    def sample_derivative(y, p, epsilon):
        r = p - y
        if abs(r) <= epsilon:
            return r
        return epsilon if r > 0.0 else -epsilon


def _regression(n=600, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.standard_t(3, size=n)
    return X, y


BUILTIN_SUM = 0.7 * Huber(1.0) + 0.3 * Quantile(0.9)
USER_TERM_SUM = 0.7 * UserHuber(1.0) + 0.3 * Quantile(0.9)


@pytest.mark.parametrize("composite", [BUILTIN_SUM, USER_TERM_SUM], ids=["builtin", "user-term"])
def test_equals_the_loss_written_by_hand(composite):
    """Value, derivative and a whole fit equal the hand-written user loss to 1e-10."""
    by_hand = HuberAndQuantile(1.0, 0.9)
    rng = np.random.default_rng(0)
    y = rng.normal(scale=3.0, size=500)
    p = rng.normal(scale=3.0, size=500)
    np.testing.assert_allclose(composite.loss(y, p), by_hand.loss(y, p), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        composite.gradient(y, p), by_hand.gradient(y, p), rtol=1e-10, atol=1e-12
    )
    X, y = _regression()
    kw = dict(max_iter=5, tol=None, random_state=0, learning_rate="constant", eta0=0.01)
    ours = SGDRegressor(loss=composite, **kw).fit(X, y)
    reference = SGDRegressor(loss=by_hand, **kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, rtol=1e-10, atol=1e-12)


def test_operators_build_flat_sums():
    a, b, c = Huber(0.5), Quantile(0.2), losses.SquaredError()
    built = 0.7 * a + 0.3 * b
    assert isinstance(built, Sum)
    assert built.terms == [a, b] and built.weights == [0.7, 0.3]
    nested = 2 * built + c * 0.5
    assert nested.terms == [a, b, c]
    np.testing.assert_allclose(nested.weights, [1.4, 0.6, 0.5])
    assert (a + b).weights == [1.0, 1.0]
    assert sum([a, b]).terms == [a, b]
    explicit = Sum([Sum([a, b], weights=[0.7, 0.3]), c], weights=[2.0, 0.5])
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=50), rng.normal(size=50)
    np.testing.assert_allclose(explicit.loss(y, p), nested.loss(y, p), rtol=1e-14)
    np.testing.assert_array_equal(explicit._kernel_params(), nested._kernel_params())
    with pytest.raises(TypeError):
        a * "2"
    with pytest.raises(TypeError):
        a + 1.0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Huber() + LogLoss(), "share a link and a target domain"),
        (lambda: losses.Hinge() + LogLoss(), "LogitLink"),
        (lambda: losses.Poisson() + losses.SquaredError(), "LogLink"),
        (lambda: LogLoss() + losses.Multinomial(), "multiclass"),
        (lambda: Sum([]), "non-empty list"),
        (lambda: Sum(Huber()), "non-empty list"),
        (lambda: Sum([Huber(), "huber"]), "Loss objects"),
        (lambda: Sum([Huber(), Quantile()], weights=[1.0]), "2 finite non-negative"),
        (lambda: Sum([Huber(), Quantile()], weights=[1.0, -1.0]), "non-negative"),
        (lambda: Sum([Huber(), Quantile()], weights=[1.0, np.nan]), "finite"),
        (lambda: -1.0 * Huber(), "non-negative"),
    ],
)
def test_constructor_says_why_terms_do_not_sum(make, message):
    with pytest.raises(InvalidParameterError, match=message):
        make()


def test_set_params_rechecks_and_bad_term_parameters_are_named():
    loss = 0.5 * Huber() + 0.5 * Quantile()
    loss.set_params(terms=[Huber(), LogLoss()])
    with pytest.raises(InvalidParameterError, match="share a link"):
        loss.loss([0.0], [0.0])
    bad = 0.5 * Huber() + 0.5 * Quantile(quantile=2.0)
    with pytest.raises(InvalidParameterError, match="'quantile' parameter of Quantile"):
        bad.loss([0.0], [0.0])


def test_parameters_get_set_clone_and_pickle():
    loss = 0.7 * Huber(0.5) + 0.3 * Quantile(0.9)
    params = loss.get_params(deep=True)
    assert params["weights"] == [0.7, 0.3]
    assert params["terms__0__epsilon"] == 0.5 and params["terms__1__quantile"] == 0.9
    assert set(loss.get_params(deep=False)) == {"terms", "weights"}
    loss.set_params(terms__1__quantile=0.6, weights=[0.5, 0.5])
    assert loss.terms[1].quantile == 0.6 and loss.weights == [0.5, 0.5]
    loss.set_params(terms__0=losses.SquaredError())
    assert isinstance(loss.terms[0], losses.SquaredError)
    with pytest.raises(ValueError, match="terms__0 ... terms__1"):
        loss.set_params(terms__5__epsilon=1.0)
    copy = clone(loss)
    assert copy.terms[1] is not loss.terms[1] and repr(copy) == repr(loss)
    for composite in (loss, USER_TERM_SUM):
        restored = pickle.loads(pickle.dumps(composite))
        y, p = np.array([0.0, 1.0, 5.0]), np.array([0.3, -2.0, 1.0])
        np.testing.assert_array_equal(restored.gradient(y, p), composite.gradient(y, p))


@pytest.mark.parametrize(
    "loss", [BUILTIN_SUM, USER_TERM_SUM, 0.5 * LogLoss() + 0.5 * losses.GeneralizedCrossEntropy()]
)
def test_check_loss_passes(loss):
    assert losses.check_loss(loss).max_rel_error < 1e-4


def test_target_domain_and_link_are_the_terms():
    loss = 0.5 * LogLoss() + 0.5 * losses.FocalLoss()
    assert loss.is_classification and loss._target_domain() == "binary"
    assert loss.link is LogLoss.link
    with pytest.raises(ValueError, match="binary classification loss"):
        loss.loss([0.0, 1.0], [0.0, 0.0])
    glm = 0.5 * losses.Poisson() + 0.5 * losses.Tweedie(1.5)
    with pytest.raises(ValueError, match=">= 0"):
        glm.loss([-1.0], [0.0])
    X = np.abs(_regression()[0])
    model = SGDRegressor(loss=glm, max_iter=5, tol=None, eta0=1e-3).fit(X, X[:, 0] + 1.0)
    assert np.all(model.predict(X) > 0)  # the log link: predictions are means


@pytest.mark.parametrize("composite", [BUILTIN_SUM, USER_TERM_SUM], ids=["builtin", "user-term"])
@pytest.mark.parametrize(
    "solver",
    [
        dict(),
        dict(average=True, penalty="elasticnet"),
        dict(optimizer="adam", batch_size=8, learning_rate="constant", eta0=0.01),
        dict(optimizer="momentum", batch_size=1, learning_rate="constant", eta0=0.01),
    ],
    ids=["sgd", "averaged-elasticnet", "adam", "momentum"],
)
def test_every_solver_dense_and_sparse(composite, solver):
    """The composite trains with every solver and gives the same model on dense
    and CSR rows; its fit is that of the hand-written loss."""
    X, y = _regression(n=400)
    kw = dict(max_iter=4, tol=None, random_state=0, **solver)
    dense = SGDRegressor(loss=composite, **kw).fit(X, y)
    sparse = SGDRegressor(loss=composite, **kw).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(dense.coef_, sparse.coef_, rtol=1e-9, atol=1e-12)
    by_hand = SGDRegressor(loss=HuberAndQuantile(), **kw).fit(X, y)
    np.testing.assert_allclose(dense.coef_, by_hand.coef_, rtol=1e-9, atol=1e-12)


class UserLogLoss(Loss):
    """The log loss as a user loss (a user-defined classification term)."""

    is_classification = True
    link = LogLoss.link

    def __init__(self, scale=1.0):
        self.scale = scale

    @staticmethod
    def sample_loss(y, p, scale):
        z = y * p
        return scale * (math.log1p(math.exp(-z)) if z > 0 else -z + math.log1p(math.exp(z)))

    @staticmethod
    def sample_derivative(y, p, scale):
        return -scale * y / (1.0 + math.exp(y * p)) if y * p < 700 else 0.0


@pytest.mark.parametrize(
    "n_jobs, user_term", [(1, False), (2, False), (2, True)], ids=["1-job", "2-jobs", "user-term"]
)
def test_one_vs_rest_classifier(n_jobs, user_term):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 3))
    y = np.argmax(X @ rng.normal(size=(3, 3)), axis=1)
    first = UserLogLoss() if user_term else LogLoss()
    loss = 0.5 * first + 0.5 * losses.SymmetricCrossEntropy()
    model = SGDClassifier(loss=loss, n_jobs=n_jobs, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.85
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    binary = SGDClassifier(loss=loss, random_state=0).fit(sp.csr_matrix(X), y == 0)
    assert binary.score(X, y == 0) > 0.85


def test_grid_search_over_weights_and_term_parameters():
    X, y = _regression()
    search = GridSearchCV(
        SGDRegressor(loss=0.7 * Huber() + 0.3 * Quantile(0.9), random_state=0),
        {
            "loss__weights": [[0.7, 0.3], [0.9, 0.1]],
            "loss__terms__1__quantile": [0.5, 0.9],
            "loss__terms__0__epsilon": [1.0],
        },
        cv=3,
    ).fit(X, y)
    assert search.best_params_["loss__terms__1__quantile"] in (0.5, 0.9)
    best = search.best_estimator_.loss
    assert best.terms[1].quantile == search.best_params_["loss__terms__1__quantile"]
    assert best.weights == search.best_params_["loss__weights"]


def test_builtin_sums_run_the_cached_kernels_and_user_ones_compile_once_per_structure(
    recording_compiles,
):
    """A sum of built-in losses runs the very dispatchers of the built-in losses
    (cached on disk); a sum with a user term is specialised once per structure
    (its term classes in order): new weights or hyperparameters recompile nothing."""
    for kernel in (sgd_epoch.sgd_epoch_dense, minibatch_epoch.minibatch_epoch_csr):
        assert kernel_for(kernel, BUILTIN_SUM) is kernel
        assert kernel_for(kernel, 0.2 * losses.Tukey() + losses.Cauchy()) is kernel
    X, y = _regression(n=200)
    kw = dict(max_iter=2, tol=None, random_state=0)
    SGDRegressor(loss=0.7 * UserHuber(1.0) + 0.3 * Quantile(0.9), **kw).fit(X, y)
    (0.7 * UserHuber(1.0) + 0.3 * Quantile(0.9)).gradient(y, X[:, 0])
    with recording_compiles() as compiled:
        SGDRegressor(loss=0.1 * UserHuber(3.0) + 2.0 * Quantile(0.2), **kw).fit(X, y)
        (0.5 * UserHuber(2.0) + Quantile(0.4)).gradient(y, X[:, 0])
    assert compiled == []
    specialised = kernel_for(_loss_switch.derivative_array, USER_TERM_SUM)
    assert specialised is not _loss_switch.derivative_array
    assert kernel_for(_loss_switch.derivative_array, 3 * UserHuber() + Quantile()) is specialised
    other_order = kernel_for(_loss_switch.derivative_array, Quantile() + UserHuber())
    assert other_order is not specialised


@pytest.mark.slow
def test_builtin_sum_is_a_cache_hit_in_a_fresh_process(compiled_in_fresh_process, tmp_path):
    script = """
    import numpy as np
    from fastloss import SGDRegressor
    from fastloss.losses import Huber, Quantile
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    SGDRegressor(loss=0.7 * Huber() + 0.3 * Quantile(0.9), max_iter=2, tol=None).fit(X, X[:, 0])
    """
    compiled_in_fresh_process(script, tmp_path)  # fills the cache
    assert compiled_in_fresh_process(script, tmp_path) == []
