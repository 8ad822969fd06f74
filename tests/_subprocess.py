"""Run a test file's other tests again in a child interpreter."""

import os
import subprocess
import sys
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
