"""The one training loop: epochs of an epoch runner, stopping, divergence.

An estimator reduces its task to epoch runners (:mod:`._runners`: one linear
model, or a block of classes trained from one read of each row) and hands each
to :func:`train`.  The loop over epochs is Python (one compiled epoch a call)
so that verbose output, early stopping, callbacks and interruption happen
between epochs; the loop over samples is compiled.  How the pieces fit:
docs/developer/architecture.rst.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .._kernels import _layout as L
from .._kernels.shuffle import block_order, shuffle_in_place
from ..losses import Loss
from ..optim._resolve import OptimConfig
from ._state import TrainingRecord, all_finite


@dataclass
class Settings:
    """Everything about how to train, resolved from an estimator's parameters."""

    loss: Loss
    schedule: str  # "constant", "optimal", "invscaling" or "adaptive"
    eta0: float
    power_t: float
    alpha: float
    l1_ratio: float  # share of alpha that is L1 (0 for "l2", 1 for "l1")
    penalized: bool
    average: int  # first averaged step, 0 = no averaging
    fit_intercept: bool
    max_iter: int
    tol: float | None
    n_iter_no_change: int
    shuffle: bool | str
    verbose: int
    optim: OptimConfig | None = None  # None: scikit-learn's plain SGD kernel
    loss_params: np.ndarray = field(init=False)

    def __post_init__(self):
        self.loss_params = np.ascontiguousarray(self.loss._kernel_params(), np.float64)

    @property
    def compute_loss(self) -> bool:
        """Whether the kernels sum the training loss: on every fit, so that
        ``loss_curve_`` is recorded and the divergence checks see every epoch's
        objective, ``tol=None`` included (issue 21; its cost an epoch is
        measured in ``docs/user_guide/performance.rst``)."""
        return True

    @property
    def step_chosen(self) -> bool:
        """Whether the user chose the step size: every schedule but plain SGD's
        ``"optimal"``, whose first steps ``1 / (alpha t0)`` overshoot by design
        (its clipped derivatives are tolerated, its first epochs may be far
        worse than the start, and it recovers)."""
        return self.schedule != "optimal" or self.optim is not None

    def hyper(self, eta0):
        h = np.zeros(L.H_SIZE)
        h[L.H_SCHEDULE] = {"optimal": L.OPTIMAL, "invscaling": L.INVSCALING}.get(
            self.schedule, L.CONSTANT
        )
        h[L.H_ETA0] = eta0
        h[L.H_POWER_T] = self.power_t
        h[L.H_ALPHA] = self.alpha
        if self.schedule == "optimal":
            h[L.H_OPTIMAL_T0] = self._optimal_t0()
        if self.penalized:
            h[L.H_L2] = 1.0 - self.l1_ratio
            h[L.H_L1] = self.l1_ratio
        h[L.H_AVERAGE_START] = self.average
        h[L.H_FIT_INTERCEPT] = float(self.fit_intercept)
        h[L.H_COMPUTE_LOSS] = float(self.compute_loss)
        if self.optim is not None:
            return self.optim.extend_hyper(h, eta0, self.alpha)
        return h

    def _optimal_t0(self):
        # Bottou's heuristic as scikit-learn computes it: the first step is
        # typw / max(1, dloss(y=1, p=-typw)) for a typical weight typw =
        # alpha ** -0.25.  That derivative is negative for every loss that
        # decreases towards its target (all of ours), so the first step is typw
        # itself; evaluating it would load a compiled kernel for nothing.
        typw = np.sqrt(1.0 / np.sqrt(self.alpha))
        return 1.0 / (typw * self.alpha)

    def penalty(self, coef):
        if not self.penalized:
            return 0.0
        coef = coef.astype(np.float64, copy=False)
        # not coef @ coef: a BLAS dot of many features wakes OpenBLAS's threads,
        # which then spin on the cores the next epoch's threads need
        l2 = (1.0 - self.l1_ratio) * 0.5 * float(np.square(coef).sum())
        if self.l1_ratio == 0.0:  # "l2": no L1 term to add (a sum saved every epoch)
            return self.alpha * l2
        return self.alpha * (l2 + self.l1_ratio * float(np.abs(coef).sum()))


