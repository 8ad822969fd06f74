"""LossCurveDisplay and the benchmark chart (matplotlib, Agg backend)."""

import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError

from fastloss import SGDClassifier, SGDRegressor
from fastloss.plot import LossCurveDisplay

matplotlib = pytest.importorskip("matplotlib", reason="plots need pip install fastloss[plot]")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=300, n_features=8, random_state=0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_from_estimator_plots_the_recorded_curves(binary, tmp_path):
    X, y = binary
    est = SGDClassifier(early_stopping=True, n_iter_no_change=3, random_state=0).fit(X, y)
    display = LossCurveDisplay.from_estimator(est)
    path = tmp_path / "curve.png"
    display.figure_.savefig(path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE

    x, loss = display.loss_line_.get_data()
    np.testing.assert_array_equal(x, np.arange(1, est.n_iter_ + 1))
    np.testing.assert_array_equal(loss, est.loss_curve_)
    x, scores = display.validation_line_.get_data()
    np.testing.assert_array_equal(x, np.arange(1, est.n_iter_ + 1))
    np.testing.assert_array_equal(scores, est.validation_scores_)
    assert display.validation_ax_ is not display.ax_
    assert display.ax_.figure is display.figure_
    assert display.loss_line_.get_label() == "SGDClassifier training loss"


def test_plot_on_given_axes_without_validation(binary):
    X, y = binary
    est = SGDRegressor(max_iter=5, tol=0.0, n_iter_no_change=10, random_state=0)
    est.fit(X, y.astype(float))
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(est, ax=ax, name="mine", loss_kw={"color": "k"})
    assert display.ax_ is ax and display.figure_ is fig
    assert display.validation_line_ is None and display.validation_ax_ is None
    assert display.loss_line_.get_label() == "mine training loss"
    assert display.loss_line_.get_color() == "k"
    np.testing.assert_array_equal(display.loss_line_.get_ydata(), est.loss_curve_)


def test_validation_scores_belong_to_the_last_epochs():
    display = LossCurveDisplay(loss_curve=[3.0, 2.0, 1.5, 1.2], validation_scores=[0.7, 0.8])
    display.plot()
    np.testing.assert_array_equal(display.validation_line_.get_xdata(), [3, 4])
    with pytest.raises(ValueError, match="last epochs"):
        LossCurveDisplay(loss_curve=[1.0], validation_scores=[0.5, 0.6]).plot()


def test_clear_errors(binary):
    X, y = binary
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(SGDClassifier())
    # every fit records its loss (issue 21): tol=None draws too
    LossCurveDisplay.from_estimator(SGDClassifier(tol=None, max_iter=2, random_state=0).fit(X, y))
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(AttributeError, match="records no loss_curve_"):
        LossCurveDisplay.from_estimator(LogisticRegression().fit(X, y))


def test_missing_matplotlib_names_the_extra(binary, monkeypatch):
    X, y = binary
    est = SGDClassifier(max_iter=3, random_state=0).fit(X, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install fastloss\[plot\]"):
        LossCurveDisplay.from_estimator(est)


def test_benchmark_chart_uses_the_plot_module(tmp_path):
    from fastloss.plot._speedups import speedup_figure

    fig = speedup_figure(["a", "b"], [2.0, 0.5], title="t")
    (ax,) = fig.axes
    widths = sorted(bar.get_width() for bar in ax.patches)
    assert widths == [0.5, 2.0]
    fig.savefig(tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == PNG_SIGNATURE
