"""User-defined losses: find their scalar methods and specialise kernels for them.

A user loss is a :class:`~fastloss.losses.Loss` subclass with two static
methods, ``sample_loss(y, p, *hyperparameters)`` and
``sample_derivative(y, p, *hyperparameters)``.  :func:`compiled_switch` turns
them into drop-in replacements for ``_loss_switch.loss_value`` /
``_loss_switch.loss_derivative`` (same signature ``(code, y, p, params)``, the
hyperparameters read from ``params`` in the methods' argument order), which
:func:`kernel_for` binds into copies of the kernels
(``fastloss._kernels._specialise``).
"""

from __future__ import annotations

import inspect
import threading
import weakref
from dataclasses import dataclass

from numba import njit, types
from numba.core.errors import NumbaError
from numba.core.registry import CPUDispatcher

from .._config import fork_safe
from .._kernels import _loss_switch
from .._kernels._specialise import specialise

__all__ = ["ScalarMethods", "scalar_methods", "compiled_switch", "kernel_for"]

METHODS = ("sample_loss", "sample_derivative")

_METHODS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: {user loss class: its _Compiled}; a class is never kept alive here.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: {what the scalar methods compile from (_code_key): _Compiled}, shared by the
#: classes a class statement run again makes (a factory, a re-run notebook
#: cell).  Kept for the process: Numba never frees machine code it has
#: compiled (it does not remove modules from its JIT engine), so dropping
#: these would free little and cost a new compile (about 8.5 MB that is
#: never returned) for the next class made by the same code.
_SHARED: dict = {}
#: Held while compiling; held across os.fork too (see _config.fork_safe).
_LOCK = fork_safe(threading.RLock())


@dataclass
class _Compiled:
    """A user loss's compiled switch and the kernels specialised for it."""

    switch: tuple  # (loss_value, loss_derivative) replacements
    kernels: dict  # {original dispatcher: specialised dispatcher}
    namespaces: tuple = ()  # the globals the scalar methods read (keeps their ids valid)


@dataclass(frozen=True)
class ScalarMethods:
    """The plain-Python scalar methods of a user loss class."""

    value: object  # function (y, p, *hyperparameters) -> float
    derivative: object
    hyperparameters: list  # names of the arguments after (y, p)


def _plain_function(cls, name):
    """The function behind ``cls.<name>``, checked to be callable without ``self``."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            attr = klass.__dict__[name]
            break
    else:
        raise TypeError(
            f"{cls.__name__} defines sample_loss but not {name}: a user-defined loss "
            "needs both static methods sample_loss(y, p, ...) and "
            "sample_derivative(y, p, ...)."
        )
    if isinstance(attr, staticmethod):
        attr = attr.__func__
    if isinstance(attr, CPUDispatcher):
        attr = attr.py_func
    if not inspect.isfunction(attr):
        raise TypeError(
            f"{cls.__name__}.{name} must be a plain function decorated with "
            f"@staticmethod; got {type(attr).__name__}."
        )
    params = list(inspect.signature(attr).parameters.values())
    if params and params[0].name in ("self", "cls"):
        raise TypeError(
            f"{cls.__name__}.{name} takes {params[0].name!r}: declare it with "
            "@staticmethod and pass hyperparameters as arguments after (y, p), e.g. "
            f"`def {name}(y, p, delta): ...` (Numba cannot compile methods of "
            "Python objects)."
        )
    kinds = {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD}
    if len(params) < 2 or any(p.kind not in kinds for p in params):
        raise TypeError(
            f"{cls.__name__}.{name} must take positional arguments (y, p, "
            "<hyperparameters>...); got "
            f"{inspect.signature(attr)}."
        )
    return attr, [p.name for p in params[2:]]


def scalar_methods(cls) -> ScalarMethods:
    """Find and check the scalar methods of user loss class ``cls`` (memoised).

    Raises
    ------
    TypeError
        When a method is missing, is not static, or names an argument that is
        not an ``__init__`` parameter of the class.
    """
    found = _METHODS.get(cls)
    if found is not None:
        return found
    value, value_args = _plain_function(cls, METHODS[0])
    derivative, derivative_args = _plain_function(cls, METHODS[1])
    if value_args != derivative_args:
        raise TypeError(
            f"{cls.__name__}: sample_loss takes hyperparameters {value_args} but "
            f"sample_derivative takes {derivative_args}; give both the same ones in "
            "the same order."
        )
    init_params = cls._get_param_names()
    unknown = [name for name in value_args if name not in init_params]
    if unknown:
        raise TypeError(
            f"{cls.__name__}: the scalar methods take {unknown}, which are not "
            f"__init__ parameters ({init_params}). Arguments after (y, p) must name "
            "hyperparameters, stored by __init__ under the same name."
        )
    found = ScalarMethods(value, derivative, value_args)
    _METHODS[cls] = found
    return found


def _compile_user_function(cls, name, func, n_hyper):
    jitted = njit(cache=False, nogil=True, error_model="numpy")(func)
    signature = (types.float64,) * (2 + n_hyper)
    try:
        jitted.compile(signature)
    except NumbaError as exc:
        raise TypeError(
            f"Numba could not compile {cls.__name__}.{name} for float64 arguments. "
            "Write it with scalar arithmetic, `math` functions and if/else only "
            f"(no Python objects, no self). Numba said:\n{exc}"
        ) from None
    return_type = jitted.overloads[signature].signature.return_type
    if not isinstance(return_type, (types.Float, types.Integer, types.Boolean)):
        raise TypeError(f"{cls.__name__}.{name} must return one number; it returns {return_type}.")
    return jitted


_WRAPPER = """
def {name}(code, y, p, params):
    return float(_user({args}))
