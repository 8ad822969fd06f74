"""Sphinx configuration of the fastloss documentation.

Build it (offline, warnings as errors) with::

    python -m sphinx -W -b html docs docs/_build/html

Set ``FASTLOSS_DOCS_INTERSPHINX=1`` to link to the NumPy, SciPy, scikit-learn,
matplotlib and Dask documentation; it needs the network (offline, intersphinx
only warns, which ``-W`` turns into a failure), so it is off by default.
"""

import importlib.util
import os
import re
import warnings
from pathlib import Path

import fastloss

project = "fastloss"
author = "the fastloss developers"
copyright = "the fastloss developers, BSD-3-Clause"  # noqa: A001
release = fastloss.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
if os.environ.get("FASTLOSS_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "dask": ("https://docs.dask.org/en/stable", None),
    }

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# API reference: one page per public name, generated from the docstrings
autosummary_generate = True
# a class page lists inherited members too (_templates/autosummary/class.rst):
# the estimators' score, densify, sparsify, get_params, set_params and
# set_callbacks come from their base classes.  No "inherited-members" key
# here: with Sphinx 9 a default of False overrides the template's flag.
autodoc_default_options = {"members": True}
# the page's table of contents names methods "fit()", not "SGDClassifier.fit()"
# (the long names ran off the right-hand column)
toc_object_entries_show_parents = "hide"
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# formulas: MathJax 3 served from the built site itself (the pages render
# offline), copied from the package sphinx-mathjax-offline (the extra "docs");
# its directory name has a hyphen, so it is located, not imported
_mathjax = importlib.util.find_spec("sphinx-mathjax-offline")
if _mathjax is None:
    raise RuntimeError('the docs need sphinx-mathjax-offline: pip install -e ".[docs]"')
html_static_path = [str(Path(_mathjax.origin).parent / "static")]  # -> _static/mathjax/
mathjax_path = "mathjax/tex-mml-chtml.js"

# gallery: every example runs during the build
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
    # one "Computation times" page, not two (one of them outside every toctree)
    "write_computation_times": False,
}

myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_title = f"fastloss {release}"
# pages without sub-pages: no empty section navigation on the left
html_sidebars = {"getting_started": [], "api": []}


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_<method>_request`` methods: their
    docstrings point into scikit-learn's glossary, which is not built here."""
    return True if re.fullmatch(r"set_\w+_request", name) else None


def _sklearn_text_offline(app, env, node, contnode):
    """Inherited scikit-learn docstrings (``score``, ``get_metadata_routing``)
    cross-reference scikit-learn's user guide; offline those stay plain text
    instead of failing the build (with intersphinx they link)."""
    if "docstring of sklearn." in (node.source or ""):
        return contnode
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
    if "sphinx.ext.intersphinx" not in extensions:
        app.connect("missing-reference", _sklearn_text_offline)


# examples draw with matplotlib's Agg backend, without a display
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")


def _warning_without_path(message, category, filename, lineno, line=None):
    """A warning in gallery output names its category, not this machine's files."""
    return f"{category.__name__}: {message}\n"


warnings.formatwarning = _warning_without_path
