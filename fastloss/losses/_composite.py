"""Composite losses: a weighted sum of losses that share a link and a target domain.

``0.7 * Huber() + 0.3 * Quantile(0.9)`` and ``Sum([Huber(), Quantile(0.9)],
weights=[0.7, 0.3])`` build the same :class:`Sum`, whose value and derivative
are the weighted sums of its terms'.

How it reaches the kernels:

- **built-in terms only**: the loss code ``COMPOSITE`` and a float64 array
  ``[n_terms, (code, weight, n_params, params...) ...]``
  (``_kernels/_layout.py``); the switch of ``_kernels/_loss_switch.py`` loops
  over the terms and calls the plain per-term switch.  Every such composite,
  whatever its terms, weights and hyperparameters, runs the one compiled kernel
  of the built-in losses, cached on disk.
- **a user-defined term among them**: one generated pair of replacements for
  ``loss_value`` / ``loss_derivative`` per *structure* (the term classes, in
  order), calling the per-term switch for built-in terms (their code a
  constant) and the user's compiled scalar methods for theirs, with every
  weight and hyperparameter read from the same array.  Kernels are specialised
  with it as for a user loss (``_kernels/_specialise.py``), once per process
  and structure: new weights or hyperparameters recompile nothing.
"""

from __future__ import annotations

import threading
from numbers import Real

import numpy as np
from numba import njit
from sklearn.utils._param_validation import InvalidParameterError

from .._config import fork_safe
from .._kernels import _layout as L
from .._kernels import _loss_switch
from .._kernels._specialise import specialise
from ._base import TARGET_DOMAINS, Loss
from ._check import check_loss_once
from ._user import scalar_methods

__all__ = ["Sum"]


