"""Time to the optimum: suboptimality against wall time, solver by solver.

``python -m fastloss.bench --convergence`` fits every solver to the same
objective on the same data and draws its relative gap ``(f - f*) / f*``
against the seconds it has spent, like benchopt's curves.  The objective is

    f(w, b) = mean_i loss(y_i, x_i . w + b) + alpha / 2 ||w||^2

(intercept unpenalised; scikit-learn's ``C = 1 / (alpha n)``), for L2 logistic
regression and a smooth-hinge SVM (:class:`fastloss.losses.SmoothHinge`), on a
dense standardised and a sparse CSR problem (:func:`problems`).  ``f*`` is a
tight ``scipy.optimize.minimize(method="L-BFGS-B")`` run on the same objective
(:func:`reference_optimum`), lowered to the best value any solver reached.

How a curve is measured:

- fastloss: one ``fit`` with ``tol=None``; a scikit-learn callback records the
  weights after every epoch and evaluates the objective there, and the seconds
  it spends doing so are subtracted from the fit's clock.  Its kernels are
  loaded (or compiled) by a fit on a few rows first: one-time costs are not
  time to the optimum.
- scikit-learn's ``SGDClassifier``: one ``partial_fit`` (one epoch) at a time,
  only those calls timed.
- every other solver (``LogisticRegression``, ``LinearSVC``, the peers): whole
  fits from scratch with ``max_iter`` = 1, 2, 4, ..., each timed (a warm start
  would not continue those solvers exactly).

A curve stops at a gap of :data:`STOP_GAP` or once its time passes the budget.
Some solvers minimise another objective: scikit-learn's ``LinearSVC`` and
cyanure's the squared hinge (no smooth hinge there), liblinear and snapml with
a penalised intercept.  Their curves are gaps on *their own* objective, each
with its own L-BFGS-B reference, and their labels say so; they are not
comparable point for point with the problem's other curves, only in how fast
they converge.

Every solver is held to ``threads`` threads: ``threadpoolctl`` for BLAS and
OpenMP, plus its own ``n_jobs`` / ``n_threads``.  With more than one thread
only the solvers that can use them run (:attr:`Solver.threaded`).
"""

from __future__ import annotations

import importlib.util
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from ._report import text_table
from ._suites import DataSpec, make_dataset

__all__ = [
    "GAPS",
    "STOP_GAP",
    "ConvergenceResult",
    "Curve",
    "Objective",
    "Problem",
    "ProblemResult",
    "Reference",
    "Solver",
    "convergence_figure",
    "format_convergence",
    "objective_value",
    "problems",
    "reference_optimum",
    "relative_gap",
    "run_convergence",
    "solvers",
    "write_convergence_pngs",
]

#: Relative gaps whose time the table reports.
GAPS = (1e-2, 1e-4, 1e-6)

#: A curve stops once it is this close to the optimum.
STOP_GAP = 1e-8

#: Seconds each curve may run: the full run and ``--quick``.
BUDGET = {"full": 10.0, "quick": 1.0}

#: How to install the peers.
PEERS_HINT = "pip install fastloss[peers]"

ALPHA = 1e-4


# ------------------------------------------------------------------ objective
@dataclass(frozen=True)
class Objective:
    """``mean loss(y, x . w + b) + alpha / 2 (||w||^2 [+ (b / s)^2])``.

    Attributes
    ----------
    loss : {"log_loss", "smooth_hinge", "squared_hinge", "half_squared_hinge"}
        Of the margin ``z = y (x . w + b)``: ``log(1 + exp(-z))``; the smooth
        hinge of width 1 (:class:`fastloss.losses.SmoothHinge`); liblinear's
        ``max(0, 1 - z)^2``; cyanure's ``max(0, 1 - z)^2 / 2``.
    alpha : float
    intercept_scaling : float or None
        ``None``: the intercept is not penalised.  ``s``: it is, as the weight
        of a constant feature of value ``s`` (liblinear's and snapml's
        ``intercept_scaling``).
    """

    loss: str
    alpha: float
    intercept_scaling: float | None = None

    @property
    def label(self) -> str:
        """A short description for tables: the loss and how the intercept counts."""
        intercept = "" if self.intercept_scaling is None else ", penalised intercept"
        return f"{self.loss}{intercept}"


