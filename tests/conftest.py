"""What several test modules share: child interpreters, a user-defined loss and
the expected failures of scikit-learn's estimator checks.

Helpers a test calls while it runs are fixtures. Values that a module needs
while pytest collects it (a ``parametrize`` list, the ``expected_failed_checks``
of ``parametrize_with_checks``) cannot come from a fixture, so they are plain
definitions here, imported with ``from conftest import ...`` (pytest puts
``tests/`` on ``sys.path`` and registers this file as the module ``conftest``,
so that import finds this very module, not a second copy).
"""

import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest
from numba.core import event

from fastloss import SGDClassifier
from fastloss.losses import Loss

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------- child interpreters
def _child_env(env_overrides):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(env_overrides)
    return env


def _rerun_in_subprocess(test_file, **env_overrides):
    """``pytest -k "not subprocess" test_file`` in a fresh interpreter.

    A crash of compiled code (a negative return code is a signal: -11 is a
    segfault) then fails one test instead of killing the whole run.
    """
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(test_file),
        "-k",
        "not subprocess",
    ]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=_child_env(env_overrides),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _run_python(source, *argv, timeout=600, cwd=ROOT, **env_overrides):
    """The last line ``python -c source *argv`` prints in a fresh interpreter
    (the repository on its path) started in ``cwd`` (first on its path); a
    failure shows the child's stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", source, *map(str, argv)],
        cwd=cwd,
        env=_child_env(env_overrides),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


class CompileRecorder(event.Listener):
    """Records the name of every function Numba compiles while registered."""

    def __init__(self):
        self.names = []

    def on_start(self, ev):
        self.names.append(ev.data["dispatcher"].py_func.__qualname__)

    def on_end(self, ev):
        pass


@contextmanager
def _recording_compiles():
    """Yield the list of functions Numba compiles inside the block."""
    recorder = CompileRecorder()
    event.register("numba:compile", recorder)
    try:
        yield recorder.names
    finally:
        event.unregister("numba:compile", recorder)


def _compiled_in_fresh_process(script, cache_dir):
    """Names of the functions Numba compiles while a fresh interpreter runs
    ``script`` with ``NUMBA_CACHE_DIR=cache_dir`` (what it could not load)."""
    # The child gets the recorder's source, not an import of this module,
    # which imports fastloss: the recording must start before fastloss loads.
    source = (
        "import json\nfrom contextlib import contextmanager\nfrom numba.core import event\n"
        + inspect.getsource(CompileRecorder)
        + inspect.getsource(_recording_compiles)
        + "with _recording_compiles() as compiled:\n"
        + textwrap.indent(textwrap.dedent(script), "    ")
        + '\nprint(json.dumps({"compiled": compiled}))\n'
    )
    return json.loads(_run_python(source, NUMBA_CACHE_DIR=str(cache_dir)))["compiled"]


@pytest.fixture(scope="session")
def rerun_in_subprocess():
    """``rerun_in_subprocess(test_file, **env)``: the file's tests, except the
    ones named "subprocess", in a child pytest; returns the ``CompletedProcess``."""
    return _rerun_in_subprocess


@pytest.fixture(scope="session")
def run_python():
    """``run_python(source, *argv, timeout=600, cwd=ROOT, **env)``: the last line
    a fresh interpreter running ``source`` prints (asserts it exited with 0)."""
    return _run_python


@pytest.fixture(scope="session")
def recording_compiles():
    """A context manager yielding the names of the functions Numba compiles
    inside its block."""
    return _recording_compiles


@pytest.fixture(scope="session")
def compiled_in_fresh_process():
    """``compiled_in_fresh_process(script, cache_dir)``: the names of the
    functions a fresh interpreter compiles running ``script`` over that cache."""
    return _compiled_in_fresh_process


@pytest.fixture(scope="session")
def repository_root():
    """The repository's root folder (the one holding ``fastloss/``)."""
    return ROOT


# ------------------------------------------------------------------ test ids
def stable_id(value) -> str:
    """A parametrized test's id for ``value``, the same in every interpreter:
    its repr without memory addresses (a function by its qualified name), at
    most 40 characters.  pytest-xdist's workers each collect the suite and
    must find the same ids (``.ci/run`` runs ``pytest -n auto``)."""
    if callable(value) and not isinstance(value, type) and hasattr(value, "__qualname__"):
        return value.__qualname__
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))[:40]


# ------------------------------------------------------- a user-defined loss
class AsymmetricSquaredError(Loss):
    """Half squared error, ``under`` times heavier when the prediction is too low.

    A user loss (plain Python that Numba compiles), used by the user-loss tests
    and by scikit-learn's estimator checks.
    """

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


# ------------------------------------- scikit-learn's estimator checks: xfails
# Unavoidable failures, each with its reason.  scikit-learn's own SGD estimators
# fail all of these checks the same way.
_WEIGHT_EQUIVALENCE = (
    "SGD visits each sample once an epoch, so a weight of 2 is not the same as a "
    "repeated sample (scikit-learn marks these checks xfail for its SGD too)."
)
_CLIPPED_PROBA = (
    "modified Huber probabilities are clipped to [0, 1] per class, so several "
    "one-vs-rest classes can tie at 1 where decision_function still orders them."
)
_UNBOUNDED_GRADIENT = (
    "class_weight=1000 on unscaled data makes a squared (unbounded-gradient) loss "
    "diverge; fastloss raises its divergence error, as it should."
)
_DIVERGES = (
    "the check fits features of mean 100 with a squared loss and a fixed step size: "
    "SGD diverges; scikit-learn returns astronomically large coefficients, fastloss "
    "raises its divergence error (a loss derivative beyond 1e12)."
)
_SQUARED_LOSSES = (
    "squared_error",
    "squared_epsilon_insensitive",
    "SquaredError",
    "SquaredEpsilonInsensitive",
    "AsymmetricSquaredError",
)
_EXP_DIVERGES = (
    "the check fits unscaled features (mean 100) with the log link and a fixed "
    "step size: exp(x w) explodes within an epoch and fastloss raises its "
    "divergence error; PoissonRegressor (Newton/L-BFGS) has no step size to tune."
)


def expected_failed_checks(estimator):
    """The ``expected_failed_checks`` of ``parametrize_with_checks`` for a
    fastloss estimator: ``{check name: reason}``."""
    failures = {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT_EQUIVALENCE,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHT_EQUIVALENCE,
    }
    loss = estimator.loss
    name = loss if isinstance(loss, str) else type(loss).__name__
    if name in _SQUARED_LOSSES:
        for check in ("check_fit_check_is_fitted", "check_fit_idempotent", "check_n_features_in"):
            failures[check] = _DIVERGES
        if isinstance(estimator, SGDClassifier):
            failures["check_class_weight_classifiers"] = _UNBOUNDED_GRADIENT
    if name == "poisson":
        for check in (
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_n_features_in",
            "check_regressor_data_not_an_array",
        ):
            failures[check] = _EXP_DIVERGES
    if isinstance(estimator, SGDClassifier) and name in ("modified_huber", "ModifiedHuber"):
        failures["check_classifiers_train"] = _CLIPPED_PROBA
    return failures
