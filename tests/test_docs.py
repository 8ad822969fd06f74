"""The documentation sources: every public name is in the API reference, and
every code block of README.md and of the documentation's pages runs.

Public packages are found by walking ``fastloss`` (every package or module
whose name has no leading underscore and that declares ``__all__``), so names
and packages added later are checked without editing this test.  The Sphinx
build itself runs in CI (``.ci/run``) with warnings as errors.

Code blocks: every page (``.rst`` / ``.md`` under ``docs/``, generated ones
left out, and README.md) is found by globbing, so a new page is run without
editing this test.  A page's blocks run top to bottom in one namespace, as a
reader would paste them, with ``__name__ == "__main__"`` and the working
directory a temporary one.  What runs:

- ``.. code-block:: python`` (also ``code`` / ``sourcecode``, ``py``,
  ``python3``, or no language: Sphinx highlights those as Python), bare
  ``::`` literal blocks (Sphinx highlights them as Python too; write
  ``.. code-block:: text`` or ``bash`` for anything else), and Markdown
  fences ``python`` / ``py`` / ``{code-block} python``: executed;
- doctest blocks (``>>>``, ``.. code-block:: pycon``): run by :mod:`doctest`,
  their printed output compared (``ELLIPSIS``, ``NORMALIZE_WHITESPACE``);
- ``bash`` / ``text`` / other languages: shown only (the README's test block
  is checked against ``.ci/run`` instead, and CI builds and installs the wheel).

A block that must not run (too slow, needs a service) is preceded by the
comment ``.. docs-test: skip <reason>`` in reStructuredText, or
``<!-- docs-test: skip <reason> -->`` / ``% docs-test: skip <reason>`` in
Markdown; the reason is required.  A page that imports a package of an extra
that is not installed (matplotlib, dask, skl2onnx...) is skipped; ``.ci/run``
installs them all.
"""

import doctest
import importlib
import io
import pkgutil
import re
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

import fastloss

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API_REFERENCE = DOCS / "api.rst"


# what the extras bring (pyproject.toml): a module or page that needs one is
# left out where it is not installed (.ci/run installs them all)
EXTRAS_PACKAGES = {
    "matplotlib",
    "dask",
    "distributed",
    "dask_ml",
    "skl2onnx",
    "onnx",
    "onnxruntime",
}


def missing_extra(error):
    """The package of an extra whose absence raised ``error``, or None."""
    while error is not None:
        if isinstance(error, ImportError) and (error.name or "").split(".")[0] in EXTRAS_PACKAGES:
            return error.name
        error = error.__cause__ or error.__context__
    return None


def public_modules():
    """``fastloss`` and its public submodules that declare ``__all__`` (those
    that need an extra which is not installed left out)."""
    modules = [fastloss]
    for info in pkgutil.walk_packages(fastloss.__path__, prefix="fastloss."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError as error:
            if missing_extra(error):
                continue
            raise
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


def documented_objects():
    """The objects the API reference lists (those of an extra not installed left out)."""
    objects = []
    for name in documented_names(API_REFERENCE.read_text()):
        try:
            objects.append(resolve(name))  # raises if the reference lists something gone
        except ImportError as error:
            if not missing_extra(error):
                raise
    return objects


def test_every_public_name_is_in_the_api_reference():
    documented = {id(obj) for obj in documented_objects()}
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
    documented_objects()  # raises if the reference lists something that is gone


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


# ------------------------------------------------------------------ code blocks
GENERATED = {"_build", "generated", "auto_examples", "_templates", "examples"}
DOC_PAGES = sorted(
    path.relative_to(ROOT).as_posix()
    for path in DOCS.rglob("*")
    if path.suffix in {".rst", ".md"}
    and not GENERATED & set(path.relative_to(DOCS).parts[:-1])
    and path.name != "sg_execution_times.rst"
)
# pages over ~5 s (the fast tier leaves them out)
SLOW_PAGES = {"docs/user_guide/dask.rst": "starts a local Dask cluster of two processes"}
PYTHON = {"", "python", "py", "python3"}
DOCTEST = {"pycon"}
SKIP = re.compile(r"^\s*(?:\.\.|%|<!--)\s*docs-test:\s*skip\b\s*(.*?)\s*(?:-->)?\s*$")


@dataclass
class Block:
    line: int  # 1-based line of the block's first code line
    language: str  # "python" or "pycon"
    code: str
    skip: str | None  # the reason given by a skip marker


def indent_of(line):
    return len(line) - len(line.lstrip())


def skip_reason(lines, index):
    """The reason of a skip marker on the nearest non-blank line before ``index``."""
    for line in reversed(lines[:index]):
        if line.strip():
            match = SKIP.match(line)
            return (match[1] or "") if match else None
    return None


def kind(language, code):
    if code.lstrip().startswith(">>>") or language in DOCTEST:
        return "pycon"
    return "python" if language in PYTHON else None


def rst_blocks(text):
    """Python and doctest blocks of a reStructuredText page."""
    lines, blocks, i = text.splitlines(), [], 0
    while i < len(lines):
        line, stripped = lines[i], lines[i].strip()
        directive = re.fullmatch(r"\.\. (?:code-block|code|sourcecode)::\s*(\S*)", stripped)
        literal = stripped.endswith("::") and not stripped.startswith("..")
        if stripped.startswith(">>>") and (i == 0 or not lines[i - 1].strip()):
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            code = textwrap.dedent("\n".join(lines[i:end]))
            blocks.append(Block(i + 1, "pycon", code, skip_reason(lines, i)))
            i = end
            continue
        if not (directive or literal):
            i += 1
            continue
        base, start = indent_of(line), i + 1
        while start < len(lines) and re.match(r"\s+:[\w-]+:", lines[start]):
            start += 1  # directive options
        end = start
        while end < len(lines) and (not lines[end].strip() or indent_of(lines[end]) > base):
            end += 1
        body = lines[start:end]
        first = next((k for k, text_line in enumerate(body) if text_line.strip()), None)
        language = directive[1].lower() if directive else ""
        if first is not None and (code := textwrap.dedent("\n".join(body[first:])).strip()):
            if block_kind := kind(language, code):
                reason = skip_reason(lines, i)
                blocks.append(Block(start + first + 1, block_kind, code + "\n", reason))
        i = end
    return blocks


def md_blocks(text):
    """Python and doctest blocks of a Markdown (MyST) page."""
    lines, blocks, i = text.splitlines(), [], 0
    while i < len(lines):
        fence = re.match(r"\s*(`{3,}|~{3,})\s*(.*)", lines[i])
        if not fence:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence[1]:
            end += 1
        info = fence[2].strip()
        directive = re.match(r"\{([\w-]+)\}\s*(\S*)", info)
        if directive:  # MyST: only the code directives hold code
            known = directive[1] in {"code-block", "code", "sourcecode"}
            language = directive[2].lower() if known else None
        else:
            language = info.split()[0].lower() if info else None  # a bare fence: plain text
        code = textwrap.dedent("\n".join(lines[i + 1 : end]))
        if language is not None and code.strip() and (block_kind := kind(language, code)):
            blocks.append(Block(i + 2, block_kind, code, skip_reason(lines, i)))
        i = end + 1
    return blocks


def code_blocks(page):
    text = (ROOT / page).read_text()
    return md_blocks(text) if page.endswith(".md") else rst_blocks(text)


def run_blocks(page, blocks):
    """Run a page's blocks in order in one namespace; fail naming the block."""
    namespace = {"__name__": "__main__"}
    for block in blocks:
        if block.skip is not None:
            continue
        where = f"{page}:{block.line}"
        if block.language == "python":
            exec(compile(block.code, where, "exec"), namespace)
            continue
        test = doctest.DocTestParser().get_doctest(block.code, namespace, where, page, block.line)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        report = io.StringIO()
        runner.run(test, out=report.write, clear_globs=False)
        assert not runner.failures, f"doctest block at {where} failed:\n{report.getvalue()}"


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(page, marks=pytest.mark.slow) if page in SLOW_PAGES else page
        for page in ["README.md", *DOC_PAGES]
    ],
)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    """Every Python and doctest block of the page runs as written (the README's
    example once paired a loss without ``epsilon`` with ``loss__epsilon`` and
    crashed when fitted)."""
    monkeypatch.chdir(tmp_path)  # blocks that save files write here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    blocks = code_blocks(page)
    for block in blocks:
        assert block.skip is None or block.skip, f"{page}:{block.line}: give a reason to skip"
    try:
        run_blocks(page, blocks)
    except ImportError as error:
        if not (package := missing_extra(error)):
            raise
        pytest.skip(f"{page} needs {package}, from an extra that is not installed")


