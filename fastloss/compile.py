"""Compile every kernel the estimators use into a cache directory.

.. code-block:: bash

   python -m fastloss.compile --cache-dir DIR
   FASTLOSS_CACHE_DIR=DIR python app.py      # DIR may be read-only now
   python -m fastloss.compile --in-package   # or: into __pycache__ beside the sources

A fresh process whose ``FASTLOSS_CACHE_DIR`` names that directory loads the
kernels instead of compiling them, even where it cannot write there (a
read-only image, package folder or mount): see
``docs/user_guide/deployment.rst``.  The cache is specific to this fastloss
(its kernels' source), this Numba and Python, and the CPU model it was built
on (Numba compiles for the host CPU; set ``NUMBA_CPU_NAME=generic`` at both
steps for a cache that loads on any x86-64).

Which specialisations: a kernel is compiled once per combination of argument
types, and the estimators reach these: the plain SGD epoch (``sgd_epoch``),
the mini-batch epoch of the other optimizers (``minibatch_epoch``) and the
multi-output epoch of one-vs-rest and joint multiclass models
(``multi_epoch``), the SAGA / SVRG epochs (``vr_epoch``, binary and
multinomial) and the grid epoch of ``SGDClassifierCV`` / ``SGDRegressorCV``
(``grid_epoch``), each on dense and CSR data in float64 and float32; the
shuffles; the vectorised loss functions of :class:`~fastloss.losses.Loss`
(float64); and the ranker's and metric learners' epochs.  Row orders are
uint32 (fewer than 2**32 rows); read-only input arrays (for example joblib's
memory maps) are typed differently by Numba and compile their own copies.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import scipy.sparse as sp

from . import _config

__all__ = ["compile_kernels", "main"]


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4))
    return X, rng


def _estimator_workloads(X, rng):
    """Fits that reach every kernel specialisation for one kind of ``X``."""
    import fastloss  # noqa: PLC0415 (after the cache directory is set)

    dense = X if not sp.issparse(X) else X.toarray()
    y2 = (dense[:, 0] > 0).astype(int)
    y3 = np.digitize(dense[:, 1], [-0.5, 0.5])
    target = dense[:, 2]
    small = {"max_iter": 2, "tol": None, "random_state": 0}
    fastloss.SGDClassifier(**small).fit(X, y2)  # sgd_epoch
    fastloss.SGDClassifier(shuffle="block", **small).fit(X, y2)  # block_order
    fastloss.SGDRegressor(**small).fit(X, target)
    fastloss.SGDRegressor(optimizer="adam", batch_size=4, **small).fit(X, target)  # minibatch
    fastloss.SGDClassifier(**small).fit(X, y3)  # multi_epoch, one-vs-rest
    fastloss.SGDClassifier(multi_class="multinomial", loss="log_loss", **small).fit(X, y3)
    fastloss.SGDClassifier(loss="log_loss", optimizer="saga", **small).fit(X, y2)  # vr_epoch
    fastloss.SGDClassifier(
        multi_class="multinomial", loss="log_loss", optimizer="saga", **small
    ).fit(X, y3)
    fastloss.SGDClassifierCV(alphas=[1e-4, 1e-2], cv=2, **small).fit(X, y2)  # grid_epoch
    qid = np.repeat(np.arange(X.shape[0] // 8), 8)
    fastloss.SGDRanker(**small).fit(X, y3, qid=qid)


def _metric_workloads(X):
    import fastloss  # noqa: PLC0415

    if not sp.issparse(X):  # the metric learners take dense rows only
        y3 = np.digitize(X[:, 1], [-0.5, 0.5])
        fastloss.SGDMetricLearner(max_iter=2, random_state=0).fit(X, y3)


def _loss_workloads():
    from .losses import LogLoss  # noqa: PLC0415

    y, p = np.array([1.0, -1.0]), np.array([0.3, 0.2])
    LogLoss().loss(y, p), LogLoss().gradient(y, p)


#: The kinds of training data, each with its own kernel specialisations.
KINDS = ("dense float64", "dense float32", "CSR float64", "CSR float32")


def compile_kernels(cache_dir: str | None, verbose: bool = False, kinds=KINDS) -> float:
    """Compile every kernel specialisation the estimators use into ``cache_dir``.

    Call it in a process that has not fitted anything yet (what
    ``python -m fastloss.compile`` does): kernels already compiled or loaded
    are not written again.

    Parameters
    ----------
    cache_dir : str or None
        Directory (created if needed) that ``FASTLOSS_CACHE_DIR`` will name;
        ``None``: ``__pycache__`` beside fastloss's sources, a cache shipped
        inside the package folder (which may then be made read-only).
    verbose : bool, default=False
        Print what is being compiled.
    kinds : sequence of str, default=KINDS
        The kinds of data to compile for (all of :data:`KINDS` unless a test
        wants fewer).

    Returns
    -------
    float
        Seconds it took.
    """
    start = time.perf_counter()
    _config.use_cache_dir(cache_dir)
    X, rng = _data()
    data_of = {
        "dense float64": X,
        "dense float32": X.astype(np.float32),
        "CSR float64": sp.csr_matrix(X),
        "CSR float32": sp.csr_matrix(X.astype(np.float32)),
    }
    for name in kinds:
        data = data_of[name]
        if verbose:
            print(f"compiling the epoch kernels for {name} data", flush=True)
        _estimator_workloads(data, rng)
        _metric_workloads(data)
    _loss_workloads()
    return time.perf_counter() - start


def main(argv=None) -> int:
    """``python -m fastloss.compile --cache-dir DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m fastloss.compile",
        description=(
            "Compile every fastloss kernel into a cache directory; then set "
            "FASTLOSS_CACHE_DIR to it (it may be read-only)."
        ),
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--cache-dir", help="where to write the compiled kernels")
    where.add_argument(
        "--in-package",
        action="store_true",
        help="write them into __pycache__ beside fastloss's sources (to ship inside the package)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    seconds = compile_kernels(None if args.in_package else args.cache_dir, verbose=not args.quiet)
    if not args.quiet and args.in_package:
        print(f"compiled fastloss's kernels into its package folder in {seconds:.1f} s")
    elif not args.quiet:
        print(
            f"compiled fastloss's kernels into {args.cache_dir} in {seconds:.1f} s; "
            f"set {_config.CACHE_DIR_VARIABLE}={args.cache_dir} where fastloss runs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
