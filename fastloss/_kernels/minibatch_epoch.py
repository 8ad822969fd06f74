"""One epoch of mini-batch training with any optimizer, over dense or CSR rows.

Both kernels take, besides the data, targets and weights (as in ``sgd_epoch``):

order : uint32 or int64 (n_steps,)
    Rows to visit, in order; consecutive runs of ``hyper[O_BATCH]`` rows form
    one mini-batch (the last one may be shorter).
loss_code, loss_params : int, float64 (n_params,)
    The loss, reached only through ``loss_derivative`` / ``loss_value`` of
    ``fastloss._kernels._loss_switch`` (the cross-team contract).
hyper : float64 (O_SIZE,)
    Schedule, penalty, flags and optimizer hyperparameters (``_optim_rules``).
coef : X.dtype (n_features,)
    Weights, updated in place.
opt_state : float64 (N_SLOTS, n_features + 1)
    Optimizer state, updated in place (``_optim_rules``).
state : float64 (S_SIZE,)
    Intercept, sample counter ``t`` (samples seen + 1) and clip count, updated
    in place.

Each update averages ``sample_weight * dloss * x`` over the batch rows, all
evaluated with the weights before the update.  The dense kernel updates every
weight at every step; the CSR kernel touches only the weights of the batch's
non-zero features and brings a weight up to date when a batch next touches it
(and for all weights at the end of the epoch), in closed form
(``_optim_rules.catch_up``), so an epoch costs O(nnz) plus O(n_features).
Both return the weighted sum of the per-sample losses before each update, or 0
unless ``hyper[H_COMPUTE_LOSS]`` is set.

The two are different algorithms (eager against lazy updates), not one step
over two row layouts: what they have in common is the per-row gradient
accumulation (score, loss, clipping, ``grad += d * x``), a dozen lines, which
is written twice rather than passed through helpers overloaded on the row type
(issue 17 measured that route on ``sgd_epoch`` and ``multi_epoch``: slower on
several workloads, see their docstrings).
tests/test_kernel_pairs.py runs both on the same rows, for every optimizer rule
and penalty, and fails when they drift apart.
"""

import math

import numpy as np

from .._config import jit
from ._layout import (
    ADAM,
    H_ALPHA,
    H_COMPUTE_LOSS,
    H_FIT_INTERCEPT,
    H_L1,
    H_L2,
    O_BATCH,
    O_CODE,
    O_EPS,
    O_P0,
    O_P1,
    S_INTERCEPT,
    S_N_CLIPS,
    S_T,
    SLOT_A,
    SLOT_B,
    SLOT_C,
    SLOT_CUM_ETA,
    SLOT_LAST,
)
from ._loss_switch import loss_derivative, loss_value
from ._optim_rules import (
    bias_corrections,
    catch_up,
    coordinate_step,
    has_decay,
    has_movement,
    hyper_tuple,
    intercept_step,
    log_decays,
    step_all,
    step_eta,
)
from ._weights import clip_dloss, overflow_marker
from .sgd_epoch import row_dot

__all__ = ["minibatch_epoch_dense", "minibatch_epoch_csr"]


