"""Copies of compiled kernels with some of their globals rebound.

Every compiled kernel reaches its loss only through the module-level functions
``loss_value(code, y, p, params)`` and ``loss_derivative(code, y, p, params)``
of :mod:`fastloss._kernels._loss_switch` (an integer switch over the built-in
losses, cacheable on disk).  A user-defined loss has no code in that switch, and
a kernel that received the loss as a function argument or closed over it would
recompile in every process for every call site (docs/developer/architecture.rst,
"Measured facts").  Instead, once per
process and user loss class, ``fastloss.losses._user.kernel_for`` asks
:func:`specialise` for a copy of the kernel's Python function with those two
globals bound to compiled wrappers around the user's scalar methods
(``types.FunctionType`` over the same code object, new globals) and jits that
copy.  Helpers the kernel calls that themselves use the switch are rebuilt the
same way, so the substitution reaches them too.

Any kernel that follows the contract works, whatever its signature: the epoch
kernels, the vectorised ``loss_array`` / ``derivative_array``, and kernels
added later.  The copies are not cached on disk (their globals hold functions
defined at run time); they compile once per process and argument types.  This
module knows nothing of losses: the caller says what to replace.
"""

from __future__ import annotations

import types

from numba import njit
from numba.core.registry import CPUDispatcher

__all__ = ["specialise"]


def specialise(kernel: CPUDispatcher, replacements: dict, _memo: dict | None = None):
    """A jitted copy of ``kernel`` whose globals ``replacements`` rebinds.

    Parameters
    ----------
    kernel : numba dispatcher
    replacements : dict
        ``{id(original global object): replacement}``; globals are matched by
        identity, so they are found whatever name a module imported them under.
        Globals that are themselves dispatchers referring (transitively) to a
        replaced object are specialised too.
    _memo : dict, optional
        Dispatchers already visited in this call (recursion bookkeeping).

    Returns
    -------
    numba dispatcher
        ``kernel`` itself when nothing in it needed replacing.
    """
    memo = {} if _memo is None else _memo
    if id(kernel) in memo:
        return memo[id(kernel)]
    memo[id(kernel)] = kernel  # breaks cycles (recursion) conservatively
    py_func = kernel.py_func
    new_globals = None
    for name in _global_names(py_func.__code__):
        if name not in py_func.__globals__:
            continue
        value = py_func.__globals__[name]
        if id(value) in replacements:
            replacement = replacements[id(value)]
        elif isinstance(value, CPUDispatcher):
            replacement = specialise(value, replacements, memo)
        elif isinstance(value, types.ModuleType):
            replacement = _module_with(value, replacements)
        else:
            continue
        if replacement is not value:
            if new_globals is None:
                new_globals = dict(py_func.__globals__)
            new_globals[name] = replacement
    if new_globals is None:
        return kernel
    copy = types.FunctionType(
        py_func.__code__,
        new_globals,
        py_func.__name__,
        py_func.__defaults__,
        py_func.__closure__,
    )
    copy.__kwdefaults__ = py_func.__kwdefaults__
    copy.__qualname__ = py_func.__qualname__
    copy.__doc__ = py_func.__doc__
    copy.__module__ = py_func.__module__
    options = {k: v for k, v in kernel.targetoptions.items() if k not in ("cache", "nopython")}
    result = njit(cache=False, **options)(copy)
    memo[id(kernel)] = result
    return result


def _module_with(module: types.ModuleType, replacements: dict) -> types.ModuleType:
    """``module`` itself, or a copy with ``replacements`` applied to its attributes
    (for kernels that write ``_loss_switch.loss_value(...)``)."""
    names = [k for k, v in vars(module).items() if id(v) in replacements]
    if not names:
        return module
    copy = types.ModuleType(module.__name__)
    vars(copy).update(vars(module))
    for name in names:
        setattr(copy, name, replacements[id(getattr(module, name))])
    return copy


def _global_names(code: types.CodeType):
    """Global names a code object (and the code objects nested in it) loads."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)
