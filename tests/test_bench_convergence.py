"""The time-to-optimum harness (``python -m fastloss.bench --convergence``).

The objective, its gradient and the L-BFGS-B reference are checked against
closed forms, finite differences and scikit-learn's ``LogisticRegression``;
the harness runs end to end on tiny problems and its chart renders.  Times
are never asserted, only that they are finite and ordered.
"""

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import check_grad
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from fastloss.bench import __main__ as bench_main
from fastloss.bench import write_json
from fastloss.bench._convergence import (
    GAPS,
    ConvergenceResult,
    Curve,
    Objective,
    Problem,
    ProblemResult,
    Solver,
    _value_and_gradient,
    convergence_figure,
    format_convergence,
    objective_value,
    problems,
    reference_optimum,
    relative_gap,
    run_convergence,
    solvers,
    write_convergence_pngs,
)
from fastloss.bench._suites import DataSpec
from fastloss.losses import LogLoss, SmoothHinge

ALPHA = 1e-4

#: Quick problems times this: 2,000 rows.
SCALE = 0.1


@pytest.fixture(scope="module")
def small():
    X, y = make_classification(n_samples=400, n_features=8, flip_y=0.1, random_state=0)
    return X, y, np.where(y == 1, 1.0, -1.0)


# ---------------------------------------------------------------- objective
@pytest.mark.parametrize("loss", [LogLoss(), SmoothHinge()], ids=["log_loss", "smooth_hinge"])
def test_per_sample_losses_are_fastloss_losses(small, loss):
    X, _, target = small
    coef = np.linspace(-1.0, 1.0, X.shape[1])
    raw = X @ coef + 0.3
    name = "log_loss" if isinstance(loss, LogLoss) else "smooth_hinge"
    expected = loss.loss(target, raw).mean() + 0.5 * ALPHA * coef @ coef
    assert objective_value(Objective(name, ALPHA), X, target, coef, 0.3) == pytest.approx(
        expected, rel=1e-12
    )


@pytest.mark.parametrize(
    "objective",
    [
        Objective("log_loss", ALPHA),
        Objective("smooth_hinge", 0.1),
        Objective("squared_hinge", ALPHA, intercept_scaling=1.0),
        Objective("half_squared_hinge", 0.1, intercept_scaling=3.0),
    ],
    ids=lambda o: o.label,
)
def test_gradient_matches_finite_differences(small, objective):
    X, _, target = small
    z = np.random.default_rng(0).normal(scale=0.5, size=X.shape[1] + 1)
    error = check_grad(
        lambda v: _value_and_gradient(objective, X, target, v)[0],
        lambda v: _value_and_gradient(objective, X, target, v)[1],
        z,
    )
    assert error < 1e-6


