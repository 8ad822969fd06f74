"""
=========================================
Monitoring scores with sklearn callbacks
=========================================

scikit-learn's :class:`~sklearn.callback.ScoringMonitor` scores a model at
every iteration of its fit; on a fastloss estimator one iteration is one
epoch.  Here it records the training and held-out accuracy after each epoch,
next to the estimator's own loss curve.
"""

# %%
import warnings

import matplotlib.pyplot as plt
from sklearn.callback import ScoringMonitor
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastloss import SGDClassifier

X, y = make_classification(n_samples=4_000, n_features=20, n_informative=6, random_state=1)
X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)


def held_out_accuracy(estimator, X, y):
    return accuracy_score(y_test, estimator.predict(X_test))


monitor = ScoringMonitor(scoring={"train": "accuracy", "held out": held_out_accuracy})
clf = SGDClassifier(average=True, max_iter=25, tol=1e-4, n_iter_no_change=25, random_state=0)
with warnings.catch_warnings():  # all 25 epochs run on purpose: no convergence warning
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf.set_callbacks(monitor).fit(X_train, y_train)

epochs = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
print(f"{len(epochs)} epochs recorded, {clf.n_iter_} run")

# %%
fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(6, 6))
top.plot(range(1, clf.n_iter_ + 1), clf.loss_curve_)
top.set_ylabel("training objective")
for key in ["train", "held out"]:
    bottom.plot(range(1, len(epochs) + 1), [row[key] for row in epochs], label=key)
bottom.set(xlabel="epoch", ylabel="accuracy")
bottom.legend()
fig.tight_layout()
plt.show()
