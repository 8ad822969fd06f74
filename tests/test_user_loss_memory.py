"""User-defined loss classes are not kept alive by fastloss (issue 21, item 6).

Each class's compiled kernels were held forever through a strong registry of
checked classes (about 8.5 MB a class).  Classes made by the same code (a class
statement run again: a factory, a re-run notebook cell) now share one set of
compiled kernels, and no registry keeps a class alive.
"""

import gc
import json
import textwrap
import weakref

import numpy as np
import pytest

from fastloss import SGDRegressor
from fastloss.losses import Loss, check_loss


def make_loss():
    """A new class object each call, from the same code."""

    class Made(Loss):
        def __init__(self, under=2.0):
            self.under = under

        @staticmethod
        def sample_loss(y, p, under):
            r = p - y
            return 0.5 * r * r * (under if r < 0.0 else 1.0)

        @staticmethod
        def sample_derivative(y, p, under):
            r = p - y
            return r * (under if r < 0.0 else 1.0)

    return Made


def _fit(cls, X, y):
    return SGDRegressor(loss=cls(), max_iter=2, tol=None, random_state=0).fit(X, y).coef_


@pytest.mark.slow
def test_fifty_user_loss_classes_are_freed(recording_compiles):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    reference = _fit(make_loss(), X, y)
    refs = []
    with recording_compiles() as compiled:
        for _ in range(50):
            cls = make_loss()
            np.testing.assert_array_equal(_fit(cls, X, y), reference)
            refs.append(weakref.ref(cls))
            del cls
    gc.collect()
    assert sum(r() is not None for r in refs) == 0, "a registry keeps user loss classes alive"
    # the same code compiled once, not once a class
    assert compiled == [], compiled


def test_check_results_memoised_while_the_class_lives(monkeypatch):
    from fastloss.losses import _check

    cls = make_loss()
    calls = []
    monkeypatch.setattr(_check, "check_loss", lambda loss: calls.append(loss.under))
    _check.check_loss_once(cls(2.0))
    _check.check_loss_once(cls(2.0))
    _check.check_loss_once(cls(3.0))
    assert len(calls) == 2
    ref = weakref.ref(cls)
    del cls
    gc.collect()
    assert ref() is None


def test_different_code_is_not_shared():
    """Two classes whose methods differ get their own compiled functions."""

    class Doubled(make_loss()):
        @staticmethod
        def sample_loss(y, p, under):
            r = p - y
            return r * r * (under if r < 0.0 else 1.0)

        @staticmethod
        def sample_derivative(y, p, under):
            r = p - y
            return 2.0 * r * (under if r < 0.0 else 1.0)

    y, p = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    base = make_loss()()
    np.testing.assert_allclose(Doubled().loss(y, p), 2 * base.loss(y, p))
    np.testing.assert_allclose(Doubled().gradient(y, p), 2 * base.gradient(y, p))
    check_loss(Doubled())


RSS_SCRIPT = textwrap.dedent(
    """
    import gc, json, os
    import numpy as np
    from fastloss import SGDRegressor
    from fastloss.losses import Loss

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def make_loss():
        class Made(Loss):
            def __init__(self, under=2.0):
                self.under = under

            @staticmethod
            def sample_loss(y, p, under):
                r = p - y
                return 0.5 * r * r * (under if r < 0.0 else 1.0)

            @staticmethod
            def sample_derivative(y, p, under):
                r = p - y
                return r * (under if r < 0.0 else 1.0)
        return Made

    X = np.random.default_rng(0).normal(size=(50, 3))
    y = X[:, 0]
    sizes = []
    for k in range(50):
        SGDRegressor(loss=make_loss()(), max_iter=2, tol=None).fit(X, y)
        gc.collect()
        if k in (4, 49):
            sizes.append(rss_mb())
    print(json.dumps(sizes))
    """
)


@pytest.mark.slow
def test_fifty_user_loss_classes_keep_memory_flat(run_python):
    """In a fresh process: the resident size after 50 classes is within a few
    MB of that after 5 (it grew by about 8.5 MB a class)."""
    after_5, after_50 = json.loads(run_python(RSS_SCRIPT))
    assert after_50 - after_5 < 20, (after_5, after_50)
