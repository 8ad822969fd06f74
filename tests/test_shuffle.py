"""The opt-in block shuffle: a permutation of runs of rows, as accurate as a full one."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import fastloss
from fastloss.linear_model._training import SHUFFLE_BLOCK, epoch_order


@pytest.mark.parametrize("n", [1, SHUFFLE_BLOCK - 1, SHUFFLE_BLOCK, 5 * SHUFFLE_BLOCK + 7])
def test_block_order_is_a_permutation_of_sequential_runs(n):
    rows = np.arange(1000, 1000 + n)
    order = epoch_order(np.random.default_rng(0), rows, "block")
    np.testing.assert_array_equal(np.sort(order), rows)
    block_of = (order - 1000) // SHUFFLE_BLOCK
    # each block appears once, as one run of consecutive rows
    changes = np.flatnonzero(np.diff(block_of)) + 1
    run_blocks = block_of[np.r_[0, changes]]
    assert len(set(run_blocks)) == len(run_blocks) == -(-n // SHUFFLE_BLOCK)
    for run in np.split(order, changes):
        np.testing.assert_array_equal(np.diff(run), 1)


def test_block_shuffle_is_as_accurate_as_full_shuffle():
    X, y = make_classification(n_samples=20_000, n_features=20, n_informative=10, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    scores = {
        shuffle: np.mean(
            [
                fastloss.SGDClassifier(loss="log_loss", shuffle=shuffle, random_state=seed)
                .fit(X_tr, y_tr)
                .score(X_te, y_te)
                for seed in range(3)
            ]
        )
        for shuffle in (True, "block")
    }
    assert abs(scores[True] - scores["block"]) <= 0.01, scores
