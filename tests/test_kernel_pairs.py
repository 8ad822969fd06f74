"""Every dense kernel and its CSR twin train alike on the same rows.

The epoch kernels come in pairs, ``*_dense(X, ...)`` and ``*_csr(data,
indices, indptr, ...)``, and the estimators promise that dense and sparse input
train the same model.  Here each pair runs one epoch on the same data (the CSR
matrix built from the dense array, zeros included as they fall) from the same
state, and every array the kernels write is compared.

Each pair's two bodies are written side by side and must be edited together
(the kernels' module docstrings say why one body for both was not kept): this
test is the guard.  Their per-sample steps are the same arithmetic; what
differs is how a row's values are summed and added.  The dense dot
product (``sgd_epoch.row_dot``) is compiled with ``fastmath``: it sums in
vector lanes and fuses each product into its sum (FMA), where the CSR sum is a
plain left-to-right sum of rounded products, so a score differs in its last
bits even on rows too short to vectorise.  On float32 rows the dense kernels
also sum and update in float32, the CSR ones in float64.  Hence every pair is
compared to a relative tolerance (``RTOL``, ``FLOAT32_RTOL``), a few orders of
magnitude above the rounding that one epoch accumulates and far below any real
difference (a step applied twice or skipped, a wrong weight, a missed
penalty).  The mini-batch CSR kernel also applies a weight's skipped updates
in closed form where the dense one iterates them (see ``minibatch_epoch``).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fastloss._kernels import _layout as L
from fastloss._kernels.minibatch_epoch import minibatch_epoch_csr, minibatch_epoch_dense
from fastloss._kernels.multi_epoch import multi_epoch_csr, multi_epoch_dense
from fastloss._kernels.sgd_epoch import sgd_epoch_csr, sgd_epoch_dense

N_ROWS = 300
N_CLASSES = 3
#: Rows too short for the dense dot product's vector loop, and rows that use it.
NARROW = 3
WIDE = 24
#: Rounding differences of one summation order against another, after two epochs.
RTOL = 1e-9
#: float32 rows: the dense kernels sum and update in float32, the CSR ones in
#: float64; differences of 1e-7 grow through the softmax and flip L1 truncations
#: at zero, so this is loose: the float64 cases are the tight guard, these check
#: that float32 rows take the same path at all.
FLOAT32_RTOL = 5e-2

PENALTIES = {  # name: (H_L2, H_L1) shares of alpha
    "l2": (1.0, 0.0),
    "l1": (0.0, 1.0),
    "elasticnet": (0.85, 0.15),
}


def make_rows(n_features, dtype, seed=0):
    """Dense rows with about a third of the values zero, and their CSR matrix."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_ROWS, n_features))
    X[rng.random(X.shape) < 0.35] = 0.0
    X = np.ascontiguousarray(X.astype(dtype))
    csr = sp.csr_matrix(X)
    csr_parts = (csr.data, csr.indices.astype(np.int32), csr.indptr.astype(np.int32))
    labels = np.digitize(
        X[:, 0].astype(np.float64) + 0.3 * rng.standard_normal(N_ROWS), [-0.5, 0.5]
    )
    return X, csr_parts, labels, rng


def assert_same(dense_out, csr_out, dtype, rtol=RTOL):
    """Every array the dense kernel wrote equals the CSR kernel's, to ``rtol``
    (``FLOAT32_RTOL`` on float32 rows) of each value or of the array's largest
    value: rounding differences are relative to the weights' scale, so a weight
    near 0 may differ by more than ``rtol`` of itself."""
    rtol = FLOAT32_RTOL if dtype == np.float32 else rtol
    for name, a in dense_out.items():
        atol = rtol * np.max(np.abs(a), initial=0.0)
        np.testing.assert_allclose(a, csr_out[name], rtol=rtol, atol=atol, err_msg=name)


