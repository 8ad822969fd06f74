"""
===========================================
Learning a distance: metric learning by SGD
===========================================

:class:`fastloss.SGDMetricLearner` learns a linear map ``L`` so that points of
the same class are close under ``||L x - L x'||``, as scikit-learn's
``NeighborhoodComponentsAnalysis`` does, by SGD on triplets drawn from the
labels each epoch.  Here it feeds a 5-nearest-neighbour classifier and draws
the digits in two learnt dimensions; then :class:`fastloss.SGDPairsMetricLearner`
learns from pairs labelled same / different, the setting of verification.
"""

# %%
# A metric before nearest neighbours
# ----------------------------------
# The learner is a transformer: put it between the scaler and the classifier.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastloss import SGDMetricLearner, SGDPairsMetricLearner

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)

raw = make_pipeline(StandardScaler(), KNeighborsClassifier(5))
learnt = make_pipeline(StandardScaler(), SGDMetricLearner(random_state=0), KNeighborsClassifier(5))
for name, model in [("raw features", raw), ("learnt metric", learnt)]:
    print(f"5-NN accuracy, {name}: {model.fit(X_train, y_train).score(X_test, y_test):.4f}")

# %%
# Two dimensions
# --------------
# With ``n_components=2`` the map is a projection chosen for the classes,
# where PCA keeps the directions of largest variance.
scaler = StandardScaler().fit(X_train)
Z_train = scaler.transform(X_train)
projections = {
    "PCA": PCA(n_components=2, random_state=0).fit(Z_train),
    "SGDMetricLearner": SGDMetricLearner(n_components=2, random_state=0).fit(Z_train, y_train),
}
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, (name, projection) in zip(axes, projections.items(), strict=True):
    Z = projection.transform(scaler.transform(X_test))
    ax.scatter(Z[:, 0], Z[:, 1], c=y_test, cmap="tab10", s=8)
    ax.set_title(name)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Held-out digits in two dimensions")
plt.show()

# %%
# Verification from pairs
# -----------------------
# Only pairs labelled +1 (same digit) or -1 are known.  The pairs are row
# indices into ``preprocessor``: the learner reads the rows by index, never
# building the (n_pairs, 2, 64) array.  ``score`` is the ROC AUC of the
# learnt distance on held-out pairs; after ``fit`` the threshold of
# ``predict`` is calibrated for accuracy on the training pairs, and
# ``calibrate_threshold`` moves it for another operating point.
Z = StandardScaler().fit_transform(X)
rng = np.random.default_rng(0)


def random_pairs(rows, n_pairs):
    pairs = rng.choice(rows, size=(n_pairs, 2))
    same = rng.random(n_pairs) < 0.5  # half of them of the same digit
    for k in np.flatnonzero(same):
        pool = rows[y[rows] == y[pairs[k, 0]]]
        pairs[k, 1] = rng.choice(pool)
    return pairs, np.where(y[pairs[:, 0]] == y[pairs[:, 1]], 1, -1)


rows = rng.permutation(len(y))
train_pairs, train_labels = random_pairs(rows[:900], 4000)
test_pairs, test_labels = random_pairs(rows[900:], 4000)

verifier = SGDPairsMetricLearner(preprocessor=Z, max_iter=200, random_state=0)
verifier.fit(train_pairs, train_labels)
euclidean = -np.linalg.norm(Z[test_pairs[:, 0]] - Z[test_pairs[:, 1]], axis=1)


print(f"ROC AUC, Euclidean distance: {roc_auc_score(test_labels, euclidean):.4f}")
print(f"ROC AUC, learnt distance:    {verifier.score(test_pairs, test_labels):.4f}")
print(f"accuracy at the calibrated threshold: "
      f"{np.mean(verifier.predict(test_pairs) == test_labels):.4f}")  # fmt: skip
verifier.calibrate_threshold(train_pairs, train_labels, strategy="max_tpr", min_rate=0.95)
predicted = verifier.predict(test_pairs)
print(
    f"with at most 5% false matches: {np.mean(predicted[test_labels == 1] == 1):.2%} of the "
    f"same-digit pairs found, {np.mean(predicted[test_labels == -1] == 1):.2%} false matches"
)
