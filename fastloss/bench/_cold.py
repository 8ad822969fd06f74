"""Cold start: ``import`` plus a first fit on 1,000 x 10 data in a fresh process.

Three measurements, each in its own subprocess and timed inside it (from just
before the library's import to the end of its first ``fit``; NumPy and the
data are ready before the clock starts, the interpreter's own start is not
counted):

* fastloss with a warm Numba cache (the cache this installation already uses);
* scikit-learn's SGDClassifier;
* fastloss with an empty temporary ``NUMBA_CACHE_DIR`` (compiles every kernel);
* fastloss loading a cache that ``python -m fastloss.compile --cache-dir DIR``
  built, from a read-only ``DIR`` (``FASTLOSS_CACHE_DIR``; made read-only with
  ``chmod -R a-w`` and, since that does not stop root, by an audit hook that
  fails every write under it, as a read-only mount would);
* fastloss's warm start part by part, in the order the import and the fit
  reach them (the scikit-learn modules fastloss builds on; ``numba``;
  fastloss's own modules; Numba's runtime, code generator and installed
  extensions, which its first call of any compiled function sets up, even one
  loaded from the cache; the first fit itself).

"Warm" means both caches a second process finds: Numba's compiled kernels and
Python's bytecode.  The untimed first run writes fastloss's bytecode even
where ``PYTHONDONTWRITEBYTECODE`` is set (as on the machine the README's
numbers come from): scikit-learn's was written when pip installed it, and an
editable install of fastloss would otherwise recompile its sources in every
timed run.  The warm runs alternate the two libraries and keep medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import fastloss

__all__ = ["PARTS", "ColdStart", "measure_cold_start"]

#: NumPy and the 1,000 x 10 problem, ready before any clock starts.
_DATA = """
import json
import time
import numpy as np
rng = np.random.default_rng(0)
X = rng.standard_normal((1000, 10))
y = (X[:, 0] + 0.1 * rng.standard_normal(1000) > 0).astype(np.int64)
"""

_SCRIPT = (
    _DATA
    + """
start = time.perf_counter()
from {module} import SGDClassifier
SGDClassifier(random_state=0).fit(X, y)
print(repr(time.perf_counter() - start))
"""
)

_MODULES = {"fastloss": "fastloss", "sklearn": "sklearn.linear_model"}

#: Run first in the read-only runs: every write under ``$READ_ONLY`` fails.
_READ_ONLY_GUARD = """
import os, sys
_READ_ONLY = os.path.realpath(os.environ["READ_ONLY"])

def _guard(event, args):
    if event == "open":
        mode, flags = args[1], args[2]
        if not ((mode and any(c in mode for c in "wax+")) or (
                flags and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))):
            return
    elif event not in ("os.mkdir", "os.remove", "os.rename", "os.rmdir"):
        return
    path = args[0]
    if isinstance(path, (str, bytes)) and os.path.realpath(os.fsdecode(path)).startswith(
            _READ_ONLY):
        raise PermissionError(13, "Read-only file system", os.fsdecode(path))

sys.addaudithook(_guard)
"""

_PARTS_SCRIPT = (
    _DATA
    + """
