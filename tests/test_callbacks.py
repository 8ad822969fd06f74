"""scikit-learn's callback API (sklearn.callback) on fastloss estimators."""

import importlib.util

import numpy as np
import pytest
from conftest import expected_failed_checks
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.callback import _progressbar as sk_progressbar
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_class_weight_balanced_linear_classifier,
    parametrize_with_checks,
)

from fastloss import SGDClassifier, SGDRegressor

needs_rich = pytest.mark.skipif(
    importlib.util.find_spec("rich") is None,
    reason="scikit-learn's ProgressBar needs rich (in the test extra: pip install fastloss[test])",
)


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=300, n_features=8, random_state=0)


class TaskRecorder:
    """A FitCallback that records every task it sees begin and end."""

    def __init__(self, stop_after_epoch=None):
        self.events = []
        self.stop_after_epoch = stop_after_epoch

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name))

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id, fitted_estimator))
        return context.task_name == "epoch" and context.task_id == self.stop_after_epoch


def epochs_ended(events):
    return [e for e in events if e[:2] == ("end", "epoch")]


def test_one_task_per_epoch(binary):
    X, y = binary
    recorder = TaskRecorder()
    est = SGDClassifier(random_state=0).set_callbacks(recorder).fit(X, y)
    events = recorder.events
    assert events[0] == ("setup", "fit") and events[-1] == ("teardown", "fit")
    assert events[1] == ("begin", "fit", 0) and events[-2][:3] == ("end", "fit", 0)
    epochs = epochs_ended(events)
    assert [e[2] for e in epochs] == list(range(est.n_iter_))
    # every epoch's fitted estimator predicts with that epoch's weights; the last
    # one's are the final model's
    np.testing.assert_array_equal(epochs[-1][3].coef_, est.coef_)
    assert epochs[0][3].coef_ is not est.coef_ and not np.array_equal(epochs[0][3].coef_, est.coef_)


def test_a_callback_can_stop_training(binary):
    X, y = binary
    est = SGDClassifier(tol=None, max_iter=50, random_state=0)
    est.set_callbacks(TaskRecorder(stop_after_epoch=2)).fit(X, y)
    assert est.n_iter_ == 3
    assert est.loss_curve_.shape == (3,)


@pytest.mark.parametrize("n_jobs", [None, 3])
def test_one_vs_rest_has_one_task_per_class(n_jobs):
    X, y = make_classification(n_samples=300, n_features=8, n_classes=3, n_informative=5)
    recorder = TaskRecorder()
    est = SGDClassifier(max_iter=4, tol=None, n_jobs=n_jobs, random_state=0)
    est.set_callbacks(recorder).fit(X, y)
    ended = [e[1:3] for e in recorder.events if e[0] == "end"]
    assert ended.count(("fit", 0)) == 1
    assert sorted(e for e in ended if e[0] == "one-vs-rest") == [
        ("one-vs-rest", k) for k in range(3)
    ]
    assert len(epochs_ended(recorder.events)) == 3 * est.n_iter_
    # a one-vs-rest model exists only when every class is trained
    assert all(e[3] is None for e in epochs_ended(recorder.events))


def test_scoring_monitor_records_each_epochs_model(binary):
    X, y = binary
    monitor = ScoringMonitor(scoring="accuracy")
    est = SGDClassifier(max_iter=6, tol=None, random_state=0).set_callbacks(monitor).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(rows) == est.n_iter_ == 6
    # the same seed gives the same first k epochs: a fresh fit stopped after k
    # epochs is the model the monitor scored after epoch k
    expected = [
        accuracy_score(y, SGDClassifier(max_iter=k, tol=None, random_state=0).fit(X, y).predict(X))
        for k in range(1, 7)
    ]
    np.testing.assert_allclose([r["accuracy"] for r in rows], expected, rtol=1e-12)


