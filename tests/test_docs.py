"""The documentation sources: every public name is in the API reference.

Public packages are found by walking ``fastloss`` (every package or module
whose name has no leading underscore and that declares ``__all__``), so names
and packages added later are checked without editing this test.  The Sphinx
build itself runs in CI (``.ci/run``) with warnings as errors.
"""

import importlib
import pkgutil
import re
import types
from pathlib import Path

import pytest

import fastloss

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API_REFERENCE = DOCS / "api.rst"


def public_modules():
    """``fastloss`` and its public submodules that declare ``__all__``."""
    modules = [fastloss]
    for info in pkgutil.walk_packages(fastloss.__path__, prefix="fastloss."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            modules.append(module)
    return modules


def documented_names(source):
    """Qualified names listed in ``autosummary`` blocks or ``auto*`` directives,
    resolved against the ``currentmodule`` in force."""
    names, module, in_autosummary = [], None, False
    for line in source.splitlines():
        stripped = line.strip()
        if match := re.fullmatch(r"\.\. (?:current|py:)?module:: (\S+)", stripped):
            module, in_autosummary = match[1], False
        elif stripped == ".. autosummary::":
            in_autosummary = True
        elif match := re.fullmatch(r"\.\. auto(?:class|function|data|module):: (\S+)", stripped):
            name = match[1]
            names.append(name if "." in name or module is None else f"{module}.{name}")
            in_autosummary = False
        elif in_autosummary:
            if not line.startswith((" ", "\t")) and stripped:
                in_autosummary = False
            elif stripped and not stripped.startswith(":"):
                names.append(f"{module}.{stripped}")
    return names


def resolve(qualified_name):
    module_name, _, attribute = qualified_name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def test_every_public_name_is_in_the_api_reference():
    documented = {id(resolve(name)) for name in documented_names(API_REFERENCE.read_text())}
    missing = []
    for module in public_modules():
        for name in module.__all__:
            obj = getattr(module, name)
            if name.startswith("__") or isinstance(obj, types.ModuleType):
                continue  # __version__; subpackages are checked on their own
            if id(obj) not in documented:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"add these to docs/api.rst: {missing}"


def test_every_documented_name_exists():
    for name in documented_names(API_REFERENCE.read_text()):
        resolve(name)  # raises if the reference lists something that is gone


def test_public_subpackages_are_found():
    names = {module.__name__ for module in public_modules()}
    assert {"fastloss", "fastloss.losses", "fastloss.plot", "fastloss.bench"} <= names


def test_the_parser_reads_autosummary_blocks():
    source = """
.. currentmodule:: pkg

.. autosummary::
   :toctree: generated/

   A
   b

Text that ends the block.

   C

.. autoclass:: other.D
"""
    assert documented_names(source) == ["pkg.A", "pkg.b", "other.D"]


@pytest.mark.parametrize("page", sorted(p.name for p in (DOCS / "user_guide").glob("*.rst")))
def test_user_guide_pages_are_in_its_toctree(page):
    index = (DOCS / "user_guide" / "index.rst").read_text()
    assert page == "index.rst" or re.search(rf"^\s+{page[:-4]}$", index, re.M)


def test_readme_test_command_is_what_ci_runs():
    """The README's "Run the lint gate and the tests" block is, line for line and
    in order, what ``.ci/run`` runs: CI tests what a contributor is told to run."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"Run the lint gate and the tests.*?```bash\n(.*?)```", readme, re.S)
    assert block, "README.md lost its test command block"
    readme_lines = block.group(1).strip().splitlines()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "-m pytest -q" in readme_lines[-1]
    start = ci_lines.index(readme_lines[0])
    assert ci_lines[start : start + len(readme_lines)] == readme_lines


def test_readme_python_blocks_run():
    """Every Python block of the README runs as written (its example once paired a
    loss without ``epsilon`` with ``loss__epsilon`` and crashed when fitted)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "README.md lost its Python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme_example"})
