"""Epoch orders: the compiled full shuffle is uniform; the opt-in block shuffle
is a permutation of runs of rows, as accurate as a full one."""

import itertools

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import fastloss
from fastloss._kernels.shuffle import shuffle_in_place
from fastloss.linear_model._training import SHUFFLE_BLOCK, EpochOrders, epoch_order


def test_full_shuffle_draws_every_permutation_equally_often():
    # 24 permutations of 4 rows, 24,000 epochs: a chi-square test of uniformity
    rng = np.random.default_rng(0)
    rows = np.arange(4)
    counts = dict.fromkeys(itertools.permutations(range(4)), 0)
    for _ in range(24_000):
        counts[tuple(epoch_order(rng, rows, True))] += 1
    assert stats.chisquare(list(counts.values())).pvalue > 1e-3, counts


def test_full_shuffle_puts_each_row_anywhere_with_equal_probability():
    # 10,000 shuffles of 50 rows: every row lands in every position equally often
    positions = np.zeros((50, 50))
    for seed in range(10_000):
        order = np.arange(50)
        shuffle_in_place(order, seed)
        positions[order, np.arange(50)] += 1
    assert stats.chisquare(positions.ravel()).pvalue > 1e-3


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_full_shuffle_is_a_permutation_fixed_by_the_seed(dtype):
    rows = np.arange(7, 10_007, dtype=dtype)
    a, b, c = rows.copy(), rows.copy(), rows.copy()
    shuffle_in_place(a, 3)
    shuffle_in_place(b, 3)
    shuffle_in_place(c, 4)
    np.testing.assert_array_equal(np.sort(a), rows)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, rows)
    # the generator's state advances, so two epochs of one fit differ
    rng = np.random.default_rng(0)
    assert not np.array_equal(epoch_order(rng, rows, True), epoch_order(rng, rows, True))


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


@pytest.mark.parametrize("shuffle", [True, "block", False])
def test_orders_prepared_ahead_are_the_orders_drawn_in_turn(shuffle):
    """A parallel epoch prepares the next order early (EpochOrders.prepare);
    however often that happens, each epoch gets the order it would have got."""
    rows = np.arange(1000, dtype=np.uint32)
    expected_rng, rng = np.random.default_rng(5), np.random.default_rng(5)
    expected = [epoch_order(expected_rng, rows, shuffle) for _ in range(4)]
    orders = EpochOrders(rng, rows, shuffle)
    got = [orders.next()]
    orders.prepare()
    orders.prepare()  # a second call prepares nothing more
    got += [orders.next(), orders.next()]
    orders.prepare()
    got.append(orders.next())
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize(
    "params",
    [dict(), dict(n_classes=4), dict(n_classes=4, multi_class="multinomial", loss="log_loss")],
    ids=["binary", "ovr", "multinomial"],
)
def test_threads_shuffling_while_they_wait_train_the_same_model(monkeypatch, params):
    """n_jobs=2 shuffles the next epoch on the first idle thread; the model is
    the one trained with every shuffle between epochs."""
    from fastloss.linear_model import _runners

    params = dict(params)
    X, y = make_classification(
        n_samples=6000, n_features=10, n_informative=6, n_classes=params.pop("n_classes", 2),
        random_state=0,
    )  # fmt: skip
    fit = dict(n_jobs=2, max_iter=4, tol=None, random_state=0, **params)
    ahead = fastloss.SGDClassifier(**fit).fit(X, y)
    calls = []

    def results_only(futures, while_waiting=None):
        calls.append(while_waiting is not None)
        return [f.result() for f in futures]

    monkeypatch.setattr(_runners, "thread_results", results_only)
    between = fastloss.SGDClassifier(**fit).fit(X, y)
    assert calls == [True, True, True, False]  # every epoch but the last prepared one
    np.testing.assert_array_equal(ahead.coef_, between.coef_)
    np.testing.assert_array_equal(ahead.intercept_, between.intercept_)