def test_scoring_monitor_matches_validation_scores(binary):
    """The monitor, scoring the held-out rows, records the estimator's own
    per-epoch validation scores."""
    X, y = binary
    _, val = next(
        StratifiedShuffleSplit(test_size=0.2, random_state=3).split(np.zeros((len(y), 1)), y)
    )

    def held_out_accuracy(estimator, X_fit, y_fit):
        return accuracy_score(y_fit[val], estimator.predict(X_fit[val]))

    monitor = ScoringMonitor(scoring={"held_out": held_out_accuracy})
    est = SGDClassifier(early_stopping=True, validation_fraction=0.2, random_state=3)
    est.set_callbacks(monitor).fit(X, y)
    recorded = [r["held_out"] for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    np.testing.assert_allclose(recorded, est.validation_scores_, rtol=1e-12)


def test_scoring_monitor_on_a_regressor_with_sample_weight():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    X, y = X / 10, y / 100
    weight = np.linspace(0.5, 2.0, len(y))
    monitor = ScoringMonitor(scoring="r2")
    est = SGDRegressor(max_iter=5, tol=None, random_state=0).set_callbacks(monitor)
    est.fit(X, y, sample_weight=weight)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(rows) == 5
    final = r2_score(y, est.predict(X), sample_weight=weight)
    assert rows[-1]["r2"] == pytest.approx(final, rel=1e-12)


def test_partial_fit_is_one_epoch_task(binary):
    X, y = binary
    recorder = TaskRecorder()
    est = SGDClassifier(random_state=0).set_callbacks(recorder)
    est.partial_fit(X, y, classes=[0, 1])
    est.partial_fit(X, y)
    assert len(epochs_ended(recorder.events)) == 2
    assert [e for e in recorder.events if e[0] == "setup"] == [("setup", "fit")] * 2


@needs_rich
def test_progress_bar_alone(binary, capsys):
    X, y = binary
    SGDClassifier(max_iter=5, tol=None, random_state=0).set_callbacks(ProgressBar()).fit(X, y)
    out = capsys.readouterr().out
    assert "SGDClassifier - fit" in out and "100%" in out
    assert not sk_progressbar._run_monitors  # its monitor thread was joined


@needs_rich
def test_failed_fit_tears_callbacks_down_and_keeps_the_model(binary):
    X, y = binary
    est = SGDClassifier(learning_rate="constant", eta0=1.0, max_iter=3, tol=None, random_state=0)
    est.set_callbacks(ProgressBar(), TaskRecorder()).fit(X, y)
    coef = est.coef_.copy()
    # a huge step size diverges during training, after the callbacks were set up
    with pytest.raises(ValueError, match="diverged"):
        est.set_params(eta0=1e300).fit(X * 1e10, y)
    np.testing.assert_array_equal(est.coef_, coef)
    assert not hasattr(est, "_callback_fit_ctx")
    assert not sk_progressbar._run_monitors
    assert est._skl_callbacks[1].events[-1] == ("teardown", "fit")


@needs_rich
def test_progress_bar_and_monitor_in_a_pipeline_in_grid_search(binary, capsys):
    X, y = binary
    monitor = ScoringMonitor(scoring="accuracy")
    sgd = SGDClassifier(max_iter=4, tol=None, random_state=0).set_callbacks(monitor)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), sgd), {"sgdclassifier__alpha": [1e-4, 1e-2]}, cv=2
    )
    search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    out = capsys.readouterr().out
    assert "GridSearchCV - fit" in out and "SGDClassifier" in out

    (log,) = monitor.get_logs(select="all")  # one run: the search
    epochs = [r for r in log.data if r["task_name"] == "epoch"]
    assert len(epochs) == (2 * 2 + 1) * 4  # (candidates x folds + refit) x epochs
    # the refit's epochs are scored on the scaled training data: they equal
    # pipelines refitted by hand for k epochs
    refit = [
        r
        for r in epochs
        if r["parent_task_id_path"] == max(r["parent_task_id_path"] for r in epochs)
    ]
    best = search.best_params_["sgdclassifier__alpha"]
    expected = []
    for k in range(1, 5):
        pipe = make_pipeline(
            StandardScaler(), SGDClassifier(alpha=best, max_iter=k, tol=None, random_state=0)
        )
        expected.append(accuracy_score(y, pipe.fit(X, y).predict(X)))
    np.testing.assert_allclose([r["accuracy"] for r in refit], expected, rtol=1e-12)


class SilentCallback:
    """Implements every hook and asks for every argument; records nothing."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None):
        pass

    def on_fit_task_end(
        self, estimator, context, *, X=None, y=None, metadata=None, fitted_estimator=None
    ):
        return False


# Estimators with callbacks set still pass scikit-learn's checks (clones keep
# their callbacks, so every check's fits run the hooks).
@parametrize_with_checks(
    [
        SGDClassifier(loss="log_loss").set_callbacks(SilentCallback()),
        SGDRegressor(average=True).set_callbacks(SilentCallback()),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_checks_with_callbacks(estimator, check):
    check(estimator)


def test_balanced_class_weight_check_with_callbacks():
    # not yielded above: see test_estimator_checks.test_class_weight_balanced_linear_classifier
    estimator = SGDClassifier(loss="log_loss").set_callbacks(SilentCallback())
    check_class_weight_balanced_linear_classifier("SGDClassifier", estimator)


def test_scoring_monitor_on_a_multinomial_model():
    """A joint multiclass model is one epoch task an epoch, scored with that
    epoch's full (n_classes, n_features) model."""
    X, y = make_classification(n_samples=300, n_features=8, n_classes=3, n_informative=5)
    kw = {"multi_class": "multinomial", "tol": None, "random_state": 0}
    monitor = ScoringMonitor(scoring="accuracy")
    est = SGDClassifier(max_iter=5, **kw).set_callbacks(monitor).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    expected = [
        accuracy_score(y, SGDClassifier(max_iter=k, **kw).fit(X, y).predict(X)) for k in range(1, 6)
    ]
    np.testing.assert_allclose([r["accuracy"] for r in rows], expected, rtol=1e-12)
    assert est.loss_curve_.shape == (5,)


def test_a_callback_can_stop_a_multinomial_model():
    X, y = make_classification(n_samples=300, n_features=8, n_classes=3, n_informative=5)
    est = SGDClassifier(multi_class="multinomial", tol=None, max_iter=50, random_state=0)
    est.set_callbacks(TaskRecorder(stop_after_epoch=1)).fit(X, y)
    assert est.n_iter_ == 2 and est.loss_curve_.shape == (2,)