def _loss_and_derivative(loss: str, margin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample loss of the margins ``z`` (n,) and its derivative in ``z`` (n,)."""
    if loss == "log_loss":
        return np.logaddexp(0.0, -margin), -expit(-margin)
    if loss == "smooth_hinge":  # width 1: quadratic on [0, 1], linear below 0
        slack = 1.0 - margin
        value = np.where(slack <= 0.0, 0.0, np.where(slack <= 1.0, 0.5 * slack**2, slack - 0.5))
        return value, -np.clip(slack, 0.0, 1.0)
    if loss in ("squared_hinge", "half_squared_hinge"):
        slack = np.maximum(1.0 - margin, 0.0)
        scale = 1.0 if loss == "squared_hinge" else 0.5
        return scale * slack**2, -2.0 * scale * slack
    raise ValueError(f"unknown loss {loss!r}")


def _value_and_gradient(objective: Objective, X, target: np.ndarray, z: np.ndarray):
    """The objective and its gradient at ``z = (w, b)`` (n_features + 1,)."""
    coef, intercept = z[:-1], z[-1]
    margin = target * (np.asarray(X @ coef).ravel() + intercept)
    values, derivative = _loss_and_derivative(objective.loss, margin)
    n = margin.shape[0]
    d = target * derivative / n
    grad = np.empty_like(z)
    grad[:-1] = np.asarray(X.T @ d).ravel() + objective.alpha * coef
    grad[-1] = d.sum()
    value = values.mean() + 0.5 * objective.alpha * (coef @ coef)
    if objective.intercept_scaling is not None:
        s2 = objective.intercept_scaling**2
        value += 0.5 * objective.alpha * intercept**2 / s2
        grad[-1] += objective.alpha * intercept / s2
    return float(value), grad


def objective_value(objective: Objective, X, target, coef, intercept: float) -> float:
    """The objective at ``coef`` (n_features,) and ``intercept``.

    Parameters
    ----------
    objective : Objective
    X : ndarray or sparse matrix (n_samples, n_features)
    target : ndarray (n_samples,)
        Labels in {-1, +1}.
    coef : ndarray (n_features,)
    intercept : float

    Returns
    -------
    float
    """
    z = np.append(np.asarray(coef, dtype=np.float64).ravel(), float(intercept))
    return _value_and_gradient(objective, X, target, z)[0]


def relative_gap(value: float, optimum: float) -> float:
    """``(value - optimum) / optimum``: the suboptimality the curves draw.

    Every objective here is positive at its optimum (a sum of losses that no
    linear model drives to zero on noisy labels), so the ratio is defined.
    """
    return (value - optimum) / optimum


@dataclass
class Reference:
    """The L-BFGS-B solution of one objective.

    Attributes
    ----------
    value : float
    coef : ndarray (n_features,)
    intercept : float
    seconds : float
    """

    value: float
    coef: np.ndarray
    intercept: float
    seconds: float


def reference_optimum(
    objective: Objective, X, target: np.ndarray, start: Reference | None = None
) -> Reference:
    """The minimum of ``objective`` by a tight L-BFGS-B run.

    ``gtol`` 1e-10 bounds the gradient's entries, so the value is within
    ``d gtol^2 / (2 alpha)`` of the minimum (strong convexity ``alpha``):
    5e-12 for 100,000 features at ``alpha`` 1e-4, well under :data:`STOP_GAP`.

    Parameters
    ----------
    objective : Objective
    X : ndarray or sparse matrix (n_samples, n_features)
    target : ndarray (n_samples,)
        Labels in {-1, +1}.
    start : Reference, optional
        Where to start (another objective's solution on the same data);
        zero when None.

    Returns
    -------
    Reference
    """
    x0 = np.zeros(X.shape[1] + 1) if start is None else np.append(start.coef, start.intercept)
    clock = time.perf_counter()
    result = minimize(
        lambda z: _value_and_gradient(objective, X, target, z),
        x0,
        jac=True,
        method="L-BFGS-B",
        options={"ftol": 1e-16, "gtol": 1e-10, "maxiter": 20_000, "maxcor": 30},
    )
    seconds = time.perf_counter() - clock
    return Reference(float(result.fun), result.x[:-1], float(result.x[-1]), seconds)


# ------------------------------------------------------------------- problems
@dataclass(frozen=True)
class Problem:
    """One objective on one dataset.

    Attributes
    ----------
    name : str
        ``"<loss> <dense|sparse>"``, also the PNG's file name suffix.
    loss : {"log_loss", "smooth_hinge"}
    spec : DataSpec
        A planted binary problem: ``"binary"`` (standard normal features) or
        ``"sparse"`` (CSR, values in [0, 1)).
    """

    name: str
    loss: str
    spec: DataSpec

    @property
    def objective(self) -> Objective:
        """The problem's objective (unpenalised intercept)."""
        return Objective(self.loss, ALPHA)

    @property
    def file_suffix(self) -> str:
        """The name as a file name suffix."""
        return self.name.replace(" ", "_")


#: Training shapes (rows, features, stored values a row) per size.
_SHAPES = {
    "full": {"dense": (500_000, 100, 0), "sparse": (200_000, 100_000, 50)},
    "quick": {"dense": (20_000, 50, 0), "sparse": (20_000, 5_000, 20)},
}


def problems(quick: bool = False, scale: float = 1.0) -> list[Problem]:
    """The four problems: {log loss, smooth hinge} x {dense, sparse}.

    Parameters
    ----------
    quick : bool, default=False
        Small shapes that run in seconds.
    scale : float, default=1.0
        Multiplies the rows.
    """
    label = {"log_loss": "logistic", "smooth_hinge": "smooth_hinge"}
    out = []
    for kind, (n, d, nnz) in _SHAPES["quick" if quick else "full"].items():
        n = max(500, int(n * scale))
        spec = (
            DataSpec("binary", n, d)
            if kind == "dense"
            else DataSpec("sparse", n, d, nnz_per_row=nnz)
        )
        out += [Problem(f"{label[loss]} {kind}", loss, spec) for loss in label]
    return out


# -------------------------------------------------------------------- solvers
@dataclass(frozen=True)
class Solver:
    """One solver of the comparison.

    Attributes
    ----------
    name : str
    losses : tuple of str
        The problems' losses it runs on.
    make : callable (problem, n_samples, threads, max_iter) -> estimator
        A new unfitted estimator (``max_iter`` is None for the epoch-by-epoch methods).
    method : {"epochs", "partial_fit", "doubling"}
        How its curve is measured (see the module's docstring).
    own_objective : callable (problem) -> Objective, or None
        The objective it minimises when that is not the problem's.
    optimizer : str or None
        fastloss's optimizer name; the solver is skipped, with a note, while
        it is not in :data:`fastloss.optim.OPTIMIZERS`.
    requires : str or None
        The module a peer needs; skipped, with a note, when not installed.
    threaded : bool
        Whether it can use a second thread on one binary model.
    """

    name: str
    losses: tuple[str, ...]
    make: Callable
    method: str
    own_objective: Callable[[Problem], Objective] | None = None
    optimizer: str | None = None
    requires: str | None = None
    threaded: bool = False

    def objective(self, problem: Problem) -> Objective:
        """The objective its curve measures on ``problem``."""
        return problem.objective if self.own_objective is None else self.own_objective(problem)

    def unavailable(self) -> str | None:
        """Why it cannot run here, or None."""
        import fastloss.optim

        if self.optimizer is not None and self.optimizer not in fastloss.optim.OPTIMIZERS:
            return (
                f"skipped: optimizer {self.optimizer!r} is not in fastloss.optim.OPTIMIZERS "
                "in this build"
            )
        if self.requires is not None and importlib.util.find_spec(self.requires) is None:
            return f"skipped: {self.requires} is not installed ({PEERS_HINT})"
        return None


BOTH = ("log_loss", "smooth_hinge")
LOGISTIC = ("log_loss",)
SVM = ("smooth_hinge",)


def _fastloss(optimizer: str, **params) -> Callable:
    def make(problem, n_samples, threads, max_iter):
        import fastloss
        from fastloss.losses import SmoothHinge

        loss = "log_loss" if problem.loss == "log_loss" else SmoothHinge()
        return fastloss.SGDClassifier(
            loss=loss,
            alpha=ALPHA,
            tol=None,
            optimizer=optimizer,
            n_jobs=threads,
            random_state=0,
            **params,
        )

    return make


def _sk_sgd(problem, n_samples, threads, max_iter):
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", alpha=ALPHA, random_state=0)


def _sk_logistic(solver: str) -> Callable:
    def make(problem, n_samples, threads, max_iter):
        from sklearn.linear_model import LogisticRegression

        C = 1.0 / (ALPHA * n_samples)
        return LogisticRegression(solver=solver, C=C, tol=1e-14, max_iter=max_iter)

    return make


def _sk_linear_svc(problem, n_samples, threads, max_iter):
    from sklearn.svm import LinearSVC

    C = 1.0 / (ALPHA * n_samples)
    return LinearSVC(C=C, tol=1e-14, max_iter=max_iter, dual="auto")


def _snapml(problem, n_samples, threads, max_iter):
    from snapml import LogisticRegression

    return LogisticRegression(
        regularizer=ALPHA * n_samples,
        fit_intercept=True,
        max_iter=max_iter,
        tol=1e-14,
        n_jobs=threads,
        random_state=0,
    )


def _cyanure(loss: str) -> Callable:
    def make(problem, n_samples, threads, max_iter):
        from cyanure.estimators import LinearSVC, LogisticRegression

        cls = LogisticRegression if loss == "logistic" else LinearSVC
        return cls(
            lambda_1=ALPHA,
            penalty="l2",
            fit_intercept=True,
            max_iter=max_iter,
            tol=1e-14,
            n_threads=threads,
            verbose=False,
        )

    return make


def _skglm(problem, n_samples, threads, max_iter):
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import Logistic
    from skglm.penalties import L1_plus_L2
    from skglm.solvers import ProxNewton

    return GeneralizedLinearEstimator(
        Logistic(),
        L1_plus_L2(ALPHA, l1_ratio=0.0),
        # at tol 1e-14 its inner loop never ended (tens of seconds a fit); at
        # 1e-10 it still got within 1e-11 of the reference here
        ProxNewton(max_iter=max_iter, tol=1e-10, fit_intercept=True),
    )


def _penalised_intercept(loss: str) -> Callable[[Problem], Objective]:
    return lambda problem: Objective(loss, ALPHA, intercept_scaling=1.0)


def solvers() -> list[Solver]:
    """Every solver of the comparison, in the tables' order."""
    return [
        Solver("fastloss SGD", BOTH, _fastloss("sgd"), "epochs", threaded=True),
        Solver("fastloss SGD averaged", BOTH, _fastloss("sgd", average=True), "epochs",
               threaded=True),
        Solver("fastloss Adam", BOTH, _fastloss("adam"), "epochs", optimizer="adam"),
        Solver("fastloss SAGA", BOTH, _fastloss("saga"), "epochs", optimizer="saga"),
        Solver("fastloss SVRG", BOTH, _fastloss("svrg"), "epochs", optimizer="svrg"),
        Solver("sklearn SGDClassifier", LOGISTIC, _sk_sgd, "partial_fit"),
        Solver("sklearn LogisticRegression lbfgs", LOGISTIC, _sk_logistic("lbfgs"), "doubling",
               threaded=True),
        Solver("sklearn LogisticRegression saga", LOGISTIC, _sk_logistic("saga"), "doubling"),
        Solver("sklearn LinearSVC", SVM, _sk_linear_svc, "doubling",
               own_objective=_penalised_intercept("squared_hinge")),
        Solver("snapml LogisticRegression", LOGISTIC, _snapml, "doubling",
               own_objective=_penalised_intercept("log_loss"), requires="snapml", threaded=True),
        Solver("cyanure LogisticRegression", LOGISTIC, _cyanure("logistic"), "doubling",
               requires="cyanure", threaded=True),
        Solver("cyanure LinearSVC", SVM, _cyanure("sqhinge"), "doubling",
               own_objective=lambda problem: Objective("half_squared_hinge", ALPHA),
               requires="cyanure", threaded=True),
        Solver("skglm ProxNewton", LOGISTIC, _skglm, "doubling", requires="skglm"),
    ]  # fmt: skip


# ------------------------------------------------------------------- curves
@dataclass
class Curve:
    """One solver's suboptimality over time on one problem.

    Attributes
    ----------
    solver : str
    objective : str
        :attr:`Objective.label` of what it minimises.
    own_objective : bool
        Whether that differs from the problem's objective.
    seconds, values : list of float
        Fit time and objective value after each epoch or fit.
    iterations : list of int
        Epochs, or the fit's ``max_iter``.
    optimum : float
        ``f*`` of its objective (set once every curve has run).
    note : str
        Why it was skipped or stopped early, if it was.
    """

    solver: str
    objective: str
    own_objective: bool = False
    seconds: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    iterations: list[int] = field(default_factory=list)
    optimum: float = math.nan
    note: str = ""

    @property
    def gaps(self) -> list[float]:
        """Relative gaps to :attr:`optimum`, one a point."""
        return [relative_gap(value, self.optimum) for value in self.values]

    def time_to(self, gap: float) -> float | None:
        """Seconds to a point at most ``gap`` from the optimum, or None.

        The fewest: on one clock (epochs) the first such point; among
        independent fits (``max_iter`` doubling) the fastest that got there.
        """
        reached = [s for s, g in zip(self.seconds, self.gaps, strict=True) if g <= gap]
        return min(reached) if reached else None

    def to_dict(self) -> dict:
        return {
            "solver": self.solver,
            "objective": self.objective,
            "own_objective": self.own_objective,
            "optimum": self.optimum,
            "seconds": self.seconds,
            "gaps": self.gaps,
            "iterations": self.iterations,
            "time_to": {f"{gap:g}": self.time_to(gap) for gap in GAPS},
            "note": self.note,
        }


class _Stop:
    """When a curve stops: at :data:`STOP_GAP` or past the budget."""

    def __init__(self, evaluate: Callable, optimum: float, budget: float):
        self.evaluate = evaluate
        self.optimum = optimum
        self.budget = budget

    def done(self, curve: Curve) -> bool:
        if not curve.values:
            return False
        return (
            relative_gap(curve.values[-1], self.optimum) <= STOP_GAP
            or curve.seconds[-1] >= self.budget
        )


class _EpochRecorder:
    """A scikit-learn callback: the objective after each epoch of a fastloss fit.

    The seconds since :meth:`start` less those spent here are the fit's own
    time; the evaluation of the objective is excluded.  Asks the fit to stop
    when :class:`_Stop` says so.
    """

    def __init__(self, curve: Curve, stop: _Stop):
        self.curve = curve
        self.stop = stop
        self._start = 0.0
        self._excluded = 0.0
        self._epochs = 0

    def start(self) -> None:
        self._start = time.perf_counter()
        self._excluded = 0.0

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != "epoch":
            return False
        now = time.perf_counter()
        self._epochs += 1
        self.curve.seconds.append(now - self._start - self._excluded)
        self.curve.iterations.append(self._epochs)
        coef, intercept = np.ravel(fitted_estimator.coef_), fitted_estimator.intercept_[0]
        self.curve.values.append(self.stop.evaluate(coef, intercept))
        stop = self.stop.done(self.curve)
        self._excluded += time.perf_counter() - now
        return stop


def _run_epochs(model, X, y, curve: Curve, stop: _Stop) -> None:
    """fastloss: one fit, recorded after every epoch."""
    # load (or compile) the kernels on a few rows: not part of time to optimum
    clone(model).set_params(max_iter=2).fit(X[:200], y[:200])
    recorder = _EpochRecorder(curve, stop)
    # max_iter stays the default: a schedule may decay over it; the budget ends the fit
    model.set_callbacks(recorder)
    recorder.start()
    model.fit(X, y)


def _run_partial_fit(model, X, y, curve: Curve, stop: _Stop) -> None:
    """scikit-learn's SGD: one epoch a call, only the calls timed."""
    classes = np.unique(y)
    clone(model).partial_fit(X[:200], y[:200], classes=classes)
    seconds = 0.0
    while not stop.done(curve):
        start = time.perf_counter()
        model.partial_fit(X, y, classes=classes)
        seconds += time.perf_counter() - start
        curve.seconds.append(seconds)
        curve.iterations.append(len(curve.iterations) + 1)
        curve.values.append(stop.evaluate(np.ravel(model.coef_), np.ravel(model.intercept_)[0]))


def _run_doubling(make: Callable, X, y, curve: Curve, stop: _Stop, max_iter: int = 2**14) -> None:
    """Whole fits with ``max_iter`` = 1, 2, 4, ..., each timed.

    Stops when a fit ends where the previous one did (the solver's own
    stopping rule ended both: a larger ``max_iter`` changes nothing; ``n_iter_``
    cannot tell, cyanure counts in its own units) or when the next fit, about
    twice the last one's time, would take more than 1.5 budgets (so that a
    solver whose fits double past the budget still gets its last point).
    """
    make(1).fit(X[:200], y[:200])  # imports, first calls
    iters = 1
    while iters <= max_iter:
        model = make(iters)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        curve.seconds.append(seconds)
        curve.iterations.append(iters)
        curve.values.append(stop.evaluate(np.ravel(model.coef_), np.ravel(model.intercept_)[0]))
        unchanged = len(curve.values) > 1 and curve.values[-1] == curve.values[-2]
        if stop.done(curve) or unchanged or 2 * seconds > 1.5 * stop.budget:
            return
        iters *= 2


# -------------------------------------------------------------------- results
@dataclass
class ProblemResult:
    """Every curve of one problem.

    Attributes
    ----------
    problem : Problem
    optimum : float
        ``f*`` of the problem's objective.
    reference_seconds : float
        The L-BFGS-B reference run's time.
    curves : list of Curve
    """

    problem: Problem
    optimum: float
    reference_seconds: float
    curves: list[Curve]

    def to_dict(self) -> dict:
        spec = self.problem.spec
        return {
            "problem": self.problem.name,
            "loss": self.problem.loss,
            "shape": [spec.n_samples, spec.n_features],
            "sparse": not spec.is_dense,
            "alpha": ALPHA,
            "optimum": self.optimum,
            "reference_seconds": self.reference_seconds,
            "curves": [curve.to_dict() for curve in self.curves],
        }


@dataclass
class ConvergenceResult:
    """A whole ``--convergence`` run.

    Attributes
    ----------
    problems : list of ProblemResult
    threads : int
    budget : float
        Seconds each curve was allowed.
    quick : bool
    seconds : float
        Wall time of the run.
    """

    problems: list[ProblemResult]
    threads: int
    budget: float
    quick: bool
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "threads": self.threads,
            "budget_seconds": self.budget,
            "quick": self.quick,
            "stop_gap": STOP_GAP,
            "seconds": self.seconds,
            "problems": [problem.to_dict() for problem in self.problems],
        }


def _data(problem: Problem, random_state: int):
    data = make_dataset(problem.spec, random_state)
    X, y = data.X_train, data.y_train
    if sp.issparse(X):
        X = sp.csr_matrix(X)  # the training rows' own arrays, not a view's
    return X, y, np.where(y == 1, 1.0, -1.0)


def _problem_curves(
    problem: Problem,
    chosen: Sequence[Solver],
    threads: int,
    budget: float,
    random_state: int,
    data_cache: dict,
    log: Callable[[str], None],
) -> ProblemResult:
    key = (problem.spec, random_state)
    if key not in data_cache:
        data_cache.clear()  # one dataset in memory at a time
        data_cache[key] = _data(problem, random_state)
    X, y, target = data_cache[key]
    references: dict[Objective, Reference] = {}

    def reference(objective: Objective) -> Reference:
        if objective not in references:
            # another objective starts from the problem's solution: near, and cheaper
            start = references.get(problem.objective)
            references[objective] = reference_optimum(objective, X, target, start)
            log(
                f"  reference {objective.label}: f* = {references[objective].value:.12g} "
                f"({references[objective].seconds:.1f} s)"
            )
        return references[objective]

    reference(problem.objective)
    curves = []
    for solver in chosen:
        if problem.loss not in solver.losses:
            continue
        objective = solver.objective(problem)
        curve = Curve(solver.name, objective.label, objective != problem.objective)
        curves.append(curve)
        why = solver.unavailable()
        if why is not None:
            curve.note = why
            log(f"  {solver.name}: {why}")
            continue
        if threads > 1 and not solver.threaded:
            curve.note = "skipped: uses one thread (see the one-thread run)"
            continue
        optimum = reference(objective).value

        def evaluate(coef, intercept, objective=objective):
            return objective_value(objective, X, target, coef, intercept)

        stop = _Stop(evaluate, optimum, budget)
        try:
            with threadpool_limits(threads), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if solver.method == "doubling":

                    def make(max_iter, solver=solver):
                        return solver.make(problem, X.shape[0], threads, max_iter)

                    _run_doubling(make, X, y, curve, stop)
                else:
                    model = solver.make(problem, X.shape[0], threads, None)
                    run = _run_epochs if solver.method == "epochs" else _run_partial_fit
                    run(model, X, y, curve, stop)
        except Exception as exc:  # a solver's failure is a result, not the end of the run
            curve.note = f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:200]
        if curve.values:
            last = relative_gap(curve.values[-1], optimum)
            log(
                f"  {solver.name}: {len(curve.values)} points to {curve.seconds[-1]:.2f} s, "
                f"gap {last:.1e} {curve.note}".rstrip()
            )
        else:
            log(f"  {solver.name}: {curve.note}")
    # f* of each objective: the reference, or lower where a solver went lower
    optimum = {}
    for objective, ref in references.items():
        same = [c for c in curves if c.objective == objective.label]
        optimum[objective] = min([ref.value, *(min(c.values) for c in same if c.values)])
        for curve in same:
            curve.optimum = optimum[objective]
    return ProblemResult(
        problem, optimum[problem.objective], references[problem.objective].seconds, curves
    )


