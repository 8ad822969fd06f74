"""Child interpreters for tests: rerun a test file, or count what a script compiles."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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


#: Prepended to a script: records the name of every function Numba compiles.
_RECORD_COMPILES = """
import json
from numba.core import event

compiled = []

class Recorder(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)

    def on_end(self, ev):
        pass

event.register("numba:compile", Recorder())
"""


def compiled_in_fresh_process(script, cache_dir):
    """Names of the functions Numba compiles while a fresh interpreter runs
    ``script`` with ``NUMBA_CACHE_DIR=cache_dir`` (what it could not load)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    source = _RECORD_COMPILES + textwrap.dedent(script)
    source += '\nprint(json.dumps({"compiled": compiled}))\n'
    out = subprocess.run(
        [sys.executable, "-c", source],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["compiled"]
