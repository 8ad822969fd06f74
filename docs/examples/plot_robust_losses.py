"""
=====================================================
Robust losses: outliers, noisy labels, composite loss
=====================================================

Bounded losses stop a gross outlier or a flipped label from pulling the
weights: :class:`~fastloss.losses.Tukey` and :class:`~fastloss.losses.Cauchy`
for regression, :class:`~fastloss.losses.GeneralizedCrossEntropy`,
:class:`~fastloss.losses.SymmetricCrossEntropy` and
:class:`~fastloss.losses.Ramp` for classification.  A weighted sum of losses
(``0.7 * Huber() + 0.3 * Quantile(0.9)``) is one loss too.  The measured
tables are in the user guide (robust_losses).
"""

# %%
# The losses and their derivatives
# --------------------------------
# A redescending derivative (Tukey's) goes back to zero: beyond ``c`` a
# residual pulls with no force.  Cauchy's decays like ``c^2 / r``; Huber's
# stays at ``epsilon``; least squares' grows without bound.
import matplotlib.pyplot as plt
import numpy as np

from fastloss import SGDClassifier, SGDRegressor
from fastloss.losses import (
    Cauchy,
    GeneralizedCrossEntropy,
    Huber,
    LogLoss,
    Quantile,
    SquaredError,
    SymmetricCrossEntropy,
    Tukey,
)

residual = np.linspace(-10, 10, 801)
regression = {
    "squared_error": SquaredError(),
    "huber(1.35)": Huber(epsilon=1.35),
    "cauchy": Cauchy(),
    "tukey": Tukey(),
}
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for name, loss in regression.items():
    zero = np.zeros_like(residual)
    left.plot(residual, loss.loss(zero, residual), label=name)
    right.plot(residual, loss.gradient(zero, residual), label=name)
left.set(xlabel="residual p - y", ylabel="loss", ylim=(-0.2, 8), title="loss")
right.set(xlabel="residual p - y", ylabel="dL/dp", ylim=(-4, 4), title="derivative")
left.legend()
fig.tight_layout()

# %%
# Regression with 30 % gross outliers
# -----------------------------------
# A third of the targets are shifted up by 10 to 30 noise standard
# deviations, whatever x.  Least squares follows them; Huber's line is
# shifted up (a bias in the intercept); Tukey and Cauchy recover the clean line.
rng = np.random.default_rng(0)
x = rng.uniform(-3, 3, size=(600, 1))
y = 2.0 * x[:, 0] + 1.0 + rng.normal(size=600)
outlier = rng.random(600) < 0.3
y[outlier] += rng.uniform(10, 30, size=outlier.sum())

grid = np.linspace(-3, 3, 50)[:, None]
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(x[:, 0], y, s=4, c=np.where(outlier, "tab:red", "tab:gray"), alpha=0.5)
for name, loss in regression.items():
    model = SGDRegressor(loss=loss, alpha=1e-6, random_state=0).fit(x, y)
    fit = f"{model.coef_[0]:.2f} x + {model.intercept_[0]:.2f}"
    ax.plot(grid[:, 0], model.predict(grid), label=f"{name}: {fit}")
ax.plot(grid[:, 0], 2.0 * grid[:, 0] + 1.0, "k--", label="truth: 2.00 x + 1.00")
ax.set(xlabel="x", ylabel="y", ylim=(-8, 35))
ax.legend(fontsize=8)

# %%
# Classification with 40 % of the labels flipped
# ----------------------------------------------
# Heavy-tailed features: a flipped label far from the boundary pulls the log
# loss hard, while the bounded losses give it little weight.  (On Gaussian
# features with averaged SGD the gap mostly closes: see the user guide.)
rng = np.random.default_rng(1)
X = rng.standard_t(df=2, size=(4000, 10))
labels = (X @ rng.normal(size=10) > 0).astype(int)
X_train, X_test, y_test = X[:2000], X[2000:], labels[2000:]
y_train = np.where(rng.random(2000) < 0.4, 1 - labels[:2000], labels[:2000])
for loss in (LogLoss(), GeneralizedCrossEntropy(), SymmetricCrossEntropy()):
    model = SGDClassifier(loss=loss, average=True, random_state=0).fit(X_train, y_train)
    print(f"{loss!r:32} held-out accuracy {model.score(X_test, y_test):.3f}")

# %%
# A composite loss
# ----------------
# ``0.7 * Huber() + 0.3 * Quantile(0.9)`` fits a line between the mean and the
# upper decile: one loss, one fit, compiled once whatever its weights.
rng = np.random.default_rng(2)
x = rng.uniform(0, 4, size=(2000, 1))
y = x[:, 0] + rng.exponential(1.0 + x[:, 0], size=2000)
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(x[:, 0], y, s=3, c="tab:gray", alpha=0.4)
for loss in (Huber(epsilon=1.0), Quantile(0.9), 0.7 * Huber(epsilon=1.0) + 0.3 * Quantile(0.9)):
    model = SGDRegressor(loss=loss, alpha=1e-6, random_state=0).fit(x, y)
    ax.plot([0, 4], model.predict([[0.0], [4.0]]), label=repr(loss))
ax.set(xlabel="x", ylabel="y")
ax.legend(fontsize=7)
plt.show()