def run_convergence(
    quick: bool = False,
    threads: int = 1,
    budget: float | None = None,
    scale: float = 1.0,
    only: str | None = None,
    solver_names: Sequence[str] | None = None,
    random_state: int = 0,
    log: Callable[[str], None] | None = None,
) -> ConvergenceResult:
    """Suboptimality curves of every solver on every problem.

    Parameters
    ----------
    quick : bool, default=False
        Small problems (:func:`problems`) and a one-second budget.
    threads : int, default=1
        Threads every solver may use; above 1 only :attr:`Solver.threaded` ones run.
    budget : float, optional
        Seconds of fit time per curve (default :data:`BUDGET`).
    scale : float, default=1.0
        Multiplies the problems' rows.
    only : str, optional
        Run only the problems whose name contains this text.
    solver_names : sequence of str, optional
        Run only these solvers (names as in :func:`solvers`).
    random_state : int, default=0
        Seed of the data.
    log : callable (str) -> None, optional
        Progress lines (``print``); silent when None.

    Returns
    -------
    ConvergenceResult
    """
    log = log or (lambda line: None)
    budget = BUDGET["quick" if quick else "full"] if budget is None else float(budget)
    chosen = solvers()
    if solver_names is not None:
        unknown = set(solver_names) - {s.name for s in chosen}
        if unknown:
            raise ValueError(
                f"unknown solvers {sorted(unknown)}; known: {[s.name for s in chosen]}"
            )
        chosen = [s for s in chosen if s.name in solver_names]
    start = time.perf_counter()
    results, data_cache = [], {}
    for problem in problems(quick, scale):
        if only is not None and only not in problem.name:
            continue
        log(f"{problem.name} ({problem.spec.shape_label}):")
        results.append(
            _problem_curves(problem, chosen, threads, budget, random_state, data_cache, log)
        )
    return ConvergenceResult(results, threads, budget, quick, time.perf_counter() - start)