@jit()
def minibatch_epoch_dense(
    X, y, sample_weight, order, loss_code, loss_params, hyper, coef, opt_state, state
):
    """One epoch over the rows ``X[order]`` in mini-batches; see the module docstring."""
    code = int(hyper[O_CODE])
    batch = int(hyper[O_BATCH])
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    weighted = sample_weight.shape[0] != 0  # else every weight is 1
    n_features = X.shape[1]
    intercept, t_samples = state[S_INTERCEPT], state[S_T]
    t, cum_eta = opt_state[SLOT_LAST, n_features], opt_state[SLOT_CUM_ETA, n_features]
    grad = np.zeros(n_features)
    weights = coef[None, :]  # 2-D view for row_dot (reshape: numba.np.arrayobj import at load)
    logs = log_decays(hyper)
    loss_sum = 0.0
    n_clips = 0

    n_steps = order.shape[0]
    for start in range(0, n_steps, batch):
        end = min(start + batch, n_steps)
        for j in range(n_features):
            grad[j] = 0.0
        grad_intercept = 0.0
        for k in range(start, end):
            i = order[k]
            p = row_dot(weights, 0, X, i) + intercept
            sw = sample_weight[i] if weighted else 1.0
            if compute_loss:
                loss_sum += sw * loss_value(loss_code, y[i], p, loss_params)
            loss_sum += overflow_marker(p)
            dloss, clipped = clip_dloss(loss_derivative(loss_code, y[i], p, loss_params))
            n_clips += clipped
            d = sw * dloss
            if d != 0.0:
                for j in range(n_features):
                    grad[j] += d * X[i, j]
            grad_intercept += d
        n_rows = end - start
        t += 1.0
        eta = step_eta(hyper, t)
        cum_eta += eta
        bc1, bc2 = bias_corrections(code, hyper, logs, t)
        step_all(code, hyper, opt_state, coef, grad, 1.0 / n_rows, eta, bc1, bc2, l1, l2)
        if fit_intercept:
            intercept = intercept_step(
                code, hyper, opt_state, intercept, grad_intercept / n_rows, eta, bc1, bc2
            )
        t_samples += n_rows

    opt_state[SLOT_LAST, :] = t
    opt_state[SLOT_CUM_ETA, :] = cum_eta
    state[S_INTERCEPT], state[S_T] = intercept, t_samples
    state[S_N_CLIPS] += n_clips
    return loss_sum


@jit()
def _catch_up_weight(code, hyper, logs, w, a, b, c, last, last_cum_eta, t, cum_eta, l1, l2):
    """Weight ``w`` and its state slots ``a``, ``b`` (``SLOT_A``, ``SLOT_B``;
    ``c`` is ``SLOT_C``) brought from update ``last``, whose step sizes sum to
    ``last_cum_eta``, up to update ``t`` (``cum_eta``) in closed form
    (``_optim_rules.catch_up``).  ``logs`` is ``_optim_rules.log_decays(hyper)``,
    computed once an epoch.  Returns ``(w, a, b)``.

    Scalars only, ``hyper`` as ``_optim_rules.hyper_tuple``: this runs for
    every weight a batch touches, where array arguments cost atomic reference
    counts that Numba could not prune (about half of the epoch)."""
    skipped = t - last  # > 0: the callers skip weights already up to date
    if not (has_movement(code) or has_decay(code) or l1 != 0.0 or l2 != 0.0):
        return w, a, b
    eta_first = step_eta(hyper, last + 1.0) if has_movement(code) else 0.0
    eta_mean = (cum_eta - last_cum_eta) / skipped
    p0, p1, eps = hyper[O_P0], hyper[O_P1], hyper[O_EPS]
    # the decays' k-th powers, for the rules that have them (p1: the Adam family)
    p0_k = math.exp(skipped * logs[0]) if has_decay(code) else 0.0
    p1_k = math.exp(skipped * logs[1]) if code >= ADAM else 0.0
    bc1_first, bc2_first = bias_corrections(code, hyper, logs, last + 1.0)
    bc2_mid = bc2_first
    if bc2_first < 1.0:  # beta2^(middle step) = beta2^(last + 1) * beta2^((k - 1) / 2)
        bc2_mid = 1.0 - (1.0 - bc2_first) * math.sqrt(p1_k / p1)
    return catch_up(
        code, p0, p1, eps, a, b, c, w, skipped, p0_k, p1_k, eta_first, eta_mean, bc1_first,
        bc2_first, bc2_mid, l1, l2,
    )  # fmt: skip


