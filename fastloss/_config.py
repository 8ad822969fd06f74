"""Compile flags for every Numba kernel in fastloss, kept in one place.

Every kernel is compiled with ``cache=True`` so that a fresh process with a warm
cache fits without compiling, ``nogil=True`` so that one-vs-rest classes can run
in Python threads, and NumPy's error model so that a division by zero yields
``inf`` (caught by the divergence check) instead of a slow Python exception path.
"""

from __future__ import annotations

from numba import njit

__all__ = ["jit"]

_FLAGS = {"nogil": True, "error_model": "numpy"}


def jit(fastmath: bool | set = False, inline: str = "never"):
    """Decorate a function as a cached, GIL-free Numba kernel.

    Numba looks for a writable cache directory when the decorator runs
    (``NUMBA_CACHE_DIR``, then ``__pycache__`` beside the source, then the
    user's cache directory) and raises ``RuntimeError`` at import time if it
    finds none.  A library installed read-only must still import, so we fall
    back to an uncached kernel in that case: it works, it just compiles once
    per process.

    Parameters
    ----------
    fastmath : bool or set of str, default=False
        Numba's ``fastmath`` flags.  Only dense dot products use them (``reassoc``
        lets LLVM vectorise the reduction); on sparse rows they emit slow gathers.
    inline : {"never", "always"}, default="never"
        ``"always"`` inlines the function into its callers in Numba's IR.  For
        functions called once a sample (or row) that take arrays and that LLVM
        finds too large to inline: the per-sample loss switch (its call cost
        about 7% of a shuffled epoch) and the multi-output kernel's per-row
        helpers.
    """

    def decorate(func):
        try:
            return njit(cache=True, fastmath=fastmath, inline=inline, **_FLAGS)(func)
        except RuntimeError:  # "no locator available": nowhere to write a cache
            return njit(cache=False, fastmath=fastmath, inline=inline, **_FLAGS)(func)

    return decorate
