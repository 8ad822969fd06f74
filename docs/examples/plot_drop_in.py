"""
===================================
A drop-in for scikit-learn's SGD
===================================

Changing one import trains the same kind of model: the same parameters,
defaults and attributes.  Here both libraries fit the same pipeline on the same
data.  They do not reach the same held-out accuracy to the digit: each library
shuffles the rows its own way and stops on its own epoch, so the two SGD runs
end at different points near the same optimum.  The accuracies printed below
differ by about one and a half points, and the coefficient norms by about 4 %.
"""

# %%
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier as SklearnSGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastloss import SGDClassifier

X, y = make_classification(n_samples=20_000, n_features=50, n_informative=10, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

for name, cls in [("scikit-learn", SklearnSGDClassifier), ("fastloss", SGDClassifier)]:
    pipe = make_pipeline(StandardScaler(), cls(loss="log_loss", alpha=1e-4, random_state=0))
    pipe.fit(X_train, y_train)
    sgd = pipe[-1]
    print(
        f"{name:>12}: {sgd.n_iter_} epochs, held-out accuracy "
        f"{pipe.score(X_test, y_test):.4f}, |coef| {np.linalg.norm(sgd.coef_):.3f}"
    )

# %%
# The fitted attributes are scikit-learn's (``coef_``, ``intercept_``,
# ``n_iter_``, ``t_``, ``classes_``), plus ``loss_function_`` (the loss object
# trained with) and ``loss_curve_``.
print(sgd.loss_function_, sgd.t_, sgd.loss_curve_[:3])
