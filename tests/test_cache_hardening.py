"""The kernel cache under hostile conditions (issue 21, items 4, 5 and 12):
corrupt cache files, sources edited without changing their size and
modification time, and read-only deployments."""

import importlib.util
import json
import os
import pathlib
import shutil
import textwrap
import warnings

import numpy as np
import pytest

# ------------------------------------------------------- a tiny cached kernel
KERNEL_SOURCE = textwrap.dedent(
    """
    from fastloss._config import jit


    @jit()
    def triple(x):
        return 3.0 * x
    """
)

_loaded = []


def _load_kernel_module(path):
    """A fresh import of the module at ``path`` (a new dispatcher each time)."""
    name = f"_cache_hardening_kernel_{len(_loaded)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _loaded.append(module)
    return module


def _corrupt(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "emptied":
        path.write_bytes(b"")
    else:
        path.write_bytes(np.random.default_rng(0).bytes(max(len(data), 64)))


CORRUPTIONS = ("truncated", "emptied", "random")


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
@pytest.mark.parametrize("how", CORRUPTIONS)
def test_corrupt_cache_file_warns_recompiles_and_is_overwritten(tmp_path, how, suffix):
    source = tmp_path / "kernel_module.py"
    source.write_text(KERNEL_SOURCE)
    first = _load_kernel_module(source).triple
    assert first(2.0) == 6.0
    folder = pathlib.Path(first._cache.cache_path)
    [cache_file] = folder.glob(f"kernel_module.triple-*{suffix}")
    _corrupt(cache_file, how)

    second = _load_kernel_module(source).triple
    with pytest.warns(RuntimeWarning, match="cannot read the Numba cache file") as record:
        assert second(2.0) == 6.0
    assert any(cache_file.name in str(w.message) for w in record)
    assert second.stats.cache_misses  # it compiled

    third = _load_kernel_module(source).triple  # the file was overwritten
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert third(2.0) == 6.0
    assert third.stats.cache_hits and not third.stats.cache_misses


FIT = textwrap.dedent(
    """
    import json
    import warnings
    import numpy as np
    import scipy.sparse as sp
    import fastloss

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        coefs = [fastloss.SGDClassifier(max_iter=3, tol=None, random_state=0).fit(data, y)
                 .coef_.ravel().tolist() for data in (X, sp.csr_matrix(X))]
    print(json.dumps({"coefs": coefs, "warnings": [str(w.message) for w in caught]}))
    """
)


@pytest.mark.slow
def test_corrupt_cache_files_in_a_fresh_process(tmp_path, run_python):
    """Every cache file of a fit corrupted (truncated, emptied or random, in
    turn): the next process fits as before, naming the files; the one after
    loads the repaired cache without a word."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    before = json.loads(run_python(FIT, **env))
    files = sorted(p for p in tmp_path.rglob("*") if p.suffix in (".nbi", ".nbc"))
    assert files
    for k, path in enumerate(files):
        _corrupt(path, CORRUPTIONS[k % 3])
    repaired = json.loads(run_python(FIT, **env))
    assert repaired["coefs"] == before["coefs"]
    named = [m for m in repaired["warnings"] if "cannot read the Numba cache file" in m]
    assert named and all(any(p.name in m for p in files) for m in named)
    after = json.loads(run_python(FIT, **env))
    assert after == {"coefs": before["coefs"], "warnings": []}


# ------------------------------------------- item 5: content, not mtime + size
CONSTANT_STEP_FIT = textwrap.dedent(
    """
    import json
    import numpy as np
    import fastloss

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    model = fastloss.SGDClassifier(learning_rate="constant", eta0=0.1, max_iter=2, tol=None,
                                   shuffle=False).fit(X, y)
    print(json.dumps({"package": fastloss.__file__, "coef": model.coef_.ravel().tolist()}))
    """
)


@pytest.mark.slow
def test_helper_edited_keeping_size_and_mtime_recompiles(tmp_path, run_python, repository_root):
    """``cp -p``, rsync, tar and reproducible builds keep a file's modification
    time; an edit that also keeps its size must still reach the kernels."""
    package = tmp_path / "copy" / "fastloss"
    shutil.copytree(
        repository_root / "fastloss", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    cache = str(tmp_path / "cache")

    def fit(cache_dir):
        out = json.loads(
            run_python(CONSTANT_STEP_FIT, cwd=package.parent, NUMBA_CACHE_DIR=cache_dir)
        )
        assert out["package"] == str(package / "__init__.py")
        return out["coef"]

    before = fit(cache)
    helpers = package / "_kernels" / "_weights.py"
    stat = helpers.stat()
    source = helpers.read_text()
    assert "        return eta0\n" in source
    helpers.write_text(source.replace("        return eta0\n", "        return 1e-9\n", 1))
    os.utime(helpers, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (helpers.stat().st_size, helpers.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    after = fit(cache)
    assert after != before
    assert after == fit(str(tmp_path / "fresh"))  # what compiling the edited sources gives


# ------------------------------------------------ item 12: read-only deployments
#: Makes every write under the folders in READ_ONLY fail as on a read-only
#: mount (the tests run as root, whom chmod does not stop), and records them.
READ_ONLY_GUARD = textwrap.dedent(
    """
    import os, sys
    _READ_ONLY = [os.path.realpath(p) for p in os.environ["READ_ONLY"].split(os.pathsep) if p]
    _DENIED = []

    def _inside(path):
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        path = os.path.realpath(os.fsdecode(path))
        return any(path == p or path.startswith(p + os.sep) for p in _READ_ONLY)

    def _guard(event, args):
        if event == "open":
            path, mode, flags = args
            writes = (mode is not None and any(c in mode for c in "wax+")) or (
                flags is not None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            paths = [path] if writes else []
        elif event in ("os.mkdir", "os.remove", "os.rmdir", "os.truncate"):
            paths = [args[0]]
        elif event == "os.rename":
            paths = [args[0], args[1]]
        else:
            return
        if any(_inside(p) for p in paths):
            _DENIED.append(str(paths[0]))
            raise PermissionError(13, "Read-only file system (simulated)", str(paths[0]))

    sys.addaudithook(_guard)
    """
)

#: Fits reaching every kind of kernel, then what Numba compiled and what it warned.
WORKLOAD = textwrap.dedent(
    """
    import json
    import warnings
    from numba.core import event

    compiled = []

    class Recorder(event.Listener):
        def on_start(self, ev):
            compiled.append(ev.data["dispatcher"].py_func.__qualname__)

        def on_end(self, ev):
            pass

    event.register("numba:compile", Recorder())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import numpy as np
        import scipy.sparse as sp
        import fastloss
        from fastloss.losses import Huber, LogLoss

        rng = np.random.default_rng(1)
        X = rng.normal(size=(70, 5))
        y = (X[:, 0] > 0).astype(int)
        y3 = np.digitize(X[:, 1], [-0.5, 0.5])
        X32 = X.astype(np.float32)
        kinds = {"dense float64": X, "dense float32": X32,
                 "CSR float64": sp.csr_matrix(X), "CSR float32": sp.csr_matrix(X32)}
        for data in [kinds[k] for k in os.environ["KINDS"].split(",")]:
            fastloss.SGDClassifier(loss="log_loss", penalty="elasticnet", average=True,
                                   max_iter=3).fit(data, y)
            if os.environ["ALL_FITS"] == "1":
                fastloss.SGDClassifier(n_jobs=2, max_iter=3).fit(data, y3)
                fastloss.SGDClassifier(multi_class="multinomial", loss="log_loss",
                                       max_iter=3).fit(data, y3)
                fastloss.SGDRegressor(loss=Huber(), max_iter=3).fit(data, X[:, 2])
                fastloss.SGDRegressor(optimizer="adam", batch_size=4,
                                      max_iter=3).fit(data, X[:, 2])
        LogLoss().loss([1.0], [0.5]), LogLoss().gradient([1.0], [0.5])
    print(json.dumps({"compiled": compiled, "denied": _DENIED,
                      "warnings": [str(w.message) for w in caught
                                   if str(w.message).startswith("fastloss:")]}))
    """
)


#: Kinds of data the read-only test compiles and fits (all four cost minutes;
#: the compile step treats every kind alike).
TEST_KINDS = ("dense float64", "CSR float32")


def _workload(run_python, read_only=(), kinds=TEST_KINDS, all_fits=True, **env):
    """Run :data:`WORKLOAD` on ``kinds`` of data, with writes under ``read_only`` failing."""
    env = {
        "READ_ONLY": os.pathsep.join(map(str, read_only)),
        "KINDS": ",".join(kinds),
        "ALL_FITS": "1" if all_fits else "0",
        **env,
    }
    return json.loads(run_python(READ_ONLY_GUARD + WORKLOAD, **env))


def _make_read_only(folder):
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)


@pytest.mark.slow
def test_compiled_cache_loads_from_a_read_only_directory(tmp_path, run_python, repository_root):
    # a copy of the package: the cache is keyed on the sources' content
    package = tmp_path / "site" / "fastloss"
    shutil.copytree(
        repository_root / "fastloss", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    cache = tmp_path / "kernels"
    compile_step = (
        "import sys; from fastloss.compile import compile_kernels; "
        "print(compile_kernels(sys.argv[1], kinds=sys.argv[2].split(',')))"
    )
    run_python(compile_step, cache, ",".join(TEST_KINDS), cwd=package.parent,
               NUMBA_CACHE_DIR=str(tmp_path / "unused"))  # fmt: skip
    assert any(cache.rglob("*.nbi"))
    _make_read_only(cache)
    out = _workload(
        run_python,
        read_only=[cache],
        cwd=package.parent,
        FASTLOSS_CACHE_DIR=str(cache),
        NUMBA_CACHE_DIR=str(tmp_path / "empty"),  # writable, empty: must not be preferred
    )
    assert out["compiled"] == [], out["compiled"]
    assert out["warnings"] == []
    # nothing but the probe that found the folder read-only tried to write
    assert all(os.path.isdir(path) for path in out["denied"]), out["denied"]


def test_no_writable_cache_location_warns_once(tmp_path, run_python, repository_root):
    """Nowhere to write a cache and none to load: a warning naming the fix,
    once a process, at the first compile (not at import)."""
    package = tmp_path / "site" / "fastloss"
    shutil.copytree(
        repository_root / "fastloss", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    script = READ_ONLY_GUARD + textwrap.dedent(
        """
        import json, warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import numpy as np
            import fastloss
            from fastloss._kernels.shuffle import block_order, shuffle_in_place
            at_import = len(caught)
            rows = np.arange(10, dtype=np.uint32)
            shuffle_in_place(rows, 0)  # two small kernels, each compiled here
            block_order(rows, 4, 0, np.empty_like(rows))
        print(json.dumps({"at_import": at_import, "warnings": [str(w.message) for w in caught]}))
        """
    )
    out = json.loads(
        run_python(
            script,
            cwd=package.parent,
            READ_ONLY=str(package),  # no __pycache__ can be written beside the sources
            NUMBA_CACHE_DIR=str(not_a_dir / "numba"),
            XDG_CACHE_HOME=str(not_a_dir / "cache"),
        )
    )
    assert out["at_import"] == 0
    fixes = [m for m in out["warnings"] if "python -m fastloss.compile" in m]
    assert len(fixes) == 1, out["warnings"]
    assert "FASTLOSS_CACHE_DIR" in fixes[0]


@pytest.mark.slow
def test_cache_shipped_in_a_read_only_package_folder_is_used(tmp_path, run_python,
                                                             repository_root):  # fmt: skip
    package = tmp_path / "site" / "fastloss"
    shutil.copytree(
        repository_root / "fastloss", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    no_numba_dir = {"NUMBA_CACHE_DIR": "", "XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    # build the in-tree cache (__pycache__ beside the sources), then ship it read-only
    light = {"kinds": ["dense float64"], "all_fits": False, "cwd": package.parent, **no_numba_dir}
    _workload(run_python, **light)
    assert any(package.rglob("__pycache__/*.nbi"))
    _make_read_only(package)
    out = _workload(run_python, read_only=[package], **light)
    assert out["compiled"] == [], out["compiled"]
    assert out["warnings"] == []
