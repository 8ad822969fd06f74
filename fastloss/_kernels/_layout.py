"""Every slot and code constant that Python code and compiled kernels share.

Kernels take a handful of arrays instead of dozens of scalars: ``hyper`` holds
what stays constant during an epoch, ``state`` (one model) or ``cstate`` (a
block of classes) what a kernel updates and the next epoch (or the next
``partial_fit`` call) continues from, ``opt_state`` an optimizer's per-weight
moments.  Losses, optimizers and schedules reach the kernels as integer codes
plus float64 parameters, so that one compiled kernel serves them all and is a
cache hit in a fresh process.  Numba folds these module-level integers into
constants.

The codes are stable: a compiled kernel's cache entry holds them as constants,
and a fitted estimator's pickled optimizer state records its rule's code.
Everything here is plain data: this module imports nothing from fastloss, so
that every layer above it can read it.
"""

import numpy as np

# ------------------------------------------------------------ schedule codes
# learning-rate schedules (slot H_SCHEDULE); "adaptive" runs CONSTANT with an
# eta0 the driver divides by 5 between epochs.
CONSTANT = 0
OPTIMAL = 1
INVSCALING = 2
# schedules beyond scikit-learn's (mini-batch kernel only)
COSINE = 3  # P0: decay steps, P1: final fraction of the base step size
EXPONENTIAL = 4  # P0: decay rate, P1: steps per decay
STEP = 5  # P0: factor gamma, P1: steps per drop

# ------------------------------------------------------------- hyper (plain SGD)
# hyper: float64 (H_SIZE,)
H_SCHEDULE = 0  # one of the schedule codes above
H_ETA0 = 1  # eta for CONSTANT, numerator of INVSCALING
H_POWER_T = 2  # exponent of INVSCALING
H_OPTIMAL_T0 = 3  # offset t0 of OPTIMAL: eta = 1 / (alpha * (t0 + t - 1))
H_ALPHA = 4  # penalty strength
H_L2 = 5  # alpha share that is L2: (1 - l1_ratio), 0 without L2
H_L1 = 6  # alpha share that is L1: l1_ratio, 0 without L1
H_AVERAGE_START = 7  # first step t that enters the average; 0 = no averaging
H_FIT_INTERCEPT = 8  # 1.0 or 0.0
H_COMPUTE_LOSS = 9  # 1.0: accumulate the training loss (tol or verbose need it)
H_SIZE = 10

# --------------------------------------------------------- state (one model)
# state: float64 (S_SIZE,)
S_INTERCEPT = 0
S_AVG_INTERCEPT = 1
S_T = 2  # number of the next step, starting at 1 (scikit-learn's t_)
S_L1_U = 3  # cumulative L1 penalty per unit weight (Tsuruoka et al., 2009)
S_N_CLIPS = 4  # derivatives clipped to +-MAX_DLOSS
S_SIZE = 5

# ------------------------------------------------ cstate (a block of classes)
# cstate rows of multi_epoch: float64 (C_SIZE, n_classes)
C_INTERCEPT = 0
C_AVG_INTERCEPT = 1
C_T = 2  # number of the class's next step, starting at 1
C_L1_U = 3  # cumulative L1 penalty per unit weight
C_ETA0 = 4  # the class's eta0 ("adaptive" divides it per class)
C_ACTIVE = 5  # 1.0 while the class trains, 0.0 once stopped
C_N_CLIPS = 6  # derivatives clipped to +-MAX_DLOSS
C_SIZE = 7

# ------------------------------------------------- gstate (a grid of models)
# grid_epoch's per-model state: float64 (G_SIZE, n_models), the C_* rows above
# (intercepts, step counter, L1 total, eta0, active flag, clips), then:
G_FOLD = C_SIZE  # the model's fold: it trains on the rows whose fold mask has this bit
G_CLASS = C_SIZE + 1  # one-vs-rest: index of its positive class in y; -1: y as given
G_POS_WEIGHT = C_SIZE + 2  # class weight of its positive rows (y > 0, or its class)
G_NEG_WEIGHT = C_SIZE + 3  # class weight of its other rows
G_LOSS = C_SIZE + 4  # its built-in loss code (_loss_switch)
G_SIZE = C_SIZE + 5
#: Folds one grid can hold: a row's folds are the bits of an int64 mask.
MAX_GRID_FOLDS = 62

# ------------------------------------------------------------ optimizer codes
# hyper[O_CODE] of the mini-batch kernel
SGD = 0
MOMENTUM = 1  # heavy ball, PyTorch form: v = mu v + g; w -= eta v
NESTEROV = 2  # PyTorch form: v = mu v + g; w -= eta (g + mu v)
ADAGRAD = 3
RMSPROP = 4
ADAM = 5
ADAMW = 6
AMSGRAD = 7
# variance-reduced solvers (their own epoch kernels, _kernels/vr_epoch.py)
SAGA = 8
SVRG = 9

# hyper slots of the mini-batch kernel after the plain-SGD ones: float64 (O_SIZE,)
O_CODE = H_SIZE  # optimizer code
O_P0 = H_SIZE + 1  # momentum mu, RMSProp rho, Adam beta1
O_P1 = H_SIZE + 2  # Adam beta2
O_EPS = H_SIZE + 3  # epsilon of the adaptive rules
O_BATCH = H_SIZE + 4  # rows per update
O_SCHED_P0 = H_SIZE + 5
O_SCHED_P1 = H_SIZE + 6
O_WARMUP = H_SIZE + 7  # linear warm-up steps, 0 = none
O_SIZE = H_SIZE + 8

