"""The package's shape: imports flow one way, and names come from the classes.

Layers, top to bottom (``docs/developer/architecture.rst``): the benchmark
harness, the package root, the estimators (``linear_model``) and ``plot``,
``optim`` and ``losses`` (side by side, neither importing the other), the
compiled kernels (``_kernels``), and ``_config`` and ``_registry`` (plain
Python).  A package imports only from the layers below it, so the
package-level import graph has no cycle and the kernels know nothing of
scikit-learn, losses, optimizers or estimators.
"""

import ast
import graphlib
import re
from pathlib import Path

import numpy as np
import pytest

import fastloss
from fastloss import SGDClassifier, SGDRegressor, losses, optim
from fastloss._kernels import _layout
from fastloss.losses import Loss
from fastloss.optim import Optimizer, Schedule
from fastloss.optim._schedules import SCHEDULES

PACKAGE = Path(fastloss.__file__).parent

#: Rank of each part of the package: imports go to a strictly lower rank.
LAYERS = {
    "_config": 0,
    "_registry": 0,
    "_kernels": 1,
    "losses": 2,
    "optim": 2,
    "linear_model": 3,
    "plot": 3,
    "fastloss": 4,  # the package root: fastloss/__init__.py
    "onnx": 5,  # exports fitted estimators; imported by the user, never by fastloss
    "compile": 5,  # builds the kernel cache ahead of a deployment (python -m fastloss.compile)
    "bench": 5,
}


# ------------------------------------------------------------------ imports
def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the fastloss modules ``path`` imports anywhere (in
    functions too), ``from package import submodule`` resolved to the submodule."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in found if name in modules}


def _part(module: str) -> str:
    """The package-level node of a module: ``fastloss.losses._base`` -> ``losses``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph() -> dict[str, set[str]]:
    """``{part: parts it imports}`` over the whole package, from its source."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _part(_module_name(path))
        targets = {_part(m) for m in _imported_modules(path)} - {source}
        graph.setdefault(source, set()).update(targets)
    return graph


def test_import_graph_resolves_relative_and_function_level_imports():
    # losses/_base.py imports _kernels at module level; _base.py of losses has a
    # function-level import of ._user; linear_model imports losses
    base = _imported_modules(PACKAGE / "losses" / "_base.py")
    assert {"fastloss._kernels._layout", "fastloss.losses._user"} <= base
    assert "fastloss.losses" in _imported_modules(PACKAGE / "linear_model" / "_base.py")
    assert "fastloss.optim" in _imported_modules(PACKAGE / "__init__.py")


def test_package_import_graph_has_no_cycle_and_points_down():
    graph = package_graph()
    list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    assert set(graph) <= set(LAYERS), f"place the new package in LAYERS: {set(graph) - set(LAYERS)}"
    upward = {
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if LAYERS[target] >= LAYERS[source]
    }
    assert upward == set(), "imports must point to a lower layer"


def test_kernels_import_only_kernels_and_config():
    graph = package_graph()
    assert graph["_kernels"] <= {"_config"}
    assert graph["_config"] == set()
    assert not graph["_kernels"] & {"losses", "optim", "linear_model"}


def test_slot_and_code_constants_live_in_layout():
    """Slots and codes are defined once, in ``_kernels/_layout.py``."""
    slot = re.compile(r"^(H|S|C|O)_[A-Z0-9_]+$|^SLOT_|^N_SLOTS$|^(OVR|MULTINOMIAL|CRAMMER_SINGER)$")
    defined_elsewhere = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_layout.py" and path.parent.name == "_kernels":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                defined_elsewhere += [(path.name, n) for n in names if slot.match(n)]
    assert defined_elsewhere == []


# --------------------------------------------------------------- registries
NAMED_LOSSES = losses._base.named_losses()
LOSS_NAMES = {
    **losses.CLASSIFICATION_LOSSES,
    **losses.EXTRA_CLASSIFICATION_LOSSES,
    **losses.EXTRA_REGRESSION_LOSSES,
}


def _subclasses(base):
    found = []
    for cls in base.__subclasses__():
        found += [cls, *_subclasses(cls)]
    return found


def test_every_built_in_loss_carries_a_name_of_its_own():
    # a Sum is built from its terms, so no string can select it
    scalar = [
        cls
        for cls in _subclasses(Loss)
        if cls.__module__.startswith("fastloss.losses.")
        and cls._code not in (_layout.USER_DEFINED, _layout.MULTICLASS, _layout.COMPOSITE)
        and not cls.__name__.startswith("_")
    ]
    assert scalar and all("name" in cls.__dict__ for cls in scalar)
    names = [cls.name for cls in NAMED_LOSSES]
    assert len(names) == len(set(names)), "two losses share a name"
    assert set(LOSS_NAMES) == set(names)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_loss_names_round_trip(name):
    loss = losses.loss_from_name(name)
    assert type(loss) is LOSS_NAMES[name]
    assert type(loss).name == name
    # the compiled switch knows the loss's code (an unknown code gives NaN)
    assert np.isfinite(loss.loss([1.0], [0.5])).all()


def test_loss_registries_split_by_the_class_attributes():
    for cls in losses.REGRESSION_LOSSES.values():
        assert cls.sklearn_name and not cls.is_classification
    for cls in losses.CLASSIFICATION_LOSSES.values():
        assert cls.sklearn_name
    for cls in {**losses.EXTRA_REGRESSION_LOSSES, **losses.EXTRA_CLASSIFICATION_LOSSES}.values():
        assert not cls.sklearn_name
    with pytest.raises(ValueError, match="Unknown loss 'nope'; the loss names are"):
        losses.loss_from_name("nope")


def test_optimizer_names_round_trip():
    classes = [cls for cls in _subclasses(Optimizer) if cls.__module__.startswith("fastloss.")]
    assert classes and all("name" in cls.__dict__ for cls in classes)
    names = [cls.name for cls in classes]
    assert len(names) == len(set(names)), "two optimizers share a name"
    aliases = [alias for cls in classes for alias in cls.aliases]
    assert not set(aliases) & set(names) and len(aliases) == len(set(aliases))
    assert set(optim.OPTIMIZERS) == set(names) | set(aliases)
    for name in optim.OPTIMIZERS:
        optimizer = optim.optimizer_from_name(name)
        cls = type(optimizer)
        if name in cls.aliases:
            params = optimizer.get_params()
            assert all(params[k] == v for k, v in cls.aliases[name].items())
        else:
            assert cls.name == name and optimizer.get_params() == cls().get_params()
    with pytest.raises(ValueError, match="Unknown optimizer 'nope'"):
        optim.optimizer_from_name("nope")


def test_schedule_names_round_trip():
    assert set(SCHEDULES) == {"constant", "optimal", "invscaling", "adaptive"}
    for name, cls in SCHEDULES.items():
        assert cls.name == name and issubclass(cls, Schedule)


@pytest.mark.parametrize(
    "estimator, names",
    [
        (SGDClassifier, {**losses.CLASSIFICATION_LOSSES, **losses.EXTRA_CLASSIFICATION_LOSSES}),
        (SGDRegressor, {**losses.REGRESSION_LOSSES, **losses.EXTRA_REGRESSION_LOSSES}),
    ],
)
def test_estimator_docstrings_list_every_name(estimator, names):
    doc = " ".join(estimator.__doc__.split())
    assert [name for name in names if f'"{name}"' not in doc] == []
    assert [name for name in optim.OPTIMIZERS if f'"{name}"' not in doc] == []
    assert [name for name in optim.OPTIMIZERS if f'"{name}"' not in optim.__doc__] == []
