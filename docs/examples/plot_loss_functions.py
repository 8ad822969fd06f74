"""
=======================
The built-in losses
=======================

Each loss in :mod:`fastloss.losses` evaluates on arrays: here every
classification loss against the margin :math:`z = y \\, p`, and every
regression loss against the residual :math:`r = p - y`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from fastloss.losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES

raw = np.linspace(-3, 3, 601)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for name, cls in CLASSIFICATION_LOSSES.items():
    if name in REGRESSION_LOSSES:
        continue
    left.plot(raw, cls().loss(np.ones_like(raw), raw), label=name)
left.set(xlabel="margin y·p", ylabel="loss", ylim=(-0.1, 5), title="classification")
left.legend()
for name, cls in REGRESSION_LOSSES.items():
    right.plot(raw, cls().loss(np.zeros_like(raw), raw), label=name)
right.set(xlabel="residual p - y", ylim=(-0.1, 4), title="regression (epsilon=0.1)")
right.legend()
fig.tight_layout()
plt.show()