def test_pages_with_examples_are_found():
    assert {"docs/getting_started.rst", "docs/index.md", "docs/user_guide/losses.rst"} <= set(
        DOC_PAGES
    )
    assert not any("/generated/" in page or "auto_examples" in page for page in DOC_PAGES)
    assert [block.language for block in code_blocks("README.md")].count("python") >= 2


def page_title(page):
    """The first section title of a page (reStructuredText underline or ``# ``)."""
    lines = (ROOT / page).read_text().splitlines()
    for above, line in zip(lines, lines[1:], strict=False):
        if page.endswith(".md") and above.startswith("# "):
            return above[2:].strip()
        if above.strip() and re.fullmatch(r"(=+|-+|~+|\*+|#+)", line.strip() or "x"):
            return above.strip()
    return None


def test_one_topic_one_page():
    """No two pages share a title (the multiclass, loss and optimizer topics
    once had two pages each)."""
    titles = {}
    for page in DOC_PAGES:
        titles.setdefault(page_title(page), []).append(page)
    assert not {title: pages for title, pages in titles.items() if len(pages) > 1}


def test_wheel_names_in_the_docs_carry_the_version():
    """The install instructions name the wheel ``pip wheel`` builds today."""
    for page in ["README.md", *DOC_PAGES]:
        for version in re.findall(
            r"fastloss-([\w.]+)-py3-none-any\.whl", (ROOT / page).read_text()
        ):
            assert version == fastloss.__version__, f"{page} names the wheel of {version}"


def test_the_block_parser_reads_rst_and_markdown():
    rst = """
Text::

   a = 1

.. code-block:: python
   :caption: options are skipped

   b = a + 1

   c = b

.. docs-test: skip (needs a cluster)

.. code-block:: python

   raise RuntimeError

.. code-block:: bash

   echo not run

>>> print(c)
2

.. code-block:: text

   shown only
"""
    blocks = rst_blocks(rst)
    assert [(b.language, b.code, b.skip) for b in blocks] == [
        ("python", "a = 1\n", None),
        ("python", "b = a + 1\n\nc = b\n", None),
        ("python", "raise RuntimeError\n", "(needs a cluster)"),
        ("pycon", ">>> print(c)\n2", None),
    ]
    run_blocks("example.rst", blocks)  # the skipped block does not raise

    md = """
```python
x = 1
```

<!-- docs-test: skip slow -->
```{code-block} python
raise RuntimeError
```

```{toctree}
page
```

```bash
exit 1
```
"""
    assert [(b.language, b.code, b.skip) for b in md_blocks(md)] == [
        ("python", "x = 1", None),
        ("python", "raise RuntimeError", "slow"),
    ]