# ------------------------------------------------------------------- reports
def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _short(note: str, width: int = 70) -> str:
    """A note cut to fit a table row (the JSON keeps it whole)."""
    return note if len(note) <= width else note[: width - 3] + "..."


def format_convergence(result: ConvergenceResult) -> str:
    """One table per problem: seconds to each of :data:`GAPS`, and where it ended.

    A ``-`` is a gap not reached within the budget.  Solvers marked ``*``
    minimise their own objective (named under the table); their gaps are on it.

    Parameters
    ----------
    result : ConvergenceResult

    Returns
    -------
    str
    """
    lines = []
    for problem in result.problems:
        spec = problem.problem.spec
        kind = "dense" if spec.is_dense else f"CSR, {spec.nnz_per_row} stored a row"
        lines += [
            f"{problem.problem.name}: {spec.shape_label} ({kind}), alpha={ALPHA:g}, "
            f"f* = {problem.optimum:.10g} (L-BFGS-B reference {problem.reference_seconds:.1f} s), "
            f"{result.threads} thread{'s' if result.threads > 1 else ''}",
            "",
        ]
        rows, own = [], []
        for curve in problem.curves:
            name = curve.solver + (" *" if curve.own_objective else "")
            if curve.own_objective:
                own.append(f"* {curve.solver}: its own objective, {curve.objective}")
            if not curve.values:
                rows.append((name, "-", "-", "-", "-", "-", _short(curve.note) or "no point"))
                continue
            rows.append(
                (
                    name,
                    *(_seconds(curve.time_to(gap)) for gap in GAPS),
                    f"{curve.gaps[-1]:.1e}",
                    f"{curve.seconds[-1]:.3g}",
                    _short(curve.note),
                )
            )
        headers = ("solver", *(f"s to {gap:g}" for gap in GAPS), "last gap", "at s", "note")
        lines += [text_table(headers, rows, (False, True, True, True, True, True, False))]
        lines += [*own, ""]
    lines.append(
        f"budget {result.budget:g} s of fit time a curve, stop at gap {STOP_GAP:g}; "
        f"total wall time {result.seconds:.1f} s"
    )
    return "\n".join(lines)


