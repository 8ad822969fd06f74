"""Row access for an epoch kernel written once for dense and CSR rows.

A kernel body takes its rows as ``data, indices, indptr``: a CSR matrix's three
arrays, or a C-contiguous 2-D array and two unused empty ones (the dense
kernel's wrapper passes them).  It reaches a row's values only through the
functions here, each overloaded (``numba.extending.overload``) on whether
``data`` is 2-D, so that the one body compiles to the dense and to the CSR
kernel and the per-sample step (schedule, loss, clipping, L2 scale, intercept,
averaging) exists once.  Only the loops over a row's features are written
twice, here, side by side: each is the loop the separate dense or CSR kernel
had, operation for operation, so both train bit for bit as before.

Why this shape (each point measured on shuffled 500,000 x 100 hinge epochs,
float64 and float32, and 200,000 x 100,000 CSR rows of 50 values; issue 17):

* Overloads, not Numba-IR inlining (``inline="always"``): an IR-inlined helper
  that binds the arrays left reference counts in the row loop
  (tests/test_kernel_refcounts.py); a plain call keeps none, and LLVM inlines
  the small ones.
* The three arrays as separate arguments, not a ``(data, indices, indptr)``
  tuple: unpacking a tuple of arrays in a helper counts references.
* ``row_axpy`` and ``row_axpy_averaged`` apart, the branch on averaging in the
  kernel: one helper with both loops was too large for LLVM to inline.
* No call left in the row loop but the prefetch: ``_weights.l1_truncate`` is
  IR-inlined (as a call, on the L1 branch alone, the float32 L2 epoch ran 17%
  slower), and the prefetch stays a call to ``_prefetch.prefetch_row`` /
  ``prefetch_range`` (written out here and inlined, the float32 epoch ran
  15-20% slower).
"""

from numba.core import types
from numba.extending import overload

from .._config import jit
from ._layout import ROW_BITS
from ._prefetch import _prefetch, prefetch_range, prefetch_row
from ._weights import l1_truncate

#: Compile flags of the overloads' implementations (as ``_config.jit``).
_OPTIONS = {"nogil": True, "error_model": "numpy"}


def _is_dense(data):
    return isinstance(data, types.Array) and data.ndim == 2


def _is_csr(data):
    return isinstance(data, types.Array) and data.ndim == 1


@jit(inline="always")
def order_row(entry, packed):
    """The row of an order entry: without its label bit when labels are packed."""
    return entry & ROW_BITS if packed else entry


@jit(fastmath={"reassoc", "contract", "nsz", "arcp"})
def row_dot(W, k, X, i):
    """W[k] @ X[i] for two C-contiguous 2-D arrays, reassociated so that LLVM
    vectorises it.  Indexing the 2-D arrays, not row views: a view costs two
    atomic reference-count updates, about 10% of a one-vs-rest epoch.  Every
    dense SGD kernel computes its scores here, so one-vs-rest and per-class
    epochs round alike.

    The sum is kept in X's dtype: float32 rows are summed in float32 (as
    scikit-learn's float32 SGD sums them), 8 products a vector, instead of
    each product being widened to float64, 4 a vector (see the float32 step
    in ``row_axpy``)."""
    s = X.dtype.type(0.0)
    for j in range(X.shape[1]):
        s += W[k, j] * X[i, j]
    return s


def prefetch_row_extent(data, indptr, i):
    """Prefetch where row ``i`` starts and ends (CSR; nothing for dense rows)."""


def prefetch_row_at(data, indices, indptr, i):
    """Prefetch row ``i``, one request per cache line."""


def row_score(data, indices, indptr, weights, i):
    """``weights[0] @ row i``; ``weights`` is the (1, n_features) view of coef."""


def row_axpy(data, indices, indptr, i, c, coef):
    """``coef += c * row i``."""


def row_axpy_averaged(data, indices, indptr, i, c, coef, avg_coef, avg_a):
    """``coef += c * row i``, and ``avg_coef -= avg_a * c * row i`` (the lazy
    average's correction, ``_weights``)."""


def row_l1(data, indices, indptr, i, coef, avg_coef, l1_q, u, scale, avg_a):
    """L1-truncate the weights of the row's non-zero features."""


@overload(prefetch_row_extent, jit_options=_OPTIONS)
def _prefetch_row_extent(data, indptr, i):
    if _is_dense(data):
        return lambda data, indptr, i: None
    if _is_csr(data):

        def csr(data, indptr, i):
            _prefetch(indptr, i)

        return csr
    return None


@overload(prefetch_row_at, jit_options=_OPTIONS)
def _prefetch_row_at(data, indices, indptr, i):
    if _is_dense(data):

        def dense(data, indices, indptr, i):
            prefetch_row(data, i)

        return dense
    if _is_csr(data):

        def csr(data, indices, indptr, i):
            prefetch_range(data, indptr[i], indptr[i + 1])
            prefetch_range(indices, indptr[i], indptr[i + 1])

        return csr
    return None


@overload(row_score, jit_options=_OPTIONS)
def _row_score(data, indices, indptr, weights, i):
    if _is_dense(data):
        return lambda data, indices, indptr, weights, i: row_dot(weights, 0, data, i)
    if _is_csr(data):

        def csr(data, indices, indptr, weights, i):
            s = 0.0
            for kk in range(indptr[i], indptr[i + 1]):
                s += weights[0, indices[kk]] * data[kk]
            return s

        return csr
    return None


@overload(row_axpy, jit_options=_OPTIONS)
def _row_axpy(data, indices, indptr, i, c, coef):
    if _is_dense(data):

        def dense(data, indices, indptr, i, c, coef):
            c_x = data.dtype.type(c)  # float32 rows: a float32 update, 8 lanes a vector
            for j in range(data.shape[1]):
                coef[j] += c_x * data[i, j]

        return dense
    if _is_csr(data):

        def csr(data, indices, indptr, i, c, coef):
            for kk in range(indptr[i], indptr[i + 1]):
                coef[indices[kk]] += c * data[kk]

        return csr
    return None


@overload(row_axpy_averaged, jit_options=_OPTIONS)
def _row_axpy_averaged(data, indices, indptr, i, c, coef, avg_coef, avg_a):
    if _is_dense(data):

        def dense(data, indices, indptr, i, c, coef, avg_coef, avg_a):
            for j in range(data.shape[1]):
                d = c * data[i, j]
                coef[j] += d
                avg_coef[j] -= avg_a * d

        return dense
    if _is_csr(data):

        def csr(data, indices, indptr, i, c, coef, avg_coef, avg_a):
            for kk in range(indptr[i], indptr[i + 1]):
                j = indices[kk]
                d = c * data[kk]
                coef[j] += d
                avg_coef[j] -= avg_a * d

        return csr
    return None


@overload(row_l1, jit_options=_OPTIONS)
def _row_l1(data, indices, indptr, i, coef, avg_coef, l1_q, u, scale, avg_a):
    if _is_dense(data):

        def dense(data, indices, indptr, i, coef, avg_coef, l1_q, u, scale, avg_a):
            for j in range(data.shape[1]):
                if data[i, j] != 0.0:
                    delta = l1_truncate(coef, l1_q, j, u, scale)
                    avg_coef[j] -= avg_a * delta

        return dense
    if _is_csr(data):

        def csr(data, indices, indptr, i, coef, avg_coef, l1_q, u, scale, avg_a):
            for kk in range(indptr[i], indptr[i + 1]):
                if data[kk] != 0.0:
                    j = indices[kk]
                    delta = l1_truncate(coef, l1_q, j, u, scale)
                    avg_coef[j] -= avg_a * delta

        return csr
    return None
