"""Child interpreters for tests: rerun a test file, or count what a script compiles."""

import json
import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

from numba.core import event

ROOT = Path(__file__).resolve().parents[1]


def rerun_in_subprocess(test_file, **env_overrides):
    """``pytest -k "not subprocess" test_file`` in a fresh interpreter.

    A crash of compiled code (a negative return code is a signal: -11 is a
    segfault) then fails one test instead of killing the whole run.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(env_overrides)
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
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def run_python(source, *argv, timeout=600, cwd=ROOT, **env_overrides):
    """The last line ``python -c source *argv`` prints in a fresh interpreter
    (the repository on its path) started in ``cwd`` (first on its path); a
    failure shows the child's stderr."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(env_overrides)
    proc = subprocess.run(
        [sys.executable, "-c", source, *map(str, argv)],
        cwd=cwd,
        env=env,
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
def recording_compiles():
    """Yield the list of functions Numba compiles inside the block."""
    recorder = CompileRecorder()
    event.register("numba:compile", recorder)
    try:
        yield recorder.names
    finally:
        event.unregister("numba:compile", recorder)


def compiled_in_fresh_process(script, cache_dir):
    """Names of the functions Numba compiles while a fresh interpreter runs
    ``script`` with ``NUMBA_CACHE_DIR=cache_dir`` (what it could not load)."""
    source = (
        f"import json, sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from _subprocess import recording_compiles\n"
        "with recording_compiles() as compiled:\n"
        + textwrap.indent(textwrap.dedent(script), "    ")
        + '\nprint(json.dumps({"compiled": compiled}))\n'
    )
    return json.loads(run_python(source, NUMBA_CACHE_DIR=str(cache_dir)))["compiled"]
