"""
==========================================
Learning to rank with pairwise losses
==========================================

:class:`fastloss.SGDRanker` learns a linear score from pairs of documents of
the same query whose relevance differs.  Here: synthetic queries whose
relevance (five levels) is a hidden linear score plus noise; we compare the
pairwise losses, LambdaRank-style weighting, and the NDCG@k of the learned
ranking against that of the hidden score itself.
"""

# %%
# Queries of documents with graded relevance
# ------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GroupShuffleSplit

from fastloss import SGDRanker
from fastloss.losses import PairwiseHinge, PairwiseLogistic, PairwiseSquaredHinge

rng = np.random.default_rng(0)
n_queries, n_docs, n_features = 300, 40, 30
X = rng.normal(size=(n_queries * n_docs, n_features))
w_hidden = rng.normal(size=n_features)
latent = X @ w_hidden / np.sqrt(n_features) + 0.5 * rng.normal(size=len(X))
y = np.digitize(latent, np.quantile(latent, [0.2, 0.4, 0.6, 0.8]))  # relevance 0..4
qid = np.repeat(np.arange(n_queries), n_docs)

train, test = next(GroupShuffleSplit(test_size=0.25, random_state=0).split(X, y, qid))

# %%
# Three pairwise losses
# ---------------------
# Each is a binary margin loss of the score difference of a pair.  The NDCG
# of the hidden score (without its noise) is the best a linear model can hope for.
oracle = SGDRanker().fit(X[train], y[train], qid=qid[train])
oracle.coef_ = w_hidden
best = oracle.score(X[test], y[test], qid=qid[test])
print(f"hidden score: NDCG@10 = {best:.4f}")

rankers = {
    "RankSVM (pairwise hinge)": SGDRanker(loss=PairwiseHinge()),
    "RankNet (pairwise logistic)": SGDRanker(loss=PairwiseLogistic()),
    "pairwise squared hinge": SGDRanker(loss=PairwiseSquaredHinge(), learning_rate="adaptive"),
    "RankNet + |delta NDCG| weights": SGDRanker(loss=PairwiseLogistic(), pair_weighting="ndcg"),
}
fig, (ax_curve, ax_k) = plt.subplots(1, 2, figsize=(10, 4))
for name, ranker in rankers.items():
    ranker.set_params(average=10, random_state=0)
    ranker.fit(X[train], y[train], qid=qid[train])
    score = ranker.score(X[test], y[test], qid=qid[test])
    print(f"{name}: NDCG@10 = {score:.4f} after {ranker.n_iter_} epochs")
    ax_curve.plot(ranker.loss_curve_ / ranker.loss_curve_[0], label=name)
    ks = [1, 3, 5, 10, 20, 40]
    ax_k.plot(
        ks,
        [ranker.set_params(ndcg_k=k).score(X[test], y[test], qid=qid[test]) for k in ks],
        marker="o",
        label=name,
    )
ax_curve.set(xlabel="epoch", ylabel="objective / first epoch's", title="Training curves")
ax_k.set(xlabel="k", ylabel="mean NDCG@k (test queries)", title="Ranking quality")
ax_k.legend(fontsize="small")
fig.tight_layout()
plt.show()
