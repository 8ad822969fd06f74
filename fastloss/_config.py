"""Compile flags for every Numba kernel in fastloss, kept in one place, and the
on-disk cache those kernels load from.

Every kernel is cached on disk (Numba's ``cache=True``, loaded without Numba's
context refresh: :class:`_KernelCache`) so that a fresh process with a warm
cache fits without compiling, ``nogil=True`` so that one-vs-rest classes can run
in Python threads, and NumPy's error model so that a division by zero yields
``inf`` (caught by the divergence check) instead of a slow Python exception path.

Where the cache lives (first that applies, per kernel):

1. ``FASTLOSS_CACHE_DIR``: a cache built by ``python -m fastloss.compile
   --cache-dir DIR``; loaded from, and written to only when writable (a
   read-only deployment loads it and never writes);
2. Numba's own choices when writable: ``NUMBA_CACHE_DIR``, ``__pycache__``
   beside the source;
3. a read-only ``__pycache__`` beside the source that holds a cache (shipped
   inside a read-only package folder);
4. Numba's user-wide cache directory when writable;
5. none: the kernels compile in every process, and the first compile warns
   once, naming the fix.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import warnings

from numba import njit
from numba.core.caching import (
    FunctionCache,
    NullCache,
    _CacheLocator,
    _SourceFileBackedLocatorMixin,
)
from numba.core.runtime import nrt

__all__ = ["jit", "fork_safe", "use_cache_dir", "CACHE_DIR_VARIABLE"]

_FLAGS = {"nogil": True, "error_model": "numpy"}

#: Environment variable naming a (possibly read-only) kernel cache directory.
CACHE_DIR_VARIABLE = "FASTLOSS_CACHE_DIR"

#: Every kernel :func:`jit` made, so that :func:`use_cache_dir` can move their caches.
_KERNELS: list = []

_FIX = (
    "Build the cache once with `python -m fastloss.compile --cache-dir DIR` and set "
    f"{CACHE_DIR_VARIABLE}=DIR (DIR may be read-only), or point NUMBA_CACHE_DIR at a "
    "writable directory (docs: user_guide/deployment)."
)


def jit(fastmath: bool | set = False, inline: str = "never"):
    """Decorate a function as a cached, GIL-free Numba kernel.

    The cache is :class:`_KernelCache`, in the first location of the module
    docstring's list.  Where there is none (no writable directory, no shipped
    cache), the kernel is uncached: it works, it compiles once per process,
    and the first such compile warns once, naming the fix.

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
        # what njit(cache=True) does (Dispatcher.enable_caching), with our cache
        kernel._cache = _make_cache(func)
        _KERNELS.append(kernel)
        return kernel

    return decorate


def _make_cache(func):
    if _CACHE is FunctionCache:  # a Numba without the private parts we build on
        try:
            return FunctionCache(func)
        except RuntimeError:
            return _Uncached()
    try:
        return _KernelCache(func)
    except RuntimeError:  # "no locator available": no writable directory, no shipped cache
        return _Uncached()


def use_cache_dir(path: str | None) -> None:
    """Cache every kernel in ``path`` from now on (``python -m fastloss.compile``).

    Sets :data:`CACHE_DIR_VARIABLE` for this process (and its children) and
    gives every kernel made so far a cache there; ``None``: in ``__pycache__``
    beside the sources (a cache shipped inside the package folder).  Kernels
    this process already compiled or loaded are not written there: call it
    first.
    """
    if path is None:
        os.environ.pop(CACHE_DIR_VARIABLE, None)
        _InTreeLocator.forced = True
    else:
        os.environ[CACHE_DIR_VARIABLE] = os.path.abspath(path)
    _writable.cache_clear()
    for kernel in _KERNELS:
        kernel._cache = _make_cache(kernel.py_func)


# ------------------------------------------------------------- cache locations
@functools.cache
def _writable(path: str) -> bool:
    """Whether a cache file can be written in ``path`` (created if missing):
    Numba's own test (a temporary file), once a directory and process."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def _package_subpath(py_file: str) -> str:
    """Where ``py_file``'s kernels go inside a cache directory: the module's
    folder relative to the folder holding the ``fastloss`` package (the same
    wherever the package is installed, so a cache built on one machine loads on
    another), or Numba's hashed folder name for a file outside the package."""
    folder = os.path.dirname(os.path.abspath(py_file))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.commonpath([folder, root]) == root:
        return os.path.relpath(folder, root)
    return _CacheLocator.get_suitable_cache_subpath(py_file)