class Sum(Loss):
    """Weighted sum of losses: ``sum_k weights[k] * terms[k](y, p)``.

    One loss whose value and derivative in the raw prediction are the weighted
    sums of its terms', for objectives that balance several goals (a Huber fit
    that also tracks an upper quantile, a log loss with a bounded robust part).
    ``a * loss`` and ``loss_a + loss_b`` build it too::

        from fastloss.losses import Huber, Quantile, Sum

        loss = 0.7 * Huber() + 0.3 * Quantile(0.9)
        # the same as
        loss = Sum([Huber(), Quantile(0.9)], weights=[0.7, 0.3])

    Parameters
    ----------
    terms : list of Loss
        The losses summed: built-in or user-defined, not multiclass.  They must
        share a link and a target domain (a sum of a regression loss and a
        classification loss, or of losses on different scales, has no
        prediction to give).  A ``Sum`` among them is flattened: its terms enter
        with their weights multiplied by its own.
    weights : list of float or None, default=None
        Non-negative weight of each term; ``None`` weighs every term 1.

    Notes
    -----
    Target domain and link are the terms'.  Convex when every term is; smooth
    when every term is.

    **Searching its parameters.**  ``get_params(deep=True)`` names the terms
    by position: ``terms__<i>`` is term ``i`` and ``terms__<i>__<name>`` its
    hyperparameter, next to ``weights``.  Inside an estimator they are
    ``loss__weights``, ``loss__terms__1__quantile`` and so on::

        GridSearchCV(
            SGDRegressor(loss=0.7 * Huber() + 0.3 * Quantile(0.9)),
            {"loss__weights": [[0.7, 0.3], [0.5, 0.5]], "loss__terms__1__quantile": [0.8, 0.9]},
        )

    **Compiled once per structure.**  A sum of built-in losses runs the
    kernels of the built-in losses (cached on disk): its terms reach them as
    codes and its weights and hyperparameters as numbers.  With a user-defined
    term, the kernels are specialised once per process for the sequence of
    term classes; changing weights or hyperparameters recompiles nothing.
    """

    _code = L.COMPOSITE

    def __init__(self, terms, weights=None):
        self.terms = terms
        self.weights = weights
        # said at construction (as the operators build it), checked again on use
        # since set_params can change the terms
        self._check_structure()

    # ------------------------------------------------------------ structure
    def _flat_terms(self) -> list[tuple[float, Loss]]:
        """``(weight, term)`` of every term, nested sums flattened."""
        weights = [1.0] * len(self.terms) if self.weights is None else list(self.weights)
        flat = []
        for weight, term in zip(weights, self.terms, strict=True):
            if isinstance(term, Sum):
                flat.extend((float(weight) * w, t) for w, t in term._flat_terms())
            else:
                flat.append((float(weight), term))
        return flat

    def _check_structure(self) -> None:
        """Raise ``InvalidParameterError`` for terms or weights that cannot form a sum."""
        name = type(self).__name__
        terms = self.terms
        if isinstance(terms, Loss) or not isinstance(terms, (list, tuple)) or len(terms) == 0:
            raise InvalidParameterError(
                f"The 'terms' parameter of {name} must be a non-empty list of "
                f"fastloss.losses.Loss objects. Got {terms!r} instead."
            )
        bad = [t for t in terms if not isinstance(t, Loss) or isinstance(t, type)]
        if bad:
            raise InvalidParameterError(
                f"The 'terms' parameter of {name} must be a list of fastloss.losses.Loss "
                f"objects; got {bad[0]!r} ({type(bad[0]).__name__})."
            )
        if self.weights is not None:
            weights = np.asarray(self.weights, dtype=object)
            ok = (
                weights.ndim == 1
                and len(weights) == len(terms)
                and all(isinstance(w, Real) and not isinstance(w, bool) for w in weights)
                and np.all(np.isfinite(weights.astype(float)))
                and np.all(weights.astype(float) >= 0)
            )
            if not ok:
                raise InvalidParameterError(
                    f"The 'weights' parameter of {name} must be None or a list of "
                    f"{len(terms)} finite non-negative numbers, one per term. Got "
                    f"{self.weights!r} instead."
                )
        flat = self._flat_terms()
        multiclass = [t for _, t in flat if getattr(t, "is_multiclass", False)]
        if multiclass:
            raise InvalidParameterError(
                f"{name} cannot sum the multiclass loss {multiclass[0]!r}: it sees all "
                "classes' scores at once. Sum binary losses (one-vs-rest) instead."
            )
        first = flat[0][1]
        for _, term in flat[1:]:
            same_domain = term._target_domain() == first._target_domain()
            if not same_domain or type(term.link) is not type(first.link):
                raise InvalidParameterError(
                    f"{name}: the terms must share a link and a target domain, but "
                    f"{first!r} has link {type(first.link).__name__} and targets "
                    f"{TARGET_DOMAINS[first._target_domain()]} while {term!r} has link "
                    f"{type(term.link).__name__} and targets "
                    f"{TARGET_DOMAINS[term._target_domain()]}. A weighted sum of losses "
                    "is trained on one kind of target and read through one link."
                )

    # --------------------------------------------------- the loss contract
    @property
    def is_classification(self) -> bool:
        return self._flat_terms()[0][1].is_classification

    @property
    def target_domain(self) -> str:
        return self._flat_terms()[0][1]._target_domain()

    @property
    def link(self):
        return self._flat_terms()[0][1].link

    def _domain_advice(self) -> str:
        return self._flat_terms()[0][1]._domain_advice()

    @property
    def is_convex(self) -> bool:
        """Whether every term with a positive weight is convex."""
        return all(term.is_convex for weight, term in self._flat_terms() if weight > 0)

    @property
    def smooth_alternative(self) -> str | None:
        """What to replace the non-smooth terms by, term by term."""
        advice = [
            f"{term!r} by {term.smooth_alternative}"
            if term.smooth_alternative
            else f"{term!r} by a smooth loss"
            for weight, term in self._flat_terms()
            if weight > 0 and term.smoothness_constant() is None
        ]
        return "a Sum that replaces " + "; ".join(advice) if advice else None

    def smoothness_constant(self) -> float | None:
        """``sum_k weights[k] L_k``, the terms' constants ``L_k`` (the second
        derivative of a weighted sum is the weighted sum of theirs); ``None``
        when a term with a positive weight has none."""
        total = 0.0
        for weight, term in self._flat_terms():
            if weight == 0:
                continue
            constant = term.smoothness_constant()
            if constant is None:
                return None
            total += weight * float(constant)
        return total

    def _validate(self) -> None:
        self._check_structure()
        for _, term in self._flat_terms():
            term._validate()
            check_loss_once(term)  # a user-defined term's derivative, once per process

    def _kernel_params(self) -> np.ndarray:
        """``[n_terms, (code, weight, n_params, params...) ...]`` (``_layout.COMPOSITE``)."""
        flat = self._flat_terms()
        parts = [float(len(flat))]
        for weight, term in flat:
            params = np.asarray(term._kernel_params(), dtype=np.float64)
            if not type(term)._is_user_defined() and params.size > _loss_switch.MAX_TERM_PARAMS:
                # the switch passes a built-in term at most three hyperparameters
                raise NotImplementedError(
                    f"{term!r} has {params.size} hyperparameters; a term of a Sum "
                    f"takes at most {_loss_switch.MAX_TERM_PARAMS}."
                )
            parts += [float(term._code), weight, float(params.size), *params.tolist()]
        return np.array(parts)

    def _weighted_terms(self):
        # a sum entering another sum (operators) is flattened into it
        flat = self._flat_terms()
        return [t for _, t in flat], [w for w, _ in flat]

    def _kernel_for(self, kernel):
        """``kernel`` itself when every term is built in, else its copy
        specialised for this sum's structure (``losses._user.kernel_for`` asks)."""
        flat = self._flat_terms()
        if not any(type(t)._is_user_defined() for _, t in flat):
            return kernel
        key = tuple((type(t), np.asarray(t._kernel_params()).size) for _, t in flat)
        return _structure(key).kernel(kernel)

    # ------------------------------------------------------------ parameters
    def get_params(self, deep: bool = True) -> dict:
        """Parameters ``terms`` and ``weights``; with ``deep``, each term as
        ``terms__<i>`` and its parameters as ``terms__<i>__<name>``."""
        params = super().get_params(deep=False)
        if deep and isinstance(self.terms, (list, tuple)):
            for i, term in enumerate(self.terms):
                params[f"terms__{i}"] = term
                if hasattr(term, "get_params") and not isinstance(term, type):
                    for key, value in term.get_params(deep=True).items():
                        params[f"terms__{i}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set ``terms``, ``weights``, ``terms__<i>`` (replace term ``i``) or
        ``terms__<i>__<name>`` (a parameter of term ``i``).

        Returns
        -------
        self
        """
        own = {k: v for k, v in params.items() if not k.startswith("terms__")}
        super().set_params(**own)
        nested: dict = {}
        for key, value in params.items():
            if not key.startswith("terms__"):
                continue
            index, _, sub_key = key[len("terms__") :].partition("__")
            if not index.isdigit() or int(index) >= len(self.terms):
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}: terms are "
                    f"named terms__0 ... terms__{len(self.terms) - 1}."
                )
            if sub_key:
                nested.setdefault(int(index), {})[sub_key] = value
            else:
                terms = list(self.terms)
                terms[int(index)] = value
                self.terms = terms
        for index, sub_params in nested.items():
            self.terms[index].set_params(**sub_params)
        return self


class _Structure:
    """The compiled switch of one sequence of term classes with a user-defined
    term, and the kernels specialised for it."""

    def __init__(self, key):
        self.key = key
        self.switch = None  # (loss_value, loss_derivative) replacements
        self.kernels: dict = {}  # {original dispatcher: specialised dispatcher}

    def kernel(self, kernel):
        """``kernel`` specialised for this structure (built once per process)."""
        found = self.kernels.get(kernel)
        if found is not None:
            return found
        with _LOCK:
            if self.switch is None:
                self.switch = _generate_switch(self.key)
            if kernel not in self.kernels:
                value, derivative = self.switch
                replacements = {
                    id(_loss_switch.loss_value): value,
                    id(_loss_switch.loss_derivative): derivative,
                }
                self.kernels[kernel] = specialise(kernel, replacements)
            return self.kernels[kernel]


#: {((term class, n_params), ...): _Structure}, for the process (compiled code
#: is never freed by Numba, so there is little to gain from dropping one).
_STRUCTURES: dict = {}
#: Held while compiling, and across os.fork (``_config.fork_safe``).
_LOCK = fork_safe(threading.RLock())


def _structure(key) -> _Structure:
    """The memoised :class:`_Structure` of ``key``: ``((term class, n_params), ...)``."""
    found = _STRUCTURES.get(key)
    if found is None:
        with _LOCK:
            found = _STRUCTURES.setdefault(key, _Structure(key))
    return found


_SWITCH_TEMPLATE = """
def {name}(code, y, p, params):
    total = 0.0
{lines}
    return total
"""


def _generate_switch(key):
    """Source-generated ``loss_value`` / ``loss_derivative`` for one structure:
    one line a term, its offsets in the parameter array constants."""
    namespace = {"_term_value": _loss_switch.term_value}
    namespace["_term_derivative"] = _loss_switch.term_derivative
    value_lines, derivative_lines = [], []
    k = L.COMPOSITE_N_TERMS + 1
    for i, (cls, n_params) in enumerate(key):
        start = k + L.COMPOSITE_HEAD
        weight = f"params[{k + 1}]"
        if cls._is_user_defined():
            methods = scalar_methods(cls)
            for suffix, func in (("value", methods.value), ("derivative", methods.derivative)):
                namespace[f"_user{i}_{suffix}"] = njit(
                    cache=False, nogil=True, error_model="numpy"
                )(func)
            args = ", ".join(
                ["y", "p"] + [f"params[{start + j}]" for j in range(len(methods.hyperparameters))]
            )
            value_lines.append(f"    total += {weight} * _user{i}_value({args})")
            derivative_lines.append(f"    total += {weight} * _user{i}_derivative({args})")
        else:
            hyper = [f"params[{start + j}]" for j in range(n_params)]
            hyper += ["0.0"] * (_loss_switch.MAX_TERM_PARAMS - n_params)
            args = ", ".join([str(cls._code), "y", "p", *hyper])
            value_lines.append(f"    total += {weight} * _term_value({args})")
            derivative_lines.append(f"    total += {weight} * _term_derivative({args})")
        k = start + n_params
    switch = []
    for name, lines in (("loss_value", value_lines), ("loss_derivative", derivative_lines)):
        exec(_SWITCH_TEMPLATE.format(name=name, lines="\n".join(lines)), namespace)  # noqa: S102
        switch.append(njit(cache=False, nogil=True, error_model="numpy")(namespace[name]))
    return tuple(switch)