def sgd_hyper(penalty, average_start):
    hyper = np.zeros(L.H_SIZE)
    hyper[L.H_SCHEDULE] = L.OPTIMAL
    hyper[L.H_POWER_T] = 0.5
    hyper[L.H_OPTIMAL_T0] = 1000.0  # first step 1: rounding differences stay small
    hyper[L.H_ALPHA] = 1e-3
    hyper[L.H_L2], hyper[L.H_L1] = PENALTIES[penalty]
    hyper[L.H_AVERAGE_START] = average_start
    hyper[L.H_FIT_INTERCEPT] = 1.0
    hyper[L.H_COMPUTE_LOSS] = 1.0
    return hyper


# ----------------------------------------------------------------- sgd_epoch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_features", [NARROW, WIDE])
@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("targets", ["labels", "packed", "weighted", "squared_error"])
def test_sgd_epoch_pair(dtype, n_features, penalty, average, targets):
    X, (data, indices, indptr), labels, rng = make_rows(n_features, dtype)
    order = rng.permutation(N_ROWS).astype(np.uint32)
    y = np.where(labels == 1, 1.0, -1.0)
    sample_weight = np.empty(0)
    loss_code, loss_params = L.HINGE, np.array([1.0])
    if targets == "packed":  # labels ride in bit 31 of the order (layout.ROW_BITS)
        order = order | np.where(y[order] > 0, L.LABEL_BIT, np.uint32(0)).astype(np.uint32)
        y = np.empty(0)
    elif targets == "weighted":
        sample_weight = rng.uniform(0.2, 3.0, N_ROWS)
    elif targets == "squared_error":
        y = X.astype(np.float64) @ rng.standard_normal(n_features)
        loss_code, loss_params = L.SQUARED_ERROR, np.empty(0)
    hyper = sgd_hyper(penalty, average_start=N_ROWS // 2 if average else 0.0)
    if loss_code == L.SQUARED_ERROR:  # "optimal" steps diverge on an unbounded loss
        hyper[L.H_SCHEDULE], hyper[L.H_ETA0], hyper[L.H_POWER_T] = L.INVSCALING, 0.01, 0.25

    def run(kernel, rows):
        coef, avg_coef = np.zeros(n_features, dtype), np.zeros(n_features, dtype)
        l1_q, state = np.zeros(n_features), np.zeros(L.S_SIZE)
        state[L.S_T] = 1.0
        args = (y, sample_weight, order, loss_code, loss_params, hyper, coef, avg_coef, l1_q, state)
        # two epochs: the second starts from a folded scale and a running average
        losses = [kernel(*rows, *args) for _ in range(2)]
        return {"coef": coef, "avg_coef": avg_coef, "l1_q": l1_q, "state": state,
                "loss": np.array(losses)}  # fmt: skip

    dense = run(sgd_epoch_dense, (X,))
    csr = run(sgd_epoch_csr, (data, indices, indptr))
    assert np.any(dense["coef"] != 0.0)
    assert dense["state"][L.S_N_CLIPS] == 0  # not diverged: a fair comparison
    assert_same(dense, csr, dtype)


# ----------------------------------------------------------- minibatch_epoch
OPTIMIZERS = {  # name: (code, p0, p1, eps)
    "sgd": (L.SGD, 0.0, 0.0, 0.0),
    "momentum": (L.MOMENTUM, 0.9, 0.0, 0.0),
    "nesterov": (L.NESTEROV, 0.9, 0.0, 0.0),
    "adagrad": (L.ADAGRAD, 0.0, 0.0, 1e-8),
    "rmsprop": (L.RMSPROP, 0.9, 0.0, 1e-8),
    "adam": (L.ADAM, 0.9, 0.999, 1e-8),
    "adamw": (L.ADAMW, 0.9, 0.999, 1e-8),
    "amsgrad": (L.AMSGRAD, 0.9, 0.999, 1e-8),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("penalty", list(PENALTIES))
def test_minibatch_epoch_pair(dtype, optimizer, penalty):
    X, (data, indices, indptr), labels, rng = make_rows(WIDE, dtype)
    order = rng.permutation(N_ROWS).astype(np.uint32)
    y = X.astype(np.float64) @ rng.standard_normal(WIDE)
    sample_weight = rng.uniform(0.2, 3.0, N_ROWS)
    hyper = np.zeros(L.O_SIZE)
    hyper[: L.H_SIZE] = sgd_hyper(penalty, 0.0)
    hyper[L.H_SCHEDULE], hyper[L.H_ETA0] = L.INVSCALING, 0.01
    code, p0, p1, eps = OPTIMIZERS[optimizer]
    hyper[L.O_CODE], hyper[L.O_P0], hyper[L.O_P1], hyper[L.O_EPS] = code, p0, p1, eps
    hyper[L.O_BATCH] = 7  # 300 rows: the last batch is shorter

    def run(kernel, rows):
        coef = np.zeros(WIDE, dtype)
        opt_state = np.zeros((L.N_SLOTS, WIDE + 1))
        state = np.zeros(L.S_SIZE)
        state[L.S_T] = 1.0
        args = (y, sample_weight, order, L.SQUARED_ERROR, np.empty(0), hyper)
        losses = [kernel(*rows, *args, coef, opt_state, state) for _ in range(2)]
        return {"coef": coef, "opt_state": opt_state, "state": state, "loss": np.array(losses)}

    dense = run(minibatch_epoch_dense, (X,))
    csr = run(minibatch_epoch_csr, (data, indices, indptr))
    assert np.any(dense["coef"] != 0.0)
    # looser: the CSR kernel applies a weight's skipped updates in closed form
    # (_optim_rules.catch_up), divides its gradient by n_rows where the dense one
    # multiplies by 1 / n_rows, and adds the intercept first in the score
    assert_same(dense, csr, dtype, rtol=1e-7)


# --------------------------------------------------------------- multi_epoch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_features", [NARROW, WIDE])
@pytest.mark.parametrize(
    ("mode", "penalty", "average", "weighted"),
    [
        (L.OVR, "l2", False, False),
        (L.OVR, "l1", True, True),
        (L.OVR, "elasticnet", True, False),
        (L.MULTINOMIAL, "l2", True, True),
        (L.MULTINOMIAL, "elasticnet", False, False),
        (L.CRAMMER_SINGER, "l2", False, True),
        (L.CRAMMER_SINGER, "l1", True, False),
    ],
)
def test_multi_epoch_pair(dtype, n_features, mode, penalty, average, weighted):
    X, (data, indices, indptr), labels, rng = make_rows(n_features, dtype)
    order = rng.permutation(N_ROWS).astype(np.uint32)
    sample_weight = rng.uniform(0.2, 3.0, N_ROWS) if weighted else np.empty(0)
    class_weight = np.array([1.0, 2.0, 0.5])
    hyper = sgd_hyper(penalty, average_start=N_ROWS // 2 if average else 0.0)
    loss_code = L.HINGE if mode == L.OVR else L.MULTICLASS

    def run(kernel, rows, class_major):
        shape = (N_CLASSES, n_features) if class_major else (n_features, N_CLASSES)
        coef, avg_coef, l1_q = np.zeros(shape, dtype), np.zeros(shape, dtype), np.zeros(shape)
        cstate = np.zeros((L.C_SIZE, N_CLASSES))
        cstate[L.C_T], cstate[L.C_ETA0], cstate[L.C_ACTIVE] = 1.0, 0.0, 1.0
        if mode == L.OVR:
            cstate[L.C_ACTIVE, 2] = 0.0  # a class that met its stopping criterion stays frozen
        loss_sums = np.zeros(N_CLASSES)
        losses = []
        for _ in range(2):
            kernel(*rows, labels, sample_weight, class_weight, 0, order, mode, loss_code,
                   np.array([1.0]), hyper, coef, avg_coef, l1_q, cstate, loss_sums)  # fmt: skip
            losses.append(loss_sums.copy())
        if not class_major:  # the CSR kernel keeps a feature's classes together
            coef, avg_coef, l1_q = coef.T, avg_coef.T, l1_q.T
        return {"coef": coef, "avg_coef": avg_coef, "l1_q": l1_q, "cstate": cstate,
                "loss": np.array(losses)}  # fmt: skip

    dense = run(multi_epoch_dense, (X,), class_major=True)
    csr = run(multi_epoch_csr, (data, indices, indptr), class_major=False)
    assert np.any(dense["coef"] != 0.0)
    if mode == L.OVR:
        assert np.all(dense["coef"][2] == 0.0)
    assert_same(dense, csr, dtype)