clock = [time.perf_counter()]
import sklearn.base, sklearn.callback, sklearn.utils.validation
clock.append(time.perf_counter())
import numba
clock.append(time.perf_counter())
from fastloss import SGDClassifier
clock.append(time.perf_counter())
from numba.core import entrypoints
from numba.core.registry import cpu_target
from numba.core.runtime import nrt
entrypoints.init_all()
nrt.rtsys.initialize(cpu_target.target_context)
clock.append(time.perf_counter())
SGDClassifier(random_state=0).fit(X, y)
clock.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(clock, clock[1:])]))
"""
)

#: Names of the parts :data:`_PARTS_SCRIPT` times, in order.
PARTS = (
    "scikit-learn modules",
    "numba",
    "fastloss modules",
    "Numba's runtime and extensions",
    "first fit",
)


@dataclass
class ColdStart:
    """Seconds of ``import`` + first fit in a fresh process.

    Attributes
    ----------
    fastloss_warm_seconds : float
        fastloss, warm Numba cache (median).
    sklearn_seconds : float
        scikit-learn (median).
    fastloss_cold_cache_seconds : float or None
        fastloss with an empty Numba cache; ``None`` when not measured.
    fastloss_parts : dict or None
        Seconds of each part of fastloss's warm start (:data:`PARTS`), medians.
    fastloss_read_only_seconds : float or None
        fastloss loading the cache ``python -m fastloss.compile`` built, from a
        read-only directory (median); ``None`` when not measured.
    compile_step_seconds : float or None
        What that compile step took (once).
    """

    fastloss_warm_seconds: float
    sklearn_seconds: float
    fastloss_cold_cache_seconds: float | None = None
    fastloss_parts: dict[str, float] | None = None
    fastloss_read_only_seconds: float | None = None
    compile_step_seconds: float | None = None

    @property
    def warm_ratio(self) -> float:
        """``fastloss_warm / sklearn``: above 1 means fastloss starts slower."""
        return self.fastloss_warm_seconds / self.sklearn_seconds

    @property
    def read_only_ratio(self) -> float | None:
        """``fastloss_read_only / fastloss_warm`` (issue 21 asks for at most 1.3), or ``None``."""
        if self.fastloss_read_only_seconds is None:
            return None
        return self.fastloss_read_only_seconds / self.fastloss_warm_seconds

    @property
    def cold_cache_ratio(self) -> float | None:
        """``fastloss_cold_cache / sklearn``, or ``None``."""
        if self.fastloss_cold_cache_seconds is None:
            return None
        return self.fastloss_cold_cache_seconds / self.sklearn_seconds


def _environment(**extra: str) -> dict:
    """This process's environment, with fastloss's parent directory on ``PYTHONPATH``."""
    root = str(Path(fastloss.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def _write_bytecode() -> None:
    """Run fastloss once with bytecode writing on (see the module docstring)."""
    environment = _environment()
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    _run_script(_SCRIPT.format(module="fastloss"), "fastloss", environment=environment)


def _run_once(library: str, **env: str) -> float:
    """Seconds reported by one fresh interpreter importing ``library`` and fitting."""
    return float(_run_script(_SCRIPT.format(module=_MODULES[library]), library, **env))


def _compile_step(cache_dir: str) -> float:
    """``python -m fastloss.compile --cache-dir cache_dir``, then ``chmod -R a-w``;
    returns the step's seconds."""
    command = "import sys; from fastloss.compile import compile_kernels as c; print(c(sys.argv[1]))"
    completed = subprocess.run(
        [sys.executable, "-c", command, cache_dir],
        capture_output=True,
        text=True,
        env=_environment(),
        check=False,
        timeout=1800,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the compile step failed:\n{completed.stderr}")
    for folder, _, files in os.walk(cache_dir):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            os.chmod(path, os.stat(path).st_mode & ~0o222)
    return float(completed.stdout.strip().splitlines()[-1])


def _read_only_once(cache_dir: str) -> float:
    """Seconds of import + first fit loading the compiled cache from read-only ``cache_dir``."""
    script = _READ_ONLY_GUARD + _SCRIPT.format(module="fastloss")
    env = {"FASTLOSS_CACHE_DIR": cache_dir, "READ_ONLY": cache_dir}
    return float(_run_script(script, "fastloss (read-only cache)", **env))


def _make_writable(cache_dir: str) -> None:
    for folder, _, files in os.walk(cache_dir):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            os.chmod(path, os.stat(path).st_mode | 0o200)


def _parts_once() -> list[float]:
    """Seconds of each of :data:`PARTS` in one fresh interpreter."""
    return json.loads(_run_script(_PARTS_SCRIPT, "fastloss (part by part)"))


def _run_script(script: str, library: str, environment: dict | None = None, **env: str) -> str:
    """Last line a fresh interpreter running ``script`` prints."""
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=_environment(**env) if environment is None else environment,
        check=False,
        timeout=600,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"cold-start subprocess for {library} failed:\n{completed.stderr}")
    return completed.stdout.strip().splitlines()[-1]


def _cold_cache_seconds() -> float:
    """fastloss's import + first fit with an empty, temporary Numba cache."""
    with tempfile.TemporaryDirectory(prefix="fastloss-bench-cache-") as cache_dir:
        return _run_once("fastloss", NUMBA_CACHE_DIR=cache_dir)


def measure_cold_start(
    repeat: int = 3,
    cold_cache: bool = True,
    parts: int | None = None,
    read_only: bool | None = None,
) -> ColdStart:
    """Measure fastloss's and scikit-learn's start in fresh processes.

    Parameters
    ----------
    repeat : int, default=3
        Alternating warm runs of each library (after one untimed fastloss run
        that fills both caches if needed).
    cold_cache : bool, default=True
        Also measure one fastloss run with an empty Numba cache.
    parts : int, optional
        Part-by-part runs of fastloss's warm start (default: ``repeat``); the
        quick suite makes one, each costs a fresh interpreter.
    read_only : bool, optional
        Also run the compile step (``python -m fastloss.compile``, a minute or
        two) into a temporary directory, make it read-only and time ``repeat``
        starts loading from it, alternating with the warm runs.  Defaults to
        ``cold_cache`` (both cost compiles; the quick suite skips them).

    Returns
    -------
    ColdStart
    """
    _write_bytecode()  # and make sure Numba's cache is warm
    n_parts = repeat if parts is None else parts
    read_only = cold_cache if read_only is None else read_only
    sklearn_times, fastloss_times, part_times, read_only_times = [], [], [], []
    compile_seconds = None
    with tempfile.TemporaryDirectory(prefix="fastloss-bench-compiled-") as compiled:
        if read_only:
            compile_seconds = _compile_step(compiled)
        for k in range(repeat):
            sklearn_times.append(_run_once("sklearn"))
            fastloss_times.append(_run_once("fastloss"))
            if read_only:
                read_only_times.append(_read_only_once(compiled))
            if k < n_parts:
                part_times.append(_parts_once())
        if read_only:
            _make_writable(compiled)  # so that it can be removed
    return ColdStart(
        fastloss_warm_seconds=statistics.median(fastloss_times),
        sklearn_seconds=statistics.median(sklearn_times),
        fastloss_read_only_seconds=statistics.median(read_only_times) if read_only else None,
        compile_step_seconds=compile_seconds,
        fastloss_cold_cache_seconds=_cold_cache_seconds() if cold_cache else None,
        fastloss_parts={
            name: statistics.median(seconds)
            for name, seconds in zip(PARTS, zip(*part_times, strict=True), strict=True)
        }
        if part_times
        else None,
    )