#: Rows per block of ``shuffle="block"``: 64 rows of 100 float64 features are
#: 50 KiB, large enough to stream, small enough to mix well.
SHUFFLE_BLOCK = 64


_SEED_HIGH = np.iinfo(np.int64).max  # bound of the shuffles' seeds


def epoch_order(rng, train_idx, shuffle):
    """Rows of one epoch, in visiting order.

    ``shuffle=True`` permutes all rows (scikit-learn's behaviour); ``"block"``
    permutes blocks of ``SHUFFLE_BLOCK`` consecutive rows and keeps each block in
    order, so memory is read in long sequential runs; ``False`` keeps the order.
    Both shuffles are compiled (``_kernels.shuffle``) and seeded from ``rng``.
    """
    if not shuffle:
        return train_idx
    seed = rng.integers(_SEED_HIGH)
    order = np.empty_like(train_idx)
    if shuffle == "block":
        block_order(train_idx, SHUFFLE_BLOCK, seed, order)
    else:
        order[:] = train_idx
        shuffle_in_place(order, seed)
    return order


class EpochOrders:
    """The epochs' row orders (:func:`epoch_order`), one a :meth:`next` call.

    :meth:`prepare` computes the next epoch's order ahead of time.  A parallel
    epoch calls it when its first thread is done, so that the shuffle (about
    3 ms at 500,000 rows) runs on that idle core while the other threads
    finish, instead of between epochs while every thread waits.  The orders
    come from the same draws of ``rng`` either way.
    """

    def __init__(self, rng, train_idx, shuffle):
        self.rng, self.train_idx, self.shuffle = rng, train_idx, shuffle
        self._prepared = None

    def prepare(self):
        if self._prepared is None:
            self._prepared = epoch_order(self.rng, self.train_idx, self.shuffle)

    def next(self):
        self.prepare()
        order, self._prepared = self._prepared, None
        return order


class StoppingRule:
    """scikit-learn's stopping criterion for one model (or one one-vs-rest class).

    Each epoch's training objective (or, with early stopping, validation score)
    either improves on the best so far by ``tol`` or counts towards
    ``n_iter_no_change``; at that count the ``"adaptive"`` schedule divides its
    step size by 5 (until it falls below 1e-6) and every other schedule stops.
    Without ``tol`` every epoch counts as an improvement.
    """

    def __init__(self, settings: Settings, maximize: bool):
        self.settings = settings
        self.maximize = maximize  # a validation score (else a training objective)
        self.eta0 = settings.eta0
        self.best = -np.inf if maximize else np.inf
        self.no_improvement = 0

    def update(self, value: float) -> str:
        """Record one epoch's value; ``"go on"``, ``"decay"`` (``eta0`` was just
        divided by 5) or ``"stop"``."""
        tol = self.settings.tol
        if self.maximize:
            improved = tol is None or value >= self.best + tol
            self.best = max(self.best, value)
        else:
            improved = tol is None or value <= self.best - tol
            self.best = min(self.best, value)
        self.no_improvement = 0 if improved else self.no_improvement + 1
        if self.no_improvement < self.settings.n_iter_no_change:
            return "go on"
        if self.settings.schedule == "adaptive" and self.eta0 > 1e-6:
            self.eta0 /= 5.0
            self.no_improvement = 0
            return "decay"
        return "stop"


#: An epoch whose objective exceeds its fit's first epoch's by this factor
#: has exploded, and so has a regression whose last epoch exceeds the zero
#: model's.  Over 1,500 fits that converge (every built-in optimizer and
#: schedule, step sizes 0.001-0.1, raw and standardised data) no epoch's
#: objective exceeded even the smallest earlier one by more than 5.4 times;
#: diverging momentum and Adam fits grew 1e4-1e9 times within a few epochs
#: (issue 21).  Not the smallest earlier objective itself: one that falls near
#: zero (extreme class weights) makes a harmless bump look like a blow-up.
EXPLOSION_FACTOR = 1e3


