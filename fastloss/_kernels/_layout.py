"""Slots of the small float64 arrays that carry settings and state into kernels.

Kernels take a handful of arrays instead of dozens of scalars: ``hyper`` holds
what stays constant during an epoch, ``state`` what a kernel updates and the next
epoch (or the next ``partial_fit`` call) continues from.  Numba folds these
module-level integers into constants.
"""

import numpy as np

# learning-rate schedules (slot H_SCHEDULE); "adaptive" runs CONSTANT with an
# eta0 the driver divides by 5 between epochs.
CONSTANT = 0
OPTIMAL = 1
INVSCALING = 2

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

# state: float64 (S_SIZE,)
S_INTERCEPT = 0
S_AVG_INTERCEPT = 1
S_T = 2  # number of the next step, starting at 1 (scikit-learn's t_)
S_L1_U = 3  # cumulative L1 penalty per unit weight (Tsuruoka et al., 2009)
S_N_CLIPS = 4  # derivatives clipped to +-MAX_DLOSS
S_SIZE = 5

#: Derivatives are clipped to +-MAX_DLOSS, as scikit-learn does: the 'optimal'
#: schedule takes huge first steps by design and SGD recovers from them.  With a
#: step size the user chose, the driver treats a clipped derivative as divergence.
MAX_DLOSS = 1e12
#: Below this the weight scale is folded into the weights.
MIN_SCALE = 1e-9

# Row orders are uint32 below 2**32 rows.  For ±1 labels (binary
# classification) and rows below 2**31, the plain SGD kernels take an empty y
# and read each row's label from bit 31 of its order entry (set: +1), which the
# shuffles move with the row: one random cache line a sample fewer
# (linear_model._training.kernel_targets).
LABEL_BIT = np.uint32(0x80000000)
ROW_BITS = np.uint32(0x7FFFFFFF)