@pytest.mark.parametrize(
    "loss, optimum",
    [
        # no feature: the best constant; a share p = 3/4 of positive labels
        ("log_loss", -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))),  # at b = logit(3/4)
        ("smooth_hinge", 1.0 / 3.0),  # at b = 2/3: 3/4 (1 - b)^2 / 2 + 1/4 (1/2 + b)
    ],
)
def test_gap_against_closed_form(loss, optimum):
    X = np.zeros((400, 3))
    target = np.where(np.arange(400) % 4 == 0, -1.0, 1.0)
    objective = Objective(loss, ALPHA)
    reference = reference_optimum(objective, X, target)
    assert reference.value == pytest.approx(optimum, rel=1e-12)
    expected_b = math.log(3.0) if loss == "log_loss" else 2.0 / 3.0
    assert reference.intercept == pytest.approx(expected_b, abs=1e-6)
    at_zero = objective_value(objective, X, target, np.zeros(3), 0.0)
    assert at_zero == pytest.approx(math.log(2.0) if loss == "log_loss" else 0.5, rel=1e-15)
    assert relative_gap(at_zero, reference.value) == pytest.approx(
        (at_zero - optimum) / optimum, rel=1e-10
    )


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_reference_optimum_is_sklearn_lbfgs(small, sparse):
    X, y, target = small
    Xs = sp.csr_matrix(X) if sparse else X
    reference = reference_optimum(Objective("log_loss", ALPHA), Xs, target)
    sk = LogisticRegression(C=1.0 / (ALPHA * X.shape[0]), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(reference.coef, sk.coef_.ravel(), rtol=1e-5, atol=1e-6)
    assert reference.intercept == pytest.approx(sk.intercept_[0], abs=1e-6)
    sk_value = objective_value(
        Objective("log_loss", ALPHA), X, target, sk.coef_.ravel(), sk.intercept_[0]
    )
    assert abs(relative_gap(sk_value, reference.value)) < 1e-10


def test_penalised_intercept_is_liblinear_objective(small):
    """LinearSVC's curve is measured on its own objective (squared hinge,
    intercept penalised as a constant feature): its converged model is that
    objective's L-BFGS-B minimum."""
    from sklearn.svm import LinearSVC

    X, y, target = small
    objective = Objective("squared_hinge", ALPHA, intercept_scaling=1.0)
    reference = reference_optimum(objective, X, target)
    svc = LinearSVC(C=1.0 / (ALPHA * X.shape[0]), tol=1e-12, max_iter=100_000).fit(X, y)
    value = objective_value(objective, X, target, svc.coef_.ravel(), svc.intercept_[0])
    assert abs(relative_gap(value, reference.value)) < 1e-8


# ------------------------------------------------------------------ harness
def test_problems_are_the_issue_shapes():
    full = {p.name: p.spec for p in problems()}
    assert set(full) == {
        "logistic dense",
        "smooth_hinge dense",
        "logistic sparse",
        "smooth_hinge sparse",
    }
    assert (full["logistic dense"].n_samples, full["logistic dense"].n_features) == (500_000, 100)
    sparse = full["logistic sparse"]
    assert (sparse.n_samples, sparse.n_features, sparse.nnz_per_row) == (200_000, 100_000, 50)


def test_missing_optimizer_or_peer_is_a_note(monkeypatch):
    import fastloss.optim

    adam = next(s for s in solvers() if s.name == "fastloss Adam")
    assert adam.unavailable() is None
    monkeypatch.setattr(
        fastloss.optim,
        "OPTIMIZERS",
        {k: v for k, v in fastloss.optim.OPTIMIZERS.items() if k != "adam"},
    )
    assert "'adam' is not in fastloss.optim.OPTIMIZERS" in adam.unavailable()
    peer = Solver("nothing", ("log_loss",), None, "doubling", requires="no_such_module_here")
    assert "fastloss[peers]" in peer.unavailable()


def test_skipped_solvers_and_one_thread_solvers_at_two_threads(monkeypatch):
    import fastloss.optim

    monkeypatch.setattr(fastloss.optim, "OPTIMIZERS", {"sgd": fastloss.optim.SGD})
    result = run_convergence(
        quick=True,
        threads=2,
        scale=SCALE,
        only="logistic dense",
        solver_names=["fastloss Adam", "sklearn LogisticRegression saga"],
    )
    (problem,) = result.problems
    adam, saga = problem.curves
    assert adam.note.startswith("skipped: optimizer 'adam'") and not adam.values
    assert saga.note.startswith("skipped: uses one thread") and not saga.values
    assert "skipped" in format_convergence(result)


@pytest.fixture(scope="module")
def quick_result():
    names = [
        "fastloss SGD",
        "fastloss SAGA",
        "sklearn SGDClassifier",
        "sklearn LogisticRegression lbfgs",
        "sklearn LinearSVC",
    ]
    return run_convergence(quick=True, scale=SCALE, budget=0.3, solver_names=names)


@pytest.mark.slow
def test_quick_run_end_to_end(quick_result, tmp_path):
    assert [p.problem.name for p in quick_result.problems] == [p.name for p in problems(True)]
    methods = {solver.name: solver.method for solver in solvers()}
    for problem in quick_result.problems:
        assert problem.optimum > 0
        for curve in problem.curves:
            if curve.note.startswith(("skipped", "failed")):
                continue
            assert curve.values, curve.solver
            seconds = np.array(curve.seconds)
            assert np.all(np.isfinite(seconds)) and np.all(seconds > 0)
            if methods[curve.solver] != "doubling":  # one clock, epoch after epoch
                assert np.all(np.diff(seconds) >= 0)
            assert curve.iterations == sorted(curve.iterations)
            # f* is the lowest value seen: no gap below zero
            assert min(curve.gaps) >= 0.0
        lbfgs = [c for c in problem.curves if c.solver == "sklearn LogisticRegression lbfgs"]
        for curve in lbfgs:  # max_iter=2k continues the run of max_iter=k: f goes down
            assert np.all(np.diff(curve.values) <= 1e-15)
    text = format_convergence(quick_result)
    assert all(f"s to {gap:g}" in text for gap in GAPS)
    assert "sklearn LinearSVC *" in text and "its own objective" in text
    path = tmp_path / "conv.json"
    write_json(quick_result, path)
    data = json.loads(path.read_text())
    assert len(data["problems"]) == 4
    assert set(data["problems"][0]["curves"][0]["time_to"]) == {f"{gap:g}" for gap in GAPS}


@pytest.mark.slow
def test_command_line(tmp_path, capsys):
    prefix = tmp_path / "conv"
    code = bench_main.main(
        [
            "--convergence",
            "--quick",
            "--scale",
            str(SCALE),
            "--budget",
            "0.2",
            "--only",
            "logistic dense",
            "--json",
            str(tmp_path / "c.json"),
            "--png",
            str(prefix),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "logistic dense" in out and "s to 0.0001" in out
    assert (tmp_path / "conv_logistic_dense.png").stat().st_size > 0
    assert json.loads((tmp_path / "c.json").read_text())["threads"] == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--budget", "3"],
        ["--convergence", "--threads", "1,2"],
        ["--convergence", "--budget", "0"],
        ["--convergence", "--only", "no such problem"],
    ],
)
def test_command_line_errors(argv):
    with pytest.raises(SystemExit):
        bench_main.main(argv)


def test_figure_renders(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    problem = Problem("logistic dense", "log_loss", DataSpec("binary", 100, 3))
    ours = Curve("a", "log_loss", seconds=[0.1, 0.2, 0.4], values=[2.0, 1.1, 1.0], optimum=1.0)
    own = Curve("b", "squared_hinge", True, [0.1, 0.3], [1.5, 1.0 + 1e-7], [1, 2], optimum=1.0)
    skipped = Curve("c", "log_loss", note="skipped: not installed")
    result = ConvergenceResult(
        [ProblemResult(problem, 1.0, 0.5, [ours, own, skipped])], 1, 1.0, True
    )
    fig = convergence_figure(result.problems[0])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    assert [line.get_label() for line in ax.get_lines()][:2] == ["a", "b (own objective)"]
    (path,) = write_convergence_pngs(result, tmp_path / "chart")
    assert path.name == "chart_logistic_dense.png"
    height, width, _ = imread(path).shape
    assert height > 100 and width > 100