class DivergenceCheck:
    """The divergence error of one fit, checked after every epoch.

    An epoch diverged when

    - a loss derivative was clipped under a step size the user chose (not the
      ``"optimal"`` schedule, whose first steps clip by design);
    - a score is NaN, or a weight, intercept, the loss or the objective is
      not finite (the kernels turn a NaN score into a NaN loss sum:
      ``_kernels._weights.overflow_marker``; the objective adds the penalty
      of the weights, which overflows before they do);
    - under a step size the user chose (``Settings.step_chosen``), the
      objective of a criterion exceeded ``EXPLOSION_FACTOR`` times that of its
      first epoch (a trajectory that grows by orders of magnitude and would
      otherwise stop as "converged" or run to ``max_iter`` and be published).

    And a fit diverged when, under a step size the user chose, its last
    epoch's objective exceeds ``EXPLOSION_FACTOR`` times that of its starting
    model, where given (``start_objectives``: a regression from zero weights,
    :func:`zero_model_objective`): a model far worse than predicting its
    intercept (Adam with ``eta0=1e6`` blows up within its first epoch and
    then wanders at that height).  Only the last epoch: the first ones may
    overshoot and recover (the ``"adaptive"`` schedule on unscaled rows).

    Plain SGD's ``"optimal"`` schedule overshoots by design (squared hinge:
    objectives of 1e26 in early epochs of fits as accurate as
    scikit-learn's), so only non-finite values stop it.  Dense and sparse
    rows, and every kernel, reach the same checks.
    """

    def __init__(self, settings: Settings, n_criteria: int, start_objectives=None):
        self.settings = settings
        self.first = [None] * n_criteria
        self.last = [None] * n_criteria
        self.start = [None] * n_criteria if start_objectives is None else list(start_objectives)

    def after_epoch(self, epoch: int, n_clips: float, finite: bool) -> None:
        """The checks on the runner's clip count and finiteness."""
        if n_clips and self.settings.schedule != "optimal":
            raise _diverged(epoch, f"a loss derivative exceeded {L.MAX_DLOSS:g}", self.settings)
        if not finite:
            raise _diverged(
                epoch, "a score, coefficient, intercept or the loss is not finite", self.settings
            )

    def objective(self, epoch: int, c: int, objective: float) -> None:
        """The checks on criterion ``c``'s objective this epoch."""
        if not np.isfinite(objective):
            raise _diverged(epoch, "the objective (loss plus penalty) is not finite", self.settings)
        self.last[c] = (epoch, objective)
        first = self.first[c]
        if first is None:
            self.first[c] = objective
        elif self.settings.step_chosen and objective > EXPLOSION_FACTOR * first > 0.0:
            raise _diverged(
                epoch,
                f"the objective grew to {objective:.3g}, more than {EXPLOSION_FACTOR:g} "
                f"times the first epoch's {first:.3g}",
                self.settings,
            )

    def after_training(self) -> None:
        """The check of each criterion's last epoch against its starting model."""
        if not self.settings.step_chosen:
            return
        for start, last in zip(self.start, self.last, strict=True):
            if start is None or last is None:
                continue
            epoch, objective = last
            if objective > EXPLOSION_FACTOR * start > 0.0:
                raise _diverged(
                    epoch,
                    f"the objective ended at {objective:.3g}, more than "
                    f"{EXPLOSION_FACTOR:g} times the zero model's {start:.3g}",
                    self.settings,
                )


def zero_model_objective(loss, y, sample_weight, intercept: float) -> float:
    """Objective of the model with zero weights (its penalty is zero) on targets
    ``y``: a reference a regression's divergence is measured from.

    For a regression loss, whose scale is set by the targets, a fit that ends
    ``EXPLOSION_FACTOR`` times worse than predicting the starting intercept
    diverged (an R^2 near -1000 for squared error), even when the blow-up
    happened within the first epoch (Adam with ``eta0=1e6``).  A margin
    loss's scale is set by the data (unscaled rows legitimately give first
    epochs 1e6 times the zero model's hinge loss under the ``"optimal"``
    schedule), so classification gets no such reference, nor does plain SGD's
    ``"optimal"`` schedule (``Settings.step_chosen``).
    """
    raw = np.full(y.shape[0], float(intercept))
    losses = loss.loss(y, raw)
    losses *= sample_weight  # not np.dot: a BLAS call wakes threads that then spin
    return float(losses.sum()) / y.shape[0]


