"""Forking while another thread compiles must not leave the child's compiler
locks held (issue 21, item 1).

A child process inherits every lock in the state it had at the fork.  Held by
a thread of the parent that was compiling (a user loss, any kernel), fastloss's
lock in ``losses/_user.py`` and Numba's global compiler lock would stay held
forever in the child, whose next compile then hangs.  The test runs in a child
interpreter with a hard timeout, and the grandchild made by ``os.fork`` is
killed if it does not finish, so a regression fails instead of hanging CI.
"""

import json
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX only")

SCRIPT = textwrap.dedent(
    """
    import json
    import os
    import signal
    import threading
    import time

    import numpy as np
    from numba.core import event

    import fastloss
    from fastloss.losses import Loss


    def make_loss(scale):
        class Scaled(Loss):
            def __init__(self, under=2.0):
                self.under = under

            @staticmethod
            def sample_loss(y, p, under):
                r = p - y
                return scale * 0.5 * r * r * (under if r < 0.0 else 1.0)

            @staticmethod
            def sample_derivative(y, p, under):
                r = p - y
                return scale * r * (under if r < 0.0 else 1.0)

        return Scaled


    compiling = threading.Event()


    class Stall(event.Listener):
        # runs inside a compile, with the compiler locks held: the fork below
        # comes while the other thread compiles
        def on_start(self, ev):
            if threading.current_thread() is not threading.main_thread():
                compiling.set()
                time.sleep(0.3)

        def on_end(self, ev):
            pass


    event.register("numba:compile", Stall())
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = X[:, 0]
    worker = threading.Thread(target=lambda: make_loss(1.0)().loss(y, X[:, 1]))
    worker.start()
    assert compiling.wait(60)

    pid = os.fork()
    if pid == 0:  # the child: compile a new user loss, fit with it, exit
        try:
            model = fastloss.SGDRegressor(loss=make_loss(3.0)(), max_iter=2, tol=None)
            model.fit(X, y)
            code = 0 if np.isfinite(model.coef_).all() else 3
        except BaseException:
            code = 4
        os._exit(code)

    deadline = time.monotonic() + float(os.environ["CHILD_TIMEOUT"])
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        status = None
    worker.join()
    print(json.dumps({"hung": status is None,
                      "exit": None if status is None else os.waitstatus_to_exitcode(status)}))
    """
)


@pytest.mark.slow
def test_child_compiles_after_fork_during_compile(run_python):
    # the child compiles a user loss and an epoch kernel for it (~5 s here);
    # a hang is cut at 60 s
    out = json.loads(run_python(SCRIPT, timeout=240, CHILD_TIMEOUT="60"))
    assert not out["hung"], "the forked child hung compiling: a compiler lock stayed held"
    assert out["exit"] == 0
