"""Software prefetch of array memory, for row loops in shuffled order.

A shuffled epoch is bound by memory latency, not arithmetic (measured in
docs/developer/architecture.rst, "Measured facts"): one
core waits on each new row.  Asking for the rows a few samples ahead with
LLVM's ``prefetch`` intrinsic keeps several requests in flight.  The hint asks
for the L2 cache (locality 2, ``prefetcht1``), not L1: eight rows of 13 lines
ahead overflow the L1 miss buffers, and with them full the loads of the row
being computed wait too.  Measured on a shuffled 500,000 x 100 float64 hinge
epoch (kernel alone): L1 hint 70-72 ms, L2 hint 52-57 ms.
"""

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from .._config import jit

#: Cache line size in bytes (x86-64 and most ARM cores).
LINE = 64

#: How many samples ahead of the one being computed the epoch kernels prefetch
#: rows (4, 8 and 16 measured: 8 was as fast as any).  Each kernel writes its
#: prefetch step out in its loop: a shared helper, inlined or called, made the
#: one-vs-rest epoch about 10% slower (its array arguments cost reference counts
#: or a call a row).
AHEAD = 8


@intrinsic
def _prefetch(typingctx, arr, index):
    """Hint the CPU to load the cache line holding ``arr[index]``: a 1-D array
    and an integer, or an N-D array and a tuple of N integers."""
    if not isinstance(arr, types.Array):
        return None
    if isinstance(index, types.Integer):
        if arr.ndim != 1:
            return None
    elif not (
        isinstance(index, types.BaseTuple)
        and len(index) == arr.ndim
        and all(isinstance(i, types.Integer) for i in index)
    ):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        if isinstance(signature.args[1], types.BaseTuple):
            indices = cgutils.unpack_tuple(builder, args[1])
            index_types = signature.args[1].types
        else:
            indices, index_types = [args[1]], [signature.args[1]]
        # as intp, the width of the shape and strides (an index may be 32-bit)
        indices = [
            context.cast(builder, i, t, types.intp)
            for i, t in zip(indices, index_types, strict=True)
        ]
        ptr = cgutils.get_item_pointer2(
            context,
            builder,
            array.data,
            cgutils.unpack_tuple(builder, array.shape),
            cgutils.unpack_tuple(builder, array.strides),
            signature.args[0].layout,
            indices,
            wraparound=False,
            boundscheck=False,
        )
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn_type = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fn_type, "llvm.prefetch.p0")
        # read (0), locality 2 (L2), data cache (1)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(2), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, index), codegen


@intrinsic
def items_per_line(typingctx, arr):
    """How many of ``arr``'s items fill a cache line, as a compile-time constant.
    ``arr.itemsize`` is read from the array at run time, and the two integer
    divisions it then costs a prefetched row (``LINE // itemsize`` and the
    loop's trip count) added 7-8 ns a sample to a 100-feature SGD step, about
    a sixth of it, when the rows are in cache (Intel Xeon, 2.2 GHz)."""
    if not isinstance(arr, types.Array):
        return None
    step = max(1, LINE // (arr.dtype.bitwidth // 8))

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, step)

    return types.intp(arr), codegen


@jit()
def prefetch_range(arr, start, end):
    """Prefetch ``arr[start:end]`` (1-D), one request per cache line."""
    step = items_per_line(arr)
    for k in range(start, end, step):
        _prefetch(arr, k)
    if end > start:
        _prefetch(arr, end - 1)


@jit()
def prefetch_row(X, i):
    """Prefetch row ``i`` of a C-contiguous 2-D array, one request per cache line
    (indexing ``X`` itself: a row view would cost a reference count a sample)."""
    n = X.shape[1]
    step = items_per_line(X)
    for j in range(0, n, step):
        _prefetch(X, (i, j))
    if n > 0:
        _prefetch(X, (i, n - 1))
