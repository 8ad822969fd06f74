"""
==========================
Loss curves while training
==========================

Every fit records its training objective per epoch in ``loss_curve_`` and, with
early stopping, the held-out score in ``validation_scores_``.
:class:`fastloss.plot.LossCurveDisplay` draws them.
"""

# %%
# Early stopping on a held-out tenth of the data
# ----------------------------------------------
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from fastloss import SGDClassifier
from fastloss.plot import LossCurveDisplay

X, y = make_classification(n_samples=5_000, n_features=20, n_informative=8, random_state=0)
X = StandardScaler().fit_transform(X)

clf = SGDClassifier(loss="log_loss", average=True, early_stopping=True, random_state=0)
clf.fit(X, y)
print(
    f"stopped after {clf.n_iter_} epochs; best validation accuracy "
    f"{clf.validation_scores_.max():.3f}"
)
fig, ax = plt.subplots(layout="constrained")  # room for both axes' labels
LossCurveDisplay.from_estimator(clf, ax=ax)
plt.show()

# %%
# Two step-size schedules on the same axes
# ----------------------------------------
# Displays draw onto given axes; ``plot`` also works on a display built from
# arrays.  Each runs a budget of 30 epochs, so the warning that it stopped
# before converging is expected and silenced.
fig, ax = plt.subplots(layout="constrained")  # the log scale's tick labels are wide
for schedule in ["optimal", "adaptive"]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SGDClassifier(
            learning_rate=schedule, eta0=0.05, max_iter=30, tol=1e-4, random_state=0
        ).fit(X, y)
    LossCurveDisplay.from_estimator(model, ax=ax, name=schedule)
ax.set_yscale("log")
ax.legend()
plt.show()