"""


def _switch_wrapper(name, user, n_hyper):
    """A jitted ``name(code, y, p, params)`` calling ``user(y, p, params[0], ...)``."""
    args = ", ".join(["y", "p"] + [f"params[{i}]" for i in range(n_hyper)])
    namespace = {"_user": user}
    exec(_WRAPPER.format(name=name, args=args), namespace)  # noqa: S102 (our template)
    return njit(cache=False, nogil=True, error_model="numpy")(namespace[name])


def _code_key(func):
    """What compiling ``func`` depends on: its code object, the namespace its
    globals are read from (by identity), and its defaults' and closure's values
    with their types; ``None`` (not shared) when a value is unhashable or a
    class (the shared entry lives for the process and would keep it alive)."""
    values = (*(func.__defaults__ or ()), *(c.cell_contents for c in func.__closure__ or ()))
    if any(isinstance(v, type) for v in values):
        return None
    key = (func.__code__, id(func.__globals__), tuple((type(v), v) for v in values))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _compiled(cls) -> _Compiled:
    """The compiled switch of user loss ``cls`` (caller holds ``_LOCK``)."""
    found = _COMPILED.get(cls)
    if found is not None:
        return found
    methods = scalar_methods(cls)
    n_hyper = len(methods.hyperparameters)
    keys = (_code_key(methods.value), _code_key(methods.derivative))
    key = None if None in keys else (*keys, n_hyper)
    found = _SHARED.get(key) if key is not None else None
    if found is None:
        value = _compile_user_function(cls, METHODS[0], methods.value, n_hyper)
        derivative = _compile_user_function(cls, METHODS[1], methods.derivative, n_hyper)
        switch = (
            _switch_wrapper("loss_value", value, n_hyper),
            _switch_wrapper("loss_derivative", derivative, n_hyper),
        )
        namespaces = (methods.value.__globals__, methods.derivative.__globals__)
        found = _Compiled(switch, {}, namespaces)
        if key is not None:
            _SHARED[key] = found
    _COMPILED[cls] = found
    return found


def compiled_switch(cls):
    """Replacements for ``_loss_switch.loss_value`` / ``loss_derivative`` for user loss ``cls``.

    Compiled once per process and code of the scalar methods (memoised;
    thread-safe): classes made by the same code share them.

    Returns
    -------
    (loss_value, loss_derivative) : numba dispatchers of (code, y, p, params)
    """
    found = _COMPILED.get(cls)
    if found is not None:
        return found.switch
    with _LOCK:
        return _compiled(cls).switch


def kernel_for(kernel: CPUDispatcher, loss) -> CPUDispatcher:
    """The kernel to run for ``loss``: ``kernel`` itself for a built-in loss,
    its specialised copy for a user-defined one (built once per process).

    Parameters
    ----------
    kernel : numba dispatcher
        A compiled function that reaches its loss only through
        ``fastloss._kernels._loss_switch.loss_value`` / ``loss_derivative``.
    loss : fastloss.losses.Loss
    """
    own = getattr(loss, "_kernel_for", None)
    if own is not None:  # a composite loss specialises per structure (losses/_composite.py)
        return own(kernel)
    cls = type(loss)
    if not cls._is_user_defined():
        return kernel
    found = _COMPILED.get(cls)
    if found is not None and kernel in found.kernels:
        return found.kernels[kernel]
    with _LOCK:
        found = _compiled(cls)
        if kernel not in found.kernels:
            value, derivative = found.switch
            replacements = {
                id(_loss_switch.loss_value): value,
                id(_loss_switch.loss_derivative): derivative,
            }
            found.kernels[kernel] = specialise(kernel, replacements)
        return found.kernels[kernel]