# hyper slots of the variance-reduced kernels after the plain-SGD ones: float64 (V_SIZE,)
V_STEP = H_SIZE  # the constant step size eta
V_N = H_SIZE + 1  # rows the objective averages over (the training rows)
V_UPDATE_TABLE = H_SIZE + 2  # 1.0: SAGA (the stored derivatives follow each step), 0.0: SVRG
V_SIZE = H_SIZE + 3
# columns of the CSR variance-reduced kernel's per-feature state: float64 (n_features + 1, F_SIZE)
F_MEAN = 0  # the stored derivatives' mean gradient (last row: the intercept's)
F_SUM_AT = 1  # cumulative step sum at the feature's last update (just-in-time steps)
F_STEP_AT = 2  # the step number of that update
F_SIZE = 4  # 32 bytes: two features a cache line

# opt_state rows: float64 (N_SLOTS, n_features + 1)
SLOT_A = 0
SLOT_B = 1
SLOT_C = 2
SLOT_LAST = 3
SLOT_CUM_ETA = 4  # sum of the step sizes up to each weight's last update
N_SLOTS = 5

# ----------------------------------------------------------------- loss codes
# the ``code`` argument of _loss_switch.loss_value / loss_derivative
HINGE = 0
SQUARED_HINGE = 1
LOG = 2
MODIFIED_HUBER = 3
SQUARED_ERROR = 4
HUBER = 5
EPSILON_INSENSITIVE = 6
SQUARED_EPSILON_INSENSITIVE = 7
SMOOTH_HINGE = 8
FOCAL = 9
CROSS_ENTROPY = 10
QUANTILE = 11
LOG_COSH = 12
POISSON = 13
TWEEDIE = 14
# robust losses (label noise, outliers)
RAMP = 15
GENERALIZED_CROSS_ENTROPY = 16
SYMMETRIC_CROSS_ENTROPY = 17
TUKEY = 18
CAUCHY = 19
ABSOLUTE_ERROR = 20
#: A weighted sum of built-in losses (``fastloss.losses.Sum``).  Its ``params``
#: array describes the terms: ``[n_terms, (code, weight, n_params, params...) ...]``
#: (the ``COMPOSITE_*`` offsets below), so that one compiled switch serves every
#: composite of built-in losses, whatever its terms, weights and hyperparameters.
COMPOSITE = 21
COMPOSITE_N_TERMS = 0  # params[0]: number of terms
COMPOSITE_HEAD = 3  # per term: code, weight, n_params, then its n_params values
#: Code of user-defined losses: kernels reach them through a specialised copy
#: (``fastloss.losses._user.kernel_for``), never through the switch.
USER_DEFINED = -1
#: Multiclass losses have no scalar kernel: the multi-output kernel switches on their mode.
MULTICLASS = -2

# ----------------------------------------------------------- multiclass modes
# the ``mode`` argument of multi_epoch and _multiclass_losses
#: One-vs-rest: every class is its own binary problem on a scalar loss.
OVR = 0
#: Softmax cross-entropy over all classes (multinomial logistic regression).
MULTINOMIAL = 1
#: Crammer-Singer multiclass hinge.
CRAMMER_SINGER = 2

# ------------------------------------------------------------- numeric limits
#: Derivatives are clipped to +-MAX_DLOSS, as scikit-learn does: the 'optimal'
#: schedule takes huge first steps by design and SGD recovers from them.  With a
#: step size the user chose, the driver treats a clipped derivative as divergence.
MAX_DLOSS = 1e12
#: Below this the weight scale is folded into the weights.
MIN_SCALE = 1e-9

# ---------------------------------------------------------------- row orders
# Row orders are uint32 below 2**32 rows.  For ±1 labels (binary
# classification) and rows below 2**31, the plain SGD kernels take an empty y
# and read each row's label from bit 31 of its order entry (set: +1), which the
# shuffles move with the row: one random cache line a sample fewer
# (linear_model._runners.kernel_targets).
LABEL_BIT = np.uint32(0x80000000)
ROW_BITS = np.uint32(0x7FFFFFFF)

# ------------------------------------------ metric learning (issue 19, part 2)
# Loss codes of _kernels.metric_epoch, not of _loss_switch: a pair loss is a
# function of a pair's label (+1 similar, -1 dissimilar) and squared distance
# under the learnt map, a triplet loss of d(anchor, positive)^2 -
# d(anchor, negative)^2.  Its kernels keep their step counter in S_T of an
# (S_SIZE,) state array and read the plain-SGD hyper slots.
CONTRASTIVE = 40
SOFT_CONTRASTIVE = 41
TRIPLET = 42
SOFT_TRIPLET = 43

# ---------------------------------------------------- ranking (pair_epoch)
# Columns of ``spans``, int64 (n_positions, 4), of the pairwise ranking kernels:
# the positions of one query are contiguous and sorted by decreasing relevance.
SPAN_QUERY_START = 0  # first position of the query
SPAN_QUERY_END = 1  # past-the-end position of the query
SPAN_TIE_START = 2  # first position of the run of equal relevance
SPAN_TIE_END = 3  # past-the-end position of that run
SPAN_SIZE = 4