def check_start_can_move(loss, y, intercept: float) -> None:
    """Raise when, at the zero-weight start, every sample charges a loss but
    none has a derivative: a loss that can stall (``Loss.can_stall``: Tukey
    with every residual beyond ``c``, Ramp with every margin below ``s``) would
    leave SGD with nothing to learn from and publish the start as the model.
    """
    raw = np.full(y.shape[0], float(intercept))
    if loss.gradient(y, raw).any() or not loss.loss(y, raw).any():
        return
    raise ValueError(
        f"{loss!r} has a zero derivative at every training sample from the starting "
        "model (all of them look like outliers to it), so training could not move. "
        "Centre and scale the targets (e.g. TransformedTargetRegressor with "
        "StandardScaler), widen the loss's cut-off, or start near the data "
        "(intercept_init=np.median(y), or coef_init / intercept_init from a Huber fit)."
    )


def _diverged(epoch, what, settings):
    return ValueError(
        f"Floating-point under-/overflow occurred at epoch #{epoch} ({what}): "
        "training diverged. Scaling input data with StandardScaler or "
        f"MinMaxScaler might help; otherwise {_step_remedy(settings)}."
    )


def _step_remedy(settings) -> str:
    """What lowers the step of the rule that diverged: plain SGD's advice
    (scikit-learn's) does not apply to an optimizer's own step."""
    optimizer = None if settings.optim is None else settings.optim.optimizer
    if optimizer is None or (optimizer.is_plain_sgd and optimizer.lr is None):
        return "lower eta0 or use learning_rate='optimal' or 'adaptive'"
    rule = type(optimizer).__name__
    if optimizer.is_variance_reduced:
        return f"pass a smaller constant step: optimizer={rule}(step=...)"
    return f"lower the step: optimizer={rule}(lr=...), or eta0 when lr is None"


def train(runner, settings, seed, validation_scores=None, callbacks=None, criteria=None,
          start_objectives=None):  # fmt: skip
    """Train ``runner``'s models for up to ``settings.max_iter`` epochs.

    Parameters
    ----------
    runner : epoch runner (:mod:`._runners`)
        Trained in place.  On an exception it is left half-trained; the state
        it started from is untouched.
    settings : Settings
    seed : int
        Seed of the shuffling, shared by all of ``runner``'s models.
    validation_scores : list of callable (coef, intercept) -> float, optional
        One a criterion: with them, a criterion stops when its validation
        score stops improving by ``tol``; without, when its training objective
        stops decreasing by ``tol``.
    callbacks : list of EpochCallbacks or None, optional
        One a criterion: scikit-learn callbacks to run around each of its
        epochs (:mod:`._callbacks`); a callback asking to stop stops it.
    criteria : list of list of int, optional
        Models that share a stopping criterion, e.g. ``[[0], [1], [2]]`` for
        one-vs-rest classes that each stop on their own (as trained alone),
        ``[[0, 1, 2]]`` for a joint multiclass loss; a stopped criterion's models
        are frozen while the others go on.  Default: one for all models.
        Validation scores and callbacks of a criterion of one model get its
        ``(coef, intercept)``; of several, the stacked (n_models, n_features)
        and (n_models,) arrays.
    start_objectives : list of float, optional
        One a criterion: the objective of its starting model, which its last
        epoch must not exceed by far (:class:`DivergenceCheck`).

    Returns
    -------
    TrainingRecord
    """
    if criteria is None:
        criteria = [list(range(runner.n_models))]
    if runner.n_threads > 1:
        with epoch_threads(runner.n_threads) as pool:
            return _train(
                runner, settings, seed, validation_scores, callbacks, criteria, pool,
                start_objectives,
            )  # fmt: skip
    return _train(
        runner, settings, seed, validation_scores, callbacks, criteria, None, start_objectives
    )


@contextmanager
def epoch_threads(n_threads: int) -> Iterator[ThreadPoolExecutor]:
    """A pool of ``n_threads`` threads for the epochs, BLAS held to one thread
    meanwhile: after a BLAS call between epochs (a validation score on dense
    rows), OpenBLAS's idle threads spin on the cores the epoch threads need."""
    with ThreadPoolExecutor(n_threads) as pool, threadpool_limits(limits=1, user_api="blas"):
        yield pool


def _criterion_model(runner, models):
    """What a criterion's score and callbacks see: one model's ``(coef,
    intercept)``, or several models' stacked."""
    weights = [runner.model(m) for m in models]
    if len(weights) == 1:
        return weights[0], weights
    return (np.array([w[0] for w in weights]), np.array([w[1] for w in weights])), weights


