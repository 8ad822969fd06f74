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
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
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
LossCurveDisplay.from_estimator(clf)
plt.show()

# %%
# Two step-size schedules on the same axes
# ----------------------------------------
# Displays draw onto given axes; ``plot`` also works on a display built from
# arrays.
fig, ax = plt.subplots()
for schedule in ["optimal", "adaptive"]:
    model = SGDClassifier(
        learning_rate=schedule, eta0=0.05, max_iter=30, tol=1e-4, random_state=0
    ).fit(X, y)
    LossCurveDisplay.from_estimator(model, ax=ax, name=schedule)
ax.set_yscale("log")
ax.legend()
plt.show()