class _Locator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """A cache folder that may be read-only (``read_only``: load, never write).

    The source stamp is Numba's: a hash of the defining file's content."""

    read_only = False

    def __init__(self, py_func, py_file, cache_path):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = cache_path

    def get_cache_path(self):
        return self._cache_path

    def ensure_cache_path(self):
        if self.read_only or not _writable(self._cache_path):
            raise OSError(f"cache directory {self._cache_path!r} is not writable")


class _ConfiguredDirLocator(_Locator):
    """``FASTLOSS_CACHE_DIR``: read-only where it is not writable."""

    @classmethod
    def from_function(cls, py_func, py_file):
        root = os.environ.get(CACHE_DIR_VARIABLE)
        if not root or not os.path.exists(py_file):
            return None
        self = cls(py_func, py_file, os.path.join(root, _package_subpath(py_file)))
        self.read_only = not _writable(self._cache_path)
        return self


class _InTreeLocator(_Locator):
    """``__pycache__`` beside the source, once ``use_cache_dir(None)`` chose it."""

    forced = False

    @classmethod
    def from_function(cls, py_func, py_file):
        if not cls.forced:
            return None
        folder = os.path.join(os.path.dirname(os.path.abspath(py_file)), "__pycache__")
        return cls(py_func, py_file, folder)


class _ShippedInTreeLocator(_Locator):
    """A read-only ``__pycache__`` beside the source that holds Numba cache files
    (a warm cache shipped inside a read-only package folder)."""

    read_only = True

    @classmethod
    def from_function(cls, py_func, py_file):
        folder = os.path.join(os.path.dirname(os.path.abspath(py_file)), "__pycache__")
        if not _holds_index(folder):
            return None
        return cls(py_func, py_file, folder)


@functools.cache
def _holds_index(folder: str) -> bool:
    try:
        return any(name.endswith(".nbi") for name in os.listdir(folder))
    except OSError:
        return False


def _locator_classes():
    from numba.core import caching  # noqa: PLC0415

    return [
        _InTreeLocator,
        _ConfiguredDirLocator,
        caching.UserProvidedCacheLocator,  # NUMBA_CACHE_DIR, when writable
        caching.InTreeCacheLocator,  # __pycache__, when writable
        _ShippedInTreeLocator,
        caching.UserWideCacheLocator,
        caching.ZipCacheLocator,
    ]


class _KernelCacheImpl(FunctionCache._impl_class):
    _locator_classes = _locator_classes()


# ------------------------------------------------------------------ the cache
class _KernelCache(FunctionCache):
    """Numba's on-disk cache of one kernel, minus the context refresh on load,
    keyed on content, robust to corrupt files and to read-only locations.

    Numba's cache refreshes the typing and target contexts before it loads
    anything: it imports and installs every typing and lowering registry
    Numba has (lists, dicts, sets, jitclass, random, linalg...).  Loading
    compiled code needs none of them, only the runtime's symbols, and in a
    fresh process the refresh cost more than the rest of fastloss's first
    fit together (0.2 s).  Compiling still refreshes both contexts
    (``numba.core.compiler.compile_extra``), so a kernel compiled later in the
    same process sees every registry.  ``load_overload`` is Numba 0.68's own
    minus its first line; ``test_warm_process_loads_without_refreshing_numba``
    checks that a warm process loads without a refresh and computes what the
    compiling one did.

    The index key also carries :func:`_sources_stamp`, a hash of the content
    of every module cached code can call into.  Numba checks only the file that
    defines a kernel, but LLVM inlines the helpers it calls from other modules
    into it: after an edit of ``_weights.py`` alone, ``sgd_epoch_dense`` would
    load the old machine code.  Content, not modification time and size: a
    file copied with its times kept (``cp -p``, rsync, tar, reproducible
    builds) can differ in nothing else.

    A cache file that cannot be read (truncated, emptied, garbage) is a miss
    with a warning naming it; the recompiled kernel overwrites it.  In a
    read-only location nothing is written, and a miss warns once a process.
    """

    _impl_class = _KernelCacheImpl

    @property
    def read_only(self) -> bool:
        return getattr(self._impl.locator, "read_only", False)

    def load_overload(self, sig, target_context):
        nrt.rtsys.initialize(target_context)  # the loaded code links to the runtime
        try:
            with self._guard_against_spurious_io_errors():
                loaded = self._load_overload(sig, target_context)
        except Exception as exc:  # noqa: BLE001 (any unreadable file is a miss)
            self._warn_unreadable(sig, target_context, exc)
            return None
        if loaded is None and self.read_only:
            _warn_once(
                ("miss", self._cache_path),
                f"fastloss: the read-only kernel cache in {self._cache_path!r} has no "
                f"{self._py_func.__qualname__} for the argument types {sig}; compiling it "
                "in this process. Rebuild the cache with `python -m fastloss.compile "
                "--cache-dir DIR` with this version of fastloss, on this CPU model.",
            )
        return loaded

    def save_overload(self, sig, data):
        if self.read_only:
            return
        try:
            super().save_overload(sig, data)
        except OSError:  # the folder stopped being writable: the kernel still runs
            pass
        except Exception:  # noqa: BLE001 (an unreadable index: start it afresh)
            self._cache_file.flush()
            super().save_overload(sig, data)

    def _warn_unreadable(self, sig, target_context, exc):
        cache_file = self._cache_file
        path = cache_file._index_path
        try:
            name = cache_file._load_index().get(self._index_key(sig, target_context.codegen()))
        except Exception:  # noqa: BLE001 (the index itself is unreadable)
            name = None
        if name is not None:
            path = cache_file._data_path(name)
        then = (
            "compiling it in this process (the cache is read-only; rebuild it with "
            "`python -m fastloss.compile --cache-dir DIR`)"
            if self.read_only
            else "compiling it again and overwriting the file"
        )
        _warn_once(
            ("unreadable", path),
            f"fastloss: cannot read the Numba cache file {path!r} of "
            f"{self._py_func.__qualname__} ({type(exc).__name__}: {exc}); {then}.",
        )

    def _index_key(self, sig, codegen):
        return (*super()._index_key(sig, codegen), _sources_stamp())