def _train(runner, settings, seed, validation_scores, callbacks, criteria, pool, start_objectives):
    orders = EpochOrders(np.random.default_rng(seed), runner.rows, settings.shuffle)
    rules = [StoppingRule(settings, maximize=validation_scores is not None) for _ in criteria]
    divergence = DivergenceCheck(settings, len(criteria), start_objectives)
    active = [True] * len(criteria)
    curves = [[] for _ in criteria]
    scores = [[] for _ in criteria]
    n_iter = np.zeros(runner.n_models, dtype=np.int64)
    n_train = runner.rows.shape[0]
    single = runner.n_models == 1
    converged = getattr(runner, "converged", None)  # optional: the runner's own stopping rule
    # optional: the objective of a criterion whose models differ in rows and
    # penalty (a search grid: _grid_runner), from its loss sums and weights
    objective_of = getattr(runner, "objective", None)
    t_start = time.perf_counter()
    for epoch in range(1, settings.max_iter + 1):
        if settings.verbose:
            print(f"-- Epoch {epoch}")
        training = [c for c, on in enumerate(active) if on]
        if callbacks is not None:
            for c in training:
                if callbacks[c] is not None:
                    callbacks[c].begin()
        order = orders.next()
        next_order = orders.prepare if epoch < settings.max_iter else None
        loss_sums = runner.run(order, pool, next_order)
        for c in training:
            n_iter[criteria[c]] = epoch
        finite = all_finite(loss_sums) and runner.finite()
        divergence.after_epoch(epoch, runner.n_clips(), finite)

        for c in training:
            (coef, intercept), weights = _criterion_model(runner, criteria[c])
            loss = sum(loss_sums[m] for m in criteria[c]) if settings.compute_loss else np.nan
            with np.errstate(over="ignore"):  # an overflowed penalty is the check's to report
                if objective_of is not None:
                    objective = objective_of(criteria[c], loss_sums, weights)
                else:
                    objective = loss / n_train + sum(settings.penalty(w[0]) for w in weights)
            divergence.objective(epoch, c, objective)
            curves[c].append(objective)
            report = f"Avg. loss: {loss / n_train:f}, Objective: {objective:f}"
            if validation_scores is not None:
                score = validation_scores[c](coef, intercept)
                scores[c].append(score)
                report += f", Validation score: {score:f}"
            if converged is not None and validation_scores is None and settings.tol is not None:
                # a solver that certifies its optimum (SAGA, SVRG: _vr_runner)
                action = "stop" if converged(criteria[c]) else "go on"
            else:
                action = rules[c].update(score if validation_scores is not None else objective)
            if single and settings.verbose:
                print(
                    f"Norm: {np.linalg.norm(coef):.2f}, NNZs: {np.count_nonzero(coef)}, "
                    f"Bias: {intercept:.6f}, T: {epoch * n_train}, {report}"
                )
                print(f"Total training time: {time.perf_counter() - t_start:.2f} seconds.")
            if callbacks is not None and callbacks[c] is not None:
                if callbacks[c].end(coef, intercept):
                    action = "stop"
            for m in criteria[c]:
                if action == "decay":
                    runner.set_eta0(m, rules[c].eta0)
                elif action == "stop":
                    runner.stop(m)
            active[c] = action != "stop"
        if not single and settings.verbose:
            still = sum(len(criteria[c]) for c, on in enumerate(active) if on)
            print(
                f"Classes still training: {still}, "
                f"T: {epoch * n_train}, Avg. loss: {loss_sums.sum() / n_train:f}"
            )
            print(f"Total training time: {time.perf_counter() - t_start:.2f} seconds.")
        if not any(active):
            if settings.verbose:
                print(
                    f"Convergence after {epoch} epochs took "
                    f"{time.perf_counter() - t_start:.2f} seconds"
                )
            break

    divergence.after_training()
    record = TrainingRecord(runner.state(), n_iter=n_iter.tolist())
    for m in range(runner.n_models):
        coef, intercept = runner.model(m)
        record.coef.append(coef)
        record.intercept.append(intercept)
    for c, models in enumerate(criteria):
        record.loss_curves.extend([curves[c]] * len(models))
        record.validation_scores.extend([scores[c]] * len(models))
    return record
