"""
=====================================
Validation curves from a grid search
=====================================

:class:`fastloss.SGDClassifierCV` searches ``alpha`` x losses over
cross-validation folds, training every (candidate, fold) model from one read
of each row an epoch, and reports its results as ``GridSearchCV`` does in
``cv_results_``.  Plotting ``mean_test_score`` against ``alpha``, one line per
loss with a band of one standard deviation over the folds, shows where each
loss under- and over-regularises.
"""

# %%
# Search 8 alphas x 4 losses over 5 folds
# ---------------------------------------
# Small alphas may stop at ``max_iter`` before converging; the warnings are
# silenced here, the curve is what matters.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from fastloss import SGDClassifierCV

X, y = make_classification(
    n_samples=4_000, n_features=20, n_informative=6, flip_y=0.05, random_state=0
)
X = StandardScaler().fit_transform(X)

losses = ["hinge", "log_loss", "modified_huber", "squared_hinge"]
alphas = np.logspace(-6, 0, 8)
search = SGDClassifierCV(alphas=alphas, param_grid={"loss": losses}, cv=5, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)
print(f"best: {search.best_params_}, mean CV accuracy {search.best_score_:.3f}")

# %%
# One curve per loss
# ------------------
# ``cv_results_["param_loss"]`` and ``["param_alpha"]`` say which candidate each
# entry is; the same keys come out of ``GridSearchCV``, so this plotting code
# works for either.
results = search.cv_results_
fig, ax = plt.subplots(layout="constrained")
for loss in losses:
    rows = np.flatnonzero(np.asarray(results["param_loss"], dtype=object) == loss)
    rows = rows[np.argsort(np.asarray(results["param_alpha"], dtype=float)[rows])]
    alpha = np.asarray(results["param_alpha"], dtype=float)[rows]
    mean = results["mean_test_score"][rows]
    std = results["std_test_score"][rows]
    (line,) = ax.semilogx(alpha, mean, marker="o", label=loss)
    ax.fill_between(alpha, mean - std, mean + std, color=line.get_color(), alpha=0.2)
ax.axvline(search.best_params_["alpha"], color="grey", linestyle=":", label="best alpha")
ax.set_xlabel("alpha")
ax.set_ylabel("mean CV accuracy (5 folds)")
ax.set_title("Validation curves: SGDClassifierCV.cv_results_")
ax.legend()
plt.show()