class _Uncached(NullCache):
    """No cache location: compile in every process, and say so once."""

    def load_overload(self, sig, target_context):
        _warn_once(
            "uncached",
            "fastloss: no writable Numba cache directory was found (FASTLOSS_CACHE_DIR, "
            "NUMBA_CACHE_DIR, __pycache__ beside fastloss, the user cache directory), so "
            "every new process compiles fastloss's kernels again (seconds on its first "
            f"fit). {_FIX}",
        )


_WARNED: set = set()


def _warn_once(key, message):
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


@functools.cache
def _sources_stamp():
    """A hash of the content of every module that cached compiled code can call
    into: this file and ``_kernels/*.py`` (read once a process, about 0.1 MB).
    Every cached kernel and everything it calls lives there (the loss switch
    included); the layers above compile only uncached copies for
    user-defined losses."""
    root = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    names = [("", "_config.py")]
    with os.scandir(os.path.join(root, "_kernels")) as entries:
        names += [("_kernels", e.name) for e in entries if e.name.endswith(".py")]
    for folder, name in sorted(names):
        with open(os.path.join(root, folder, name), "rb") as source:
            content = source.read()
        digest.update(f"{folder}/{name}:{len(content)}:".encode())
        digest.update(content)
    return digest.hexdigest()


# ----------------------------------------------------------------- fork safety
#: fastloss's own locks held while compiling, in the order they are taken.
_FORK_LOCKS: list = []


def fork_safe(lock):
    """Register ``lock`` (held while compiling) to be held across ``os.fork``.

    A child process inherits a lock in the state it had when the parent forked;
    held by a thread of the parent (one that was compiling), it stays held
    forever in the child, whose next compile then hangs.  Before a fork we
    take every such lock (fastloss's, in registration order, then Numba's
    compiler lock and llvmlite's LLVM lock, the order compiling takes them),
    so the fork waits for a compile in progress to finish; parent and child
    release them after.  A registered lock must be taken before compiling,
    never while Numba's compiler lock is held, and never while another
    registered lock is held (the order above would then deadlock).  Returns
    ``lock``.
    """
    _FORK_LOCKS.append(lock)
    return lock


def _numba_locks():
    """Numba's global compiler lock and llvmlite's LLVM lock (their raw RLocks)."""
    from llvmlite.binding import ffi  # noqa: PLC0415
    from numba.core.compiler_lock import global_compiler_lock  # noqa: PLC0415

    locks = []
    for holder in (global_compiler_lock, getattr(ffi.lib, "_lock", None)):
        lock = getattr(holder, "_lock", None)
        if lock is not None and hasattr(lock, "acquire"):
            locks.append(lock)
    return locks


def _fork_locks():
    return [*_FORK_LOCKS, *_numba_locks()]


_HELD_ACROSS_FORK: list = []


def _before_fork():
    locks = _fork_locks()
    for lock in locks:
        lock.acquire()
    _HELD_ACROSS_FORK.append(locks)


def _after_fork():
    if _HELD_ACROSS_FORK:
        for lock in reversed(_HELD_ACROSS_FORK.pop()):
            lock.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork
    )


# A Numba without the private methods we build on gets its own cache.
_NEEDS = ("_load_overload", "_guard_against_spurious_io_errors", "_index_key")
_CACHE = _KernelCache if all(hasattr(FunctionCache, m) for m in _NEEDS) else FunctionCache
