"""The one training loop (``linear_model._training.train``) drives any epoch runner.

A runner written here in plain NumPy (full-batch gradient descent on least
squares) plugs into the loop without touching it, as the search, the
variance-reduced solvers and the rankers will: the loop's stopping, per-model
criteria, adaptive steps, divergence check and record are checked against
closed forms (``np.linalg.lstsq``) and against what the rules say.
"""

import numpy as np
import pytest

from fastloss import SGDRegressor
from fastloss.linear_model._state import TrainingState
from fastloss.linear_model._training import train


class LeastSquaresRunner:
    """``n_models`` least-squares models, each one gradient step an epoch with
    its own step size (the runner interface of ``_runners``)."""

    n_threads = 1

    def __init__(self, X, y, steps):
        self.X, self.y = X, y
        self.rows = np.arange(X.shape[0], dtype=np.uint32)
        self.eta = np.array(steps, dtype=np.float64)
        self.n_models = len(steps)
        self.coef = np.zeros((self.n_models, X.shape[1]))
        self.active = np.ones(self.n_models, dtype=bool)
        self.epochs_run = np.zeros(self.n_models, dtype=int)

    def run(self, order, pool=None, while_waiting=None):
        X, y = self.X[order], self.y[order]
        residuals = X @ self.coef.T - y[:, None]  # (n, n_models)
        loss_sums = 0.5 * (residuals**2).sum(axis=0)
        gradient = residuals.T @ X / X.shape[0]
        self.coef[self.active] -= self.eta[self.active, None] * gradient[self.active]
        self.epochs_run += self.active
        return loss_sums

    def n_clips(self):
        return 0.0

    def finite(self):
        return bool(np.isfinite(self.coef).all())

    def model(self, m):
        return self.coef[m], 0.0

    def set_eta0(self, m, eta0):
        self.eta[m] = eta0

    def stop(self, m):
        self.active[m] = False

    def state(self):
        state = TrainingState.zeros(self.n_models, self.coef.shape[1], np.float64)
        state.coef[:] = self.coef
        return state


def _settings(**params):
    estimator = SGDRegressor(penalty=None, random_state=0, **params)
    return estimator._settings(estimator._resolve_loss(), estimator.max_iter)


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.01 * rng.standard_normal(200)
    return X, y


def test_each_criterion_stops_on_its_own_and_is_frozen(problem):
    X, y = problem
    runner = LeastSquaresRunner(X, y, steps=[0.5, 0.05])
    settings = _settings(max_iter=500, tol=1e-12, n_iter_no_change=3)
    record = train(runner, settings, seed=0, criteria=[[0], [1]])

    # the larger step converges first and stops; the other goes on alone
    assert record.n_iter[0] < record.n_iter[1] < 500
    np.testing.assert_array_equal(record.n_iter, runner.epochs_run)
    assert [len(c) for c in record.loss_curves] == record.n_iter
    # both stop where the objective is flat: the least-squares solution
    exact = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(record.coef[0], exact, atol=1e-5)
    np.testing.assert_allclose(record.coef[1], exact, atol=1e-4)
    # the objective each epoch is the mean half squared residual before the step
    first = 0.5 * np.mean(y**2)
    assert record.loss_curves[0][0] == pytest.approx(first, rel=1e-12)


def test_one_criterion_for_all_models_stops_them_together(problem):
    X, y = problem
    runner = LeastSquaresRunner(X, y, steps=[0.5, 0.05])
    record = train(runner, _settings(max_iter=500, tol=1e-9), seed=0)  # one criterion
    assert record.n_iter[0] == record.n_iter[1]
    assert record.loss_curves[0] is record.loss_curves[1]


def test_adaptive_schedule_divides_the_step_of_the_stalled_criterion(problem):
    X, y = problem
    # above 2 / L (L: the largest eigenvalue of X'X/n) gradient descent
    # oscillates outwards: the objective stalls, 'adaptive' divides the step
    # by 5, and from then on it converges
    eta0 = 2.05 / np.linalg.eigvalsh(X.T @ X / X.shape[0]).max()
    runner = LeastSquaresRunner(X, y, steps=[eta0])
    settings = _settings(max_iter=300, tol=1e-10, learning_rate="adaptive", eta0=eta0)
    record = train(runner, settings, seed=0)
    divisions = np.log(eta0 / runner.eta[0]) / np.log(5)
    assert divisions >= 1 and divisions == pytest.approx(round(divisions), abs=1e-9)
    exact = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(record.coef[0], exact, atol=1e-5)


def test_a_diverging_runner_raises_the_divergence_error(problem):
    X, y = problem
    runner = LeastSquaresRunner(X, y, steps=[1e3])
    with pytest.raises(ValueError, match=r"training diverged"), np.errstate(all="ignore"):
        train(runner, _settings(max_iter=1000, tol=None, learning_rate="constant"), seed=0)