def convergence_figure(problem: ProblemResult):
    """Relative gap against fit seconds, log-log, one line a solver.

    fastloss's solvers are solid lines, the others dashed; crosses mark a
    solver measured on its own objective; dotted lines mark :data:`GAPS`.
    Gaps below ``STOP_GAP / 10`` (the best value's own gap is 0) are drawn there.

    Parameters
    ----------
    problem : ProblemResult

    Returns
    -------
    matplotlib.figure.Figure
        A new figure outside pyplot; save it with ``savefig``.
    """
    from ..plot._matplotlib import import_figure

    Figure = import_figure("The convergence chart")
    from matplotlib import colormaps  # matplotlib is there: import_figure said so

    fig = Figure(figsize=(10, 5.5))
    ax = fig.add_subplot()
    floor = STOP_GAP / 10
    # tab20's dark shades, then its light ones: a colour for each of up to 20 solvers
    palette = colormaps["tab20"].colors
    colors = palette[::2] + palette[1::2]
    for k, curve in enumerate(problem.curves):
        if not curve.values:
            continue
        gaps = np.maximum(curve.gaps, floor)  # f* is the best value: its own gap is 0
        ax.plot(
            curve.seconds,
            gaps,
            color=colors[k % len(colors)],
            marker="x" if curve.own_objective else ".",
            # fastloss solid, the others dashed
            linestyle="-" if curve.solver.startswith("fastloss") else "--",
            label=curve.solver + (" (own objective)" if curve.own_objective else ""),
        )
    for gap in GAPS:
        ax.axhline(gap, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor / 2)
    ax.set_xlabel("fit time (s)")
    ax.set_ylabel("relative gap (f - f*) / f*")
    spec = problem.problem.spec
    ax.set_title(f"{problem.problem.name}, {spec.shape_label}, alpha={ALPHA:g}")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def write_convergence_pngs(result: ConvergenceResult, prefix: str | Path) -> list[Path]:
    """One PNG per problem, ``<prefix>_<problem>.png``.

    Parameters
    ----------
    result : ConvergenceResult
    prefix : str or Path

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ImportError
        When matplotlib is missing (the message says how to install it).
    """
    paths = []
    for problem in result.problems:
        path = Path(f"{prefix}_{problem.problem.file_suffix}.png")
        convergence_figure(problem).savefig(path, dpi=110)
        paths.append(path)
    return paths