@jit()
def minibatch_epoch_csr(
    data,
    indices,
    indptr,
    y,
    sample_weight,
    order,
    loss_code,
    loss_params,
    hyper,
    coef,
    opt_state,
    state,
):
    """One epoch over CSR rows ``order`` in mini-batches, lazily; see the module docstring."""
    code = int(hyper[O_CODE])
    batch = int(hyper[O_BATCH])
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    fit_intercept = hyper[H_FIT_INTERCEPT] != 0.0
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    weighted = sample_weight.shape[0] != 0  # else every weight is 1
    n_features = coef.shape[0]
    hp = hyper_tuple(hyper)  # for the helpers called once a touched weight
    logs = log_decays(hyper)
    intercept, t_samples = state[S_INTERCEPT], state[S_T]
    t, cum_eta = opt_state[SLOT_LAST, n_features], opt_state[SLOT_CUM_ETA, n_features]
    grad = np.zeros(n_features)
    stamp = np.full(n_features, -1.0)  # update number whose batch listed the weight
    touched = np.empty(n_features, np.int64)
    loss_sum = 0.0
    n_clips = 0

    n_steps = order.shape[0]
    for start in range(0, n_steps, batch):
        end = min(start + batch, n_steps)
        t += 1.0
        eta = step_eta(hp, t)
        bc1, bc2 = bias_corrections(code, hp, logs, t)
        # bring the batch's weights up to update t - 1 and list them
        n_touched = 0
        for k in range(start, end):
            i = order[k]
            for kk in range(indptr[i], indptr[i + 1]):
                j = indices[kk]
                if stamp[j] != t:
                    stamp[j] = t
                    touched[n_touched] = j
                    n_touched += 1
                    grad[j] = 0.0
                    # bring it up to update t - 1; written out (twice in this kernel):
                    # an inlined helper taking the arrays kept reference counts here
                    if opt_state[SLOT_LAST, j] < t - 1.0:
                        coef[j], opt_state[SLOT_A, j], opt_state[SLOT_B, j] = _catch_up_weight(
                            code, hp, logs, coef[j], opt_state[SLOT_A, j], opt_state[SLOT_B, j],
                            opt_state[SLOT_C, j], opt_state[SLOT_LAST, j],
                            opt_state[SLOT_CUM_ETA, j], t - 1.0, cum_eta, l1, l2,
                        )  # fmt: skip
                        opt_state[SLOT_LAST, j] = t - 1.0
                        opt_state[SLOT_CUM_ETA, j] = cum_eta
        grad_intercept = 0.0
        for k in range(start, end):
            i = order[k]
            p = intercept
            for kk in range(indptr[i], indptr[i + 1]):
                p += coef[indices[kk]] * data[kk]
            sw = sample_weight[i] if weighted else 1.0
            if compute_loss:
                loss_sum += sw * loss_value(loss_code, y[i], p, loss_params)
            loss_sum += overflow_marker(p)
            dloss, clipped = clip_dloss(loss_derivative(loss_code, y[i], p, loss_params))
            n_clips += clipped
            d = sw * dloss
            if d != 0.0:
                for kk in range(indptr[i], indptr[i + 1]):
                    grad[indices[kk]] += d * data[kk]
            grad_intercept += d
        n_rows = end - start
        cum_eta += eta
        for q in range(n_touched):
            j = touched[q]
            coef[j] = coordinate_step(
                code, hp, opt_state, j, coef[j], grad[j] / n_rows, eta, bc1, bc2, l1, l2
            )
            opt_state[SLOT_LAST, j] = t
            opt_state[SLOT_CUM_ETA, j] = cum_eta
        if fit_intercept:
            intercept = intercept_step(
                code, hp, opt_state, intercept, grad_intercept / n_rows, eta, bc1, bc2
            )
        t_samples += n_rows

    # every weight up to date, so that coef is exact between epochs
    for j in range(n_features):
        if opt_state[SLOT_LAST, j] < t:
            coef[j], opt_state[SLOT_A, j], opt_state[SLOT_B, j] = _catch_up_weight(
                code, hp, logs, coef[j], opt_state[SLOT_A, j], opt_state[SLOT_B, j],
                opt_state[SLOT_C, j], opt_state[SLOT_LAST, j], opt_state[SLOT_CUM_ETA, j],
                t, cum_eta, l1, l2,
            )  # fmt: skip
            opt_state[SLOT_LAST, j] = t
            opt_state[SLOT_CUM_ETA, j] = cum_eta
    opt_state[SLOT_LAST, n_features] = t
    opt_state[SLOT_CUM_ETA, n_features] = cum_eta
    state[S_INTERCEPT], state[S_T] = intercept, t_samples
    state[S_N_CLIPS] += n_clips
    return loss_sum
