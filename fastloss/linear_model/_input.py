"""Input checks that must happen before any compiled code touches the data.

Numba kernels (and SciPy's own sparse routines) do no bounds checks, so a
sparse matrix whose index arrays are malformed must be rejected up front.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

MAX_INT32 = np.iinfo(np.int32).max


def check_sparse_structure(X) -> None:
    """Raise ``ValueError`` unless sparse ``X``'s index arrays are consistent.

    Checks, with NumPy only: CSR/CSC ``indptr`` has one entry per row (column)
    plus one, starts at 0, never decreases and ends at the number of stored
    values; every index lies in ``[0, n_columns)`` (``[0, n_rows)``); COO
    coordinates lie inside the shape.  Unsorted and duplicate indices are
    valid (they are summed later).
    """
    if not sp.issparse(X):
        return
    fmt = X.format
    remedy = "; rebuild the matrix with scipy.sparse or call its check_format()."
    if fmt in ("csr", "csc"):
        n_major, n_minor = X.shape if fmt == "csr" else X.shape[::-1]
        indptr, indices = np.asarray(X.indptr), np.asarray(X.indices)
        if indptr.ndim != 1 or indptr.shape[0] != n_major + 1:
            raise ValueError(
                f"Malformed {fmt.upper()} input: indptr has {indptr.shape[0]} entries, "
                f"expected {n_major + 1}" + remedy
            )
        if indices.shape[0] != np.asarray(X.data).shape[0]:
            raise ValueError(
                f"Malformed {fmt.upper()} input: {indices.shape[0]} indices for "
                f"{np.asarray(X.data).shape[0]} stored values" + remedy
            )
        if indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
            raise ValueError(
                f"Malformed {fmt.upper()} input: indptr must start at 0, never decrease "
                f"and end at the number of stored values ({indices.shape[0]})" + remedy
            )
        _check_in_range(indices, n_minor, f"{fmt.upper()} indices", remedy)
    elif fmt == "coo":
        rows, cols = X.coords if hasattr(X, "coords") else (X.row, X.col)
        _check_in_range(np.asarray(rows), X.shape[0], "COO row indices", remedy)
        _check_in_range(np.asarray(cols), X.shape[1], "COO column indices", remedy)


def _check_in_range(indices, size, what, remedy):
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise ValueError(
            f"Malformed sparse input: {what} must lie in [0, {size}); found values "
            f"from {indices.min()} to {indices.max()}" + remedy
        )


def as_kernel_input(X):
    """CSR with sorted, summed-duplicate int32 indices, or dense as given.

    CSC and COO become CSR (a copy the row-wise kernels need); int64 indices
    are narrowed to int32 when they fit, so every sparse input reaches the same
    compiled kernel.  ``X`` must have passed :func:`check_sparse_structure`.
    """
    if not sp.issparse(X):
        return X
    X = sp.csr_matrix(X) if not isinstance(X, sp.csr_matrix) else X
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    if X.indices.dtype != np.int32 or X.indptr.dtype != np.int32:
        if X.nnz > MAX_INT32 or X.shape[1] > MAX_INT32:
            raise ValueError(
                "Sparse input with more than 2**31 - 1 stored values or columns is "
                "not supported; split it into chunks and use partial_fit."
            )
        X = sp.csr_matrix(
            (X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)), shape=X.shape
        )
    return X
