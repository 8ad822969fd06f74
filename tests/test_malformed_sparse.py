"""Malformed sparse input: a clear ValueError, or exactly the dense model.

Every matrix here starts as a valid CSR / CSC / COO matrix whose index arrays
are then overwritten (SciPy would refuse some of them at construction).  Index
arrays that would make a compiled kernel read out of bounds must be rejected
with a ``ValueError`` whose message starts "Malformed"; NaN and infinity get
scikit-learn's "Input X contains ..." errors.  Irregular but valid structure
(unsorted or duplicate indices, int64 index arrays, explicitly stored zeros)
must give the same coefficients as the dense array ``X.toarray()`` (which sums
duplicates), and must not modify the caller's matrix.

The last test runs this module again in a child interpreter with
``NUMBA_BOUNDSCHECK=1`` and an empty ``NUMBA_CACHE_DIR``, so that every kernel is
compiled with bounds checks: an out-of-range read then raises ``IndexError``
instead of silently reading memory.
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

import fastloss

# ---------------------------------------------------------------------- data
_rng = np.random.default_rng(0)
D = _rng.normal(size=(30, 6))
D[_rng.random(D.shape) < 0.45] = 0.0
Y = (D @ _rng.normal(size=6) + 0.1 * _rng.normal(size=30) > 0).astype(int)
Y3 = np.arange(30) % 3
YR = D @ _rng.normal(size=6) + 0.1 * _rng.normal(size=30)
assert min(np.count_nonzero(D, axis=1).min(), np.count_nonzero(D, axis=0).min()) >= 2

PARAMS = dict(
    random_state=0,
    max_iter=8,
    tol=None,
    penalty="elasticnet",
    l1_ratio=0.5,
    alpha=1e-3,
    average=7,
)

FORMATS = {
    "csr": sp.csr_matrix,
    "csr_array": sp.csr_array,
    "csc": sp.csc_matrix,
    "coo": sp.coo_matrix,
}


def build(fmt, mutate, stale_flags=False):
    """A valid ``fmt`` matrix of ``D``, then ``mutate`` applied to its arrays.

    With ``stale_flags``, SciPy caches "canonical format" and "sorted indices"
    before the mutation, so the matrix claims to be canonical when it is not.
    """
    X = FORMATS[fmt](D)
    if stale_flags:
        assert X.has_canonical_format
        assert X.format == "coo" or X.has_sorted_indices
    mutate(X)
    return X


def _slices(X):
    return [(X.indptr[i], X.indptr[i + 1]) for i in range(X.indptr.shape[0] - 1)]


def _minor(X):
    """Number of columns (CSR) or rows (CSC): the range of ``indices``."""
    return X.shape[1] if X.format == "csr" else X.shape[0]


# ---------------------------------------------------------- bad structures
def index_out_of_range(X):
    X.indices[3] = _minor(X)


def index_negative(X):
    X.indices[5] = -1


def index_beyond_int32(X):
    X.indices = X.indices.astype(np.int64)
    X.indices[4] = 2**40  # would wrap to an in-range int32 if narrowed blindly


def indptr_non_monotone(X):
    assert X.indptr[2] < X.indptr[3]
    X.indptr[2], X.indptr[3] = X.indptr[3], X.indptr[2]


def indptr_negative(X):
    X.indptr[1] = -1


def indptr_too_short(X):
    X.indptr = X.indptr[:-1].copy()


def indptr_too_long(X):
    X.indptr = np.append(X.indptr, X.indptr[-1]).astype(X.indptr.dtype)


def indptr_short_of_nnz(X):
    X.indptr[-1] -= 1


def indptr_past_nnz(X):
    X.indptr[-1] += 5  # the last row would read five values past the end


def indptr_not_starting_at_0(X):
    X.indptr[0] = 1


def fewer_indices_than_values(X):
    X.indices = X.indices[:-1].copy()


def int64_indptr_past_nnz(X):
    X.indices = X.indices.astype(np.int64)
    X.indptr = X.indptr.astype(np.int64)
    X.indptr[-1] += 1


def coo_row_out_of_range(X):
    X.row[2] = X.shape[0]


def coo_col_negative(X):
    X.col[4] = -3


def data_nan(X):
    X.data[2] = np.nan


def data_inf(X):
    X.data[6] = -np.inf


COMPRESSED = ["csr", "csr_array", "csc"]
ALL = [*COMPRESSED, "coo"]

#: name -> (mutation, formats, message fragment).
BAD = {
    "index-out-of-range": (index_out_of_range, COMPRESSED, "indices must lie in [0, "),
    "index-negative": (index_negative, COMPRESSED, "indices must lie in [0, "),
    "int64-index-beyond-int32": (index_beyond_int32, COMPRESSED, "indices must lie in [0, "),
    "indptr-non-monotone": (indptr_non_monotone, COMPRESSED, "never decrease"),
    "indptr-negative": (indptr_negative, COMPRESSED, "never decrease"),
    "indptr-too-short": (indptr_too_short, COMPRESSED, "indptr has"),
    "indptr-too-long": (indptr_too_long, COMPRESSED, "indptr has"),
    "indptr-ends-before-nnz": (indptr_short_of_nnz, COMPRESSED, "end at the number of stored"),
    "indptr-ends-past-nnz": (indptr_past_nnz, COMPRESSED, "end at the number of stored"),
    "int64-indptr-ends-past-nnz": (int64_indptr_past_nnz, COMPRESSED, "end at the number"),
    "indptr-not-starting-at-0": (indptr_not_starting_at_0, COMPRESSED, "start at 0"),
    "fewer-indices-than-values": (fewer_indices_than_values, COMPRESSED, "indices for"),
    "coo-row-out-of-range": (coo_row_out_of_range, ["coo"], "COO row indices must lie in"),
    "coo-col-negative": (coo_col_negative, ["coo"], "COO column indices must lie in"),
    "data-nan": (data_nan, ALL, "Input X contains NaN"),
    "data-inf": (data_inf, ALL, "Input X contains infinity"),
}


# ------------------------------------------------------- valid but irregular
def unsorted_indices(X):
    if X.format == "coo":
        order = np.arange(X.nnz)[::-1]
        X.coords = (X.row[order].copy(), X.col[order].copy())
        X.data[:] = X.data[order].copy()
        return
    for start, end in _slices(X):
        X.indices[start:end] = X.indices[start:end][::-1].copy()
        X.data[start:end] = X.data[start:end][::-1].copy()


def duplicate_indices(X):
    """Every row (column) stores its first index twice, dropping its second one."""
    if X.format == "coo":
        for k in range(1, X.nnz, 4):
            X.row[k], X.col[k] = X.row[k - 1], X.col[k - 1]
        return
    for start, end in _slices(X):
        if end - start >= 2:
            X.indices[start + 1] = X.indices[start]


def unsorted_duplicates(X):
    duplicate_indices(X)
    unsorted_indices(X)


def int64_indices(X):
    if X.format == "coo":
        X.coords = (X.row.astype(np.int64), X.col.astype(np.int64))
        return
    X.indices = X.indices.astype(np.int64)


def int64_indices_and_indptr(X):
    int64_indices(X)
    if X.format != "coo":
        X.indptr = X.indptr.astype(np.int64)


def explicit_zeros(X):
    X.data[::3] = 0.0


def everything_at_once(X):
    explicit_zeros(X)
    unsorted_duplicates(X)
    int64_indices_and_indptr(X)


#: name -> (mutation, formats).
IRREGULAR = {
    "unsorted-indices": (unsorted_indices, ALL),
    "duplicate-indices": (duplicate_indices, ALL),
    "unsorted-duplicate-indices": (unsorted_duplicates, ALL),
    "int64-indices": (int64_indices, ALL),
    "int64-indices-and-indptr": (int64_indices_and_indptr, COMPRESSED),
    "explicit-zeros": (explicit_zeros, ALL),
    "all-of-the-above": (everything_at_once, ALL),
}


def _irregularities(X):
    """Which irregularities ``X`` really has, read from its arrays."""
    if X.format == "coo":
        keys = X.row.astype(np.int64) * X.shape[1] + X.col
        unsorted = bool(np.any(np.diff(keys) < 0))
        duplicates = np.unique(keys).size < keys.size
        index_dtypes = {X.row.dtype, X.col.dtype}
    else:
        slices = [X.indices[a:b] for a, b in _slices(X)]
        unsorted = any(np.any(np.diff(s) < 0) for s in slices)
        duplicates = any(np.unique(s).size < s.size for s in slices)
        index_dtypes = {X.indices.dtype}
    found = set()
    if unsorted:
        found.add("unsorted")
    if duplicates:
        found.add("duplicate")
    if np.dtype(np.int64) in index_dtypes:
        found.add("int64")
    if np.any(X.data == 0):
        found.add("zeros")
    return found


def _arrays(X):
    """Copies of the arrays that define ``X`` (to check that nobody wrote to them)."""
    if X.format == "coo":
        return [X.data.copy(), X.row.copy(), X.col.copy()]
    return [X.data.copy(), X.indices.copy(), X.indptr.copy()]


def _assert_untouched(X, saved):
    for now, then in zip(_arrays(X), saved, strict=True):
        assert now.dtype == then.dtype
        np.testing.assert_array_equal(now, then)


# ------------------------------------------------------------------ actions
def _fitted(kind, how):
    if kind == "clf":
        est = fastloss.SGDClassifier(**PARAMS)
        return est.fit(D, Y) if how == "fit" else est.partial_fit(D, Y, classes=[0, 1])
    est = fastloss.SGDRegressor(**PARAMS)
    return est.fit(D, YR) if how == "fit" else est.partial_fit(D, YR)


#: Each action: (estimator kind, method, how the estimator is prepared).
ACTIONS = {
    "clf.fit": ("clf", "fit", "fit"),
    "reg.fit": ("reg", "fit", "fit"),
    "clf.partial_fit": ("clf", "partial_fit", "partial_fit"),
    "reg.partial_fit": ("reg", "partial_fit", "partial_fit"),
    "clf.decision_function": ("clf", "decision_function", "fit"),
    "clf.predict": ("clf", "predict", "fit"),
    "reg.predict": ("reg", "predict", "fit"),
}


def _call(est, method, X, y):
    if method in ("fit", "partial_fit"):
        return getattr(est, method)(X, y)
    return getattr(est, method)(X)


BAD_CASES = [
    pytest.param(name, fmt, action, id=f"{name}-{fmt}-{action}")
    for name, (_, formats, _) in BAD.items()
    for fmt in formats
    for action in ACTIONS
]


@pytest.mark.parametrize("name, fmt, action", BAD_CASES)
def test_malformed_sparse_is_rejected_and_model_kept(name, fmt, action):
    mutate, _, fragment = BAD[name]
    kind, method, how = ACTIONS[action]
    est = _fitted(kind, how)
    before = pickle.dumps(est)
    X = build(fmt, mutate)
    with pytest.raises(ValueError) as info:
        _call(est, method, X, Y if kind == "clf" else YR)
    message = str(info.value)
    assert fragment in message, message
    if not name.startswith("data-"):
        assert message.startswith("Malformed"), message
    assert pickle.dumps(est) == before


IRREGULAR_CASES = [
    pytest.param(
        name, fmt, stale, action, id=f"{name}-{fmt}-{'stale' if stale else 'fresh'}-{action}"
    )
    for name, (_, formats) in IRREGULAR.items()
    for fmt in formats
    for stale in (False, True)
    for action in ("clf.fit", "reg.fit", "clf.partial_fit", "reg.partial_fit", "predict")
]


@pytest.mark.parametrize("name, fmt, stale, action", IRREGULAR_CASES)
def test_irregular_sparse_equals_dense(name, fmt, stale, action):
    mutate, _ = IRREGULAR[name]
    X = build(fmt, mutate, stale_flags=stale)
    expected = {
        "unsorted-indices": {"unsorted"},
        "duplicate-indices": {"duplicate"},
        "unsorted-duplicate-indices": {"unsorted", "duplicate"},
        "int64-indices": {"int64"},
        "int64-indices-and-indptr": {"int64"},
        "explicit-zeros": {"zeros"},
        "all-of-the-above": {"unsorted", "duplicate", "int64", "zeros"},
    }[name]
    assert _irregularities(X) == expected
    if name == "int64-indices-and-indptr":
        assert X.indptr.dtype == np.int64
    dense = X.toarray()  # sums duplicates
    saved = _arrays(X)
    if action == "predict":
        clf, reg = _fitted("clf", "fit"), _fitted("reg", "fit")
        np.testing.assert_allclose(
            clf.decision_function(X), clf.decision_function(dense), rtol=1e-12, atol=1e-12
        )
        np.testing.assert_array_equal(clf.predict(X), clf.predict(dense))
        np.testing.assert_allclose(reg.predict(X), reg.predict(dense), rtol=1e-12, atol=1e-12)
        _assert_untouched(X, saved)
        return
    kind, method = action.split(".")
    # Three classes for the classifier's fit: one-vs-rest runs one model a class.
    y = {"clf": Y3 if method == "fit" else Y, "reg": YR}[kind]
    make = fastloss.SGDClassifier if kind == "clf" else fastloss.SGDRegressor
    kw = {"classes": np.unique(y)} if (kind, method) == ("clf", "partial_fit") else {}
    on_sparse, on_dense = make(**PARAMS), make(**PARAMS)
    for _ in range(2 if method == "partial_fit" else 1):
        getattr(on_sparse, method)(X, y, **kw)
        getattr(on_dense, method)(dense, y, **kw)
    _assert_untouched(X, saved)
    np.testing.assert_allclose(on_sparse.coef_, on_dense.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(on_sparse.intercept_, on_dense.intercept_, rtol=1e-9, atol=1e-12)
    assert on_sparse.n_iter_ == on_dense.n_iter_
    assert on_sparse.t_ == on_dense.t_


@pytest.mark.skipif(
    os.environ.get("NUMBA_BOUNDSCHECK") != "1",
    reason="only in the NUMBA_BOUNDSCHECK=1 child process",
)
def test_bounds_checks_are_compiled_in():
    """In the child process, fastloss's own kernels really check their bounds."""
    import numba

    from fastloss._kernels.sgd_epoch import row_dot

    assert numba.config.BOUNDSCHECK
    with pytest.raises(IndexError):
        row_dot(np.zeros((1, 2)), 0, np.ones((1, 2)), 3)  # row 3 of a 1-row X


@pytest.mark.slow
def test_cases_under_numba_boundscheck_in_subprocess(tmp_path, rerun_in_subprocess):
    proc = rerun_in_subprocess(
        __file__, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba-cache")
    )
    output = proc.stdout[-4000:] + proc.stderr[-4000:]
    # A negative return code is a signal (-11: the interpreter segfaulted).
    assert proc.returncode == 0, output
    assert " skipped" not in proc.stdout.splitlines()[-1], output  # the boundscheck test ran
