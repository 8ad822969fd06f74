"""Compile flags for every Numba kernel in fastloss, kept in one place.

Every kernel is cached on disk (Numba's ``cache=True``, loaded without Numba's
context refresh: :class:`_KernelCache`) so that a fresh process with a warm
cache fits without compiling, ``nogil=True`` so that one-vs-rest classes can run
in Python threads, and NumPy's error model so that a division by zero yields
``inf`` (caught by the divergence check) instead of a slow Python exception path.
"""

from __future__ import annotations

import functools
import os

from numba import njit
from numba.core.caching import FunctionCache
from numba.core.runtime import nrt

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
        kernel = njit(fastmath=fastmath, inline=inline, **_FLAGS)(func)
        try:
            # what njit(cache=True) does (Dispatcher.enable_caching), with our cache
            kernel._cache = _CACHE(func)
        except RuntimeError:  # "no locator available": nowhere to write a cache
            pass
        return kernel

    return decorate


class _KernelCache(FunctionCache):
    """Numba's on-disk cache of one kernel, minus the context refresh on load.

    Numba's cache refreshes the typing and target contexts before it loads
    anything: it imports and installs every typing and lowering registry
    Numba has (lists, dicts, sets, jitclass, random, linalg...).  Loading
    compiled code needs none of them, only the runtime's symbols, and in a
    fresh process the refresh cost more than the rest of fastloss's first
    fit together (0.2 s).  Compiling still refreshes both contexts
    (``numba.core.compiler.compile_extra``), so a kernel compiled later in the
    same process sees every registry.

    ``load_overload`` is Numba 0.68's own minus its first line; the test
    ``test_warm_process_loads_without_refreshing_numba`` checks that a warm
    process loads without a refresh and computes what the compiling one did.

    The index key also carries :func:`_sources_stamp`.  Numba checks only the
    stamp of the file that defines a kernel, but LLVM inlines the helpers it
    calls from other modules into it: after an edit of ``_weights.py`` or
    ``_prefetch.py`` alone, ``sgd_epoch_dense`` would load the old machine code
    (``test_editing_a_helper_module_recompiles_its_callers``).
    """

    def load_overload(self, sig, target_context):
        nrt.rtsys.initialize(target_context)  # the loaded code links to the runtime
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    def _index_key(self, sig, codegen):
        return (*super()._index_key(sig, codegen), _sources_stamp())


@functools.cache
def _sources_stamp():
    """Name, modification time and size of every module that cached compiled
    code can call into: this file and ``_kernels/*.py`` (a stat each, once a
    process).  Every cached kernel and everything it calls lives there (the
    loss switch included); the layers above compile only uncached copies for
    user-defined losses."""
    root = os.path.dirname(os.path.abspath(__file__))
    stamp = []
    for folder in ("", "_kernels"):
        with os.scandir(os.path.join(root, folder)) as entries:
            for entry in entries:
                if entry.name.endswith(".py") and (folder or entry.name == "_config.py"):
                    info = entry.stat()
                    stamp.append((folder, entry.name, info.st_mtime_ns, info.st_size))
    return tuple(sorted(stamp))


# A Numba without the private methods we build on gets its own cache.
_NEEDS = ("_load_overload", "_guard_against_spurious_io_errors", "_index_key")
_CACHE = _KernelCache if all(hasattr(FunctionCache, m) for m in _NEEDS) else FunctionCache
