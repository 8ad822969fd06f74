"""Names from the classes: the registries of losses, optimizers and schedules.

A built-in loss, optimizer or schedule class carries its string ``name``; the
lookups (``loss_from_name``, ``OPTIMIZERS``, ``SCHEDULES``), the estimators'
docstring lists and error messages are built from those classes, so adding one
touches no list (docs/developer/architecture.rst).  Plain Python, below every
other layer.
"""

from __future__ import annotations

__all__ = ["named_subclasses"]


def named_subclasses(base: type, package: str) -> list[type]:
    """Subclasses of ``base`` defined in ``package`` that set a string ``name``,
    in definition order.

    A user's subclass (defined elsewhere) that sets ``name`` registers nothing;
    a name given to two classes is a bug, reported at import.
    """
    found, seen, pending = [], {}, list(base.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending[:0] = cls.__subclasses__()
        name = cls.__dict__.get("name")
        if isinstance(name, str) and cls.__module__.startswith(f"{package}."):
            if name in seen:
                raise RuntimeError(f"{cls.__name__} and {seen[name].__name__} share {name!r}.")
            seen[name] = cls
            found.append(cls)
    return found
