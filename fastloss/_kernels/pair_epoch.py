"""One epoch over pairs of documents drawn within queries (ranking).

Documents are laid out by *position*: the positions of one query are
contiguous, sorted by decreasing relevance, so the documents a position may be
paired with (same query, different relevance) are two contiguous ranges and a
partner is drawn with one random number.  Pairs are drawn as the epoch goes,
a chunk of ``CHUNK`` at a time (``next_pairs``), never all stored: an epoch
holds O(CHUNK) extra memory whatever the queries' sizes.

``pair_epoch_dense`` / ``pair_epoch_csr`` run plain SGD (scikit-learn's
schedules, penalties and averaging); ``pair_minibatch_dense`` /
``pair_minibatch_csr`` hand each chunk's difference rows to the mini-batch
kernels (``minibatch_epoch``) for every other optimizer.

Arguments shared by the plain SGD kernels:

X / (data, indices, indptr)
    The rows as given (dense C-contiguous, or CSR with in-range int32 indices,
    as in ``sgd_epoch``); never copied nor reordered.
docs : uint32 or int64 (n_positions,)
    Row of ``X`` at each position.
spans : int64 (n_positions, 4)
    Per position: first and past-the-end position of its query
    (``SPAN_QUERY_START``, ``SPAN_QUERY_END``) and of its run of equal
    relevance (``SPAN_TIE_START``, ``SPAN_TIE_END``).  Positions before the
    run are more relevant, those after it less.
sample_weight : float64 (n_positions,) or (0,)
    Per-position weights; a pair weighs the product of its documents' weights.
    Empty: every weight 1 (not read).
gains, discounts : float64 (n_positions,) or (0,)
    LambdaRank weighting: a pair also weighs ``|gains[a] - gains[b]| *
    |discounts[a] - discounts[b]|``, the change of its query's NDCG if the two
    swapped ranks.  Empty: no such weighting.
order : uint32 or int64 (n_anchors,)
    Anchor positions in visiting order.
pairs_per_doc : int
    Partners drawn for each anchor (uniformly among the positions it may be
    paired with, with replacement), or 0 for every one of them in turn.
pair_share : float
    1 / the mean number of partners of the anchors when partners are drawn
    (``next_pairs``: the draws then estimate the mean loss over every pair),
    0 with ``pairs_per_doc`` 0.
seed : int64
    Seed of the partner draws (xorshift64*, as ``shuffle``).
loss_code, loss_params, hyper, coef, avg_coef, l1_q, state
    As in ``sgd_epoch``: the binary margin loss of the score difference
    ``s_anchor - s_partner`` with target +1 when the anchor is the more
    relevant; ``coef`` is updated by ``x_anchor - x_partner``, formed from
    the two rows, never as a difference vector.  The intercept cancels in a
    difference and is left as it is.  (The mini-batch kernels take
    ``hyper``, ``coef``, ``opt_state``, ``state`` as ``minibatch_epoch``.)

Each returns the weighted sum of the pair losses seen (0 unless
``hyper[H_COMPUTE_LOSS]``).  The per-pair step (schedule, loss, clipping, L2
scale, L1 truncation, averaging) is ``sgd_epoch``'s, from the same
``_weights`` pieces; the dense and CSR bodies differ only in their row loops,
as there.
"""

import numpy as np

from .._config import jit
from ._layout import (
    H_ALPHA,
    H_AVERAGE_START,
    H_COMPUTE_LOSS,
    H_ETA0,
    H_L1,
    H_L2,
    H_OPTIMAL_T0,
    H_POWER_T,
    H_SCHEDULE,
    MIN_SCALE,
    O_BATCH,
    S_L1_U,
    S_N_CLIPS,
    S_T,
    SPAN_QUERY_END,
    SPAN_QUERY_START,
    SPAN_TIE_END,
    SPAN_TIE_START,
)
from ._loss_switch import loss_derivative, loss_value
from ._prefetch import AHEAD, _prefetch, prefetch_range, prefetch_row
from ._weights import (
    average_step,
    clip_dloss,
    finish_epoch,
    l1_truncate,
    overflow_marker,
    shrink_or_fold,
    step_size,
)
from .minibatch_epoch import minibatch_epoch_csr, minibatch_epoch_dense
from .sgd_epoch import row_dot, sparse_dot
from .shuffle import _below

__all__ = [
    "pair_epoch_dense",
    "pair_epoch_csr",
    "pair_minibatch_dense",
    "pair_minibatch_csr",
    "draw_partners",
    "seed_state",
]


@jit()
def seed_state(seed):
    """The xorshift64* state of an int64 seed (never 0)."""
    return np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) | np.uint64(1)


@jit()
def partner_at(query_start, tie_start, tie_end, r):
    """The ``r``-th position (0 <= r < its number of partners) an anchor may
    be paired with: its query's positions with its run of equal relevance
    left out.  Scalars only: an inlined helper taking ``spans`` kept a
    reference count a pair."""
    p = query_start + r
    if p >= tie_start:
        p += tie_end - tie_start
    return p


#: Pairs drawn at a time: the epoch draws a chunk of pairs, then trains on it
#: with both rows of the pair ``AHEAD`` ahead prefetched (a partner drawn just
#: before its step could not be prefetched; its row's cache miss cost about
#: half the epoch).  Five buffers of 1024 entries stay in the L1/L2 caches.
CHUNK = 1024


@jit()
def next_pairs(
    spans, docs, order, pairs_per_doc, pair_share, sample_weight, gains, discounts, k, r, s,
    pos_b, row_i, row_j, sign, weight,
):  # fmt: skip
    """Draw the epoch's next pairs into the buffers, from cursor ``(k, r, s)``:
    anchor ``order[k]``, its ``r``-th partner (drawn or, with ``pairs_per_doc``
    0, enumerated), random state ``s``.

    Buffers (as ``pair_buffers``): the partner's position ``pos_b``, the rows
    ``row_i`` (anchor), ``row_j`` (partner), ``sign`` (+1 when the anchor is
    the more relevant) and the pair's ``weight``: its share, the product of
    the documents' weights, and ``|delta NDCG|`` with ``gains``.

    The share: drawing an anchor uniformly, then one of its ``m_a`` partners,
    visits a pair with probability proportional to ``1 / m_a``; weighing it by
    ``m_a * pair_share`` (``pair_share``: 1 / the anchors' mean ``m_a``) makes
    the epoch's mean loss an unbiased estimate of the mean over every pair
    (RankSVM's objective).  With every pair visited, ``pair_share`` is 0 and
    the share 1.

    Returns ``(n_filled, k, r, s)``; ``k`` reaches ``order.shape[0]`` at the
    end of the epoch."""
    n = 0
    n_anchors = order.shape[0]
    weighted = sample_weight.shape[0] != 0
    swapped_ndcg = gains.shape[0] != 0
    while n < sign.shape[0] and k < n_anchors:
        if r == 0 and k + 2 * AHEAD < n_anchors:
            # the anchors' spans and rows are random cache lines: ask early
            ahead = np.int64(order[k + 2 * AHEAD])
            _prefetch(spans, (ahead, 0))
            _prefetch(docs, ahead)
        a = np.int64(order[k])
        query_start, query_end = spans[a, SPAN_QUERY_START], spans[a, SPAN_QUERY_END]
        tie_start, tie_end = spans[a, SPAN_TIE_START], spans[a, SPAN_TIE_END]
        m = query_end - query_start - (tie_end - tie_start)
        if pairs_per_doc == 0:
            b = partner_at(query_start, tie_start, tie_end, r)
            draws = m
        else:
            s, v = _below(s, np.uint64(m))
            b = partner_at(query_start, tie_start, tie_end, np.int64(v))
            draws = pairs_per_doc
        pos_b[n] = b
        row_i[n], row_j[n] = docs[a], docs[b]
        sign[n] = 1.0 if b >= tie_end else -1.0
        w = m * pair_share if pair_share > 0.0 else 1.0
        if weighted:
            w *= sample_weight[a] * sample_weight[b]
        if swapped_ndcg:
            w *= abs(gains[a] - gains[b]) * abs(discounts[a] - discounts[b])
        weight[n] = w
        n += 1
        r += 1
        if r == draws:
            r = 0
            k += 1
    return n, k, r, s


@jit()
def pair_buffers(docs, size=CHUNK):
    """Empty buffers of ``next_pairs``: (pos_b, row_i, row_j, sign, weight)."""
    return (
        np.empty(size, np.int64),
        np.empty(size, docs.dtype),
        np.empty(size, docs.dtype),
        np.empty(size, np.float64),
        np.empty(size, np.float64),
    )


@jit()
def draw_partners(spans, docs, order, pairs_per_doc, seed, out):
    """The partners the epoch kernels pair ``order``'s anchors with, for
    ``seed``, in visiting order (tests check the sampler through it).

    ``out``: int64 (n_pairs,), n_pairs the epoch's number of pairs; filled."""
    pos_b, row_i, row_j, sign, weight = pair_buffers(docs)
    none = np.empty(0)
    k, r, s = 0, 0, seed_state(seed)
    q = 0
    while k < order.shape[0]:
        n, k, r, s = next_pairs(
            spans, docs, order, pairs_per_doc, 0.0, none, none, none, k, r, s,
            pos_b, row_i, row_j, sign, weight,
        )  # fmt: skip
        out[q : q + n] = pos_b[:n]
        q += n


@jit()
def pair_epoch_dense(
    X, docs, spans, sample_weight, gains, discounts, order, pairs_per_doc, pair_share, seed,
    loss_code, loss_params, hyper, coef, avg_coef, l1_q, state,
):  # fmt: skip
    """One SGD epoch over pairs anchored at ``order``; see the module docstring."""
    schedule = int(hyper[H_SCHEDULE])
    eta0, power_t, t0 = hyper[H_ETA0], hyper[H_POWER_T], hyper[H_OPTIMAL_T0]
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    average_start = hyper[H_AVERAGE_START]
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    t, u = state[S_T], state[S_L1_U]
    scale, avg_a, avg_b = 1.0, 0.0, 1.0
    n_features = X.shape[1]
    weights = coef[None, :]  # 2-D view for row_dot
    s = seed_state(seed)
    loss_sum = 0.0
    n_clips = 0

    pos_b, row_i, row_j, sign, weight = pair_buffers(docs)
    k, r = 0, 0
    while k < order.shape[0]:
        n, k, r, s = next_pairs(
            spans, docs, order, pairs_per_doc, pair_share, sample_weight, gains, discounts,
            k, r, s, pos_b, row_i, row_j, sign, weight,
        )  # fmt: skip
        for q in range(n):
            if q + AHEAD < n:
                prefetch_row(X, row_i[q + AHEAD])
                prefetch_row(X, row_j[q + AHEAD])
            i, j, y = row_i[q], row_j[q], sign[q]
            p = scale * (row_dot(weights, 0, X, i) - row_dot(weights, 0, X, j))
            eta = step_size(schedule, eta0, power_t, t0, alpha, t)
            w = weight[q]
            if compute_loss:
                loss_sum += w * loss_value(loss_code, y, p, loss_params)
            loss_sum += overflow_marker(p)  # an overflowed score reaches the divergence check
            dloss, clipped = clip_dloss(loss_derivative(loss_code, y, p, loss_params))
            n_clips += clipped
            update = -eta * w * dloss

            if l2 > 0.0:
                factor = max(0.0, 1.0 - eta * l2)
                if scale * factor >= MIN_SCALE:
                    scale *= factor
                else:
                    scale, avg_a, avg_b = shrink_or_fold(
                        coef, avg_coef, scale, factor, avg_a, avg_b
                    )
            if update != 0.0:
                c = update / scale
                if avg_a != 0.0:
                    for jj in range(n_features):
                        d = c * (X[i, jj] - X[j, jj])
                        coef[jj] += d
                        avg_coef[jj] -= avg_a * d
                else:
                    c_x = X.dtype.type(c)  # float32 rows: a float32 update, as sgd_epoch
                    for jj in range(n_features):
                        coef[jj] += c_x * (X[i, jj] - X[j, jj])
            if l1 > 0.0:
                u += eta * l1
                for jj in range(n_features):
                    if X[i, jj] != 0.0 or X[j, jj] != 0.0:
                        delta = l1_truncate(coef, l1_q, jj, u, scale)
                        avg_coef[jj] -= avg_a * delta
            if 0.0 < average_start <= t:
                avg_a, avg_b, _ = average_step(t, average_start, scale, avg_a, avg_b)
            t += 1.0

    finish_epoch(coef, avg_coef, scale, avg_a, avg_b)
    state[S_T], state[S_L1_U] = t, u
    state[S_N_CLIPS] += n_clips
    return loss_sum


@jit()
def pair_epoch_csr(
    data, indices, indptr, docs, spans, sample_weight, gains, discounts, order, pairs_per_doc,
    pair_share, seed, loss_code, loss_params, hyper, coef, avg_coef, l1_q, state,
):  # fmt: skip
    """One SGD epoch over pairs of CSR rows, O(nnz) a pair; see the module docstring."""
    schedule = int(hyper[H_SCHEDULE])
    eta0, power_t, t0 = hyper[H_ETA0], hyper[H_POWER_T], hyper[H_OPTIMAL_T0]
    alpha = hyper[H_ALPHA]
    l2, l1 = hyper[H_L2] * alpha, hyper[H_L1] * alpha
    average_start = hyper[H_AVERAGE_START]
    compute_loss = hyper[H_COMPUTE_LOSS] != 0.0
    t, u = state[S_T], state[S_L1_U]
    scale, avg_a, avg_b = 1.0, 0.0, 1.0
    s = seed_state(seed)
    loss_sum = 0.0
    n_clips = 0

    pos_b, row_i, row_j, sign, weight = pair_buffers(docs)
    k, r = 0, 0
    while k < order.shape[0]:
        n, k, r, s = next_pairs(
            spans, docs, order, pairs_per_doc, pair_share, sample_weight, gains, discounts,
            k, r, s, pos_b, row_i, row_j, sign, weight,
        )  # fmt: skip
        for q in range(n):
            if q + 2 * AHEAD < n:
                _prefetch(indptr, row_i[q + 2 * AHEAD])
                _prefetch(indptr, row_j[q + 2 * AHEAD])
            if q + AHEAD < n:
                for ahead in (row_i[q + AHEAD], row_j[q + AHEAD]):
                    prefetch_range(data, indptr[ahead], indptr[ahead + 1])
                    prefetch_range(indices, indptr[ahead], indptr[ahead + 1])
            i, j, y = row_i[q], row_j[q], sign[q]
            i0, i1 = indptr[i], indptr[i + 1]
            j0, j1 = indptr[j], indptr[j + 1]
            p = scale * (
                sparse_dot(coef, data, indices, i0, i1) - sparse_dot(coef, data, indices, j0, j1)
            )
            eta = step_size(schedule, eta0, power_t, t0, alpha, t)
            w = weight[q]
            if compute_loss:
                loss_sum += w * loss_value(loss_code, y, p, loss_params)
            loss_sum += overflow_marker(p)  # an overflowed score reaches the divergence check
            dloss, clipped = clip_dloss(loss_derivative(loss_code, y, p, loss_params))
            n_clips += clipped
            update = -eta * w * dloss

            if l2 > 0.0:
                factor = max(0.0, 1.0 - eta * l2)
                if scale * factor >= MIN_SCALE:
                    scale *= factor
                else:
                    scale, avg_a, avg_b = shrink_or_fold(
                        coef, avg_coef, scale, factor, avg_a, avg_b
                    )
            if update != 0.0:
                c = update / scale
                for kk in range(i0, i1):  # + x_anchor
                    d = c * data[kk]
                    coef[indices[kk]] += d
                    avg_coef[indices[kk]] -= avg_a * d
                for kk in range(j0, j1):  # - x_partner
                    d = c * data[kk]
                    coef[indices[kk]] -= d
                    avg_coef[indices[kk]] += avg_a * d
            if l1 > 0.0:
                u += eta * l1
                for kk in range(i0, i1):
                    if data[kk] != 0.0:
                        delta = l1_truncate(coef, l1_q, indices[kk], u, scale)
                        avg_coef[indices[kk]] -= avg_a * delta
                for kk in range(j0, j1):
                    if data[kk] != 0.0:
                        delta = l1_truncate(coef, l1_q, indices[kk], u, scale)
                        avg_coef[indices[kk]] -= avg_a * delta
            if 0.0 < average_start <= t:
                avg_a, avg_b, _ = average_step(t, average_start, scale, avg_a, avg_b)
            t += 1.0

    finish_epoch(coef, avg_coef, scale, avg_a, avg_b)
    state[S_T], state[S_L1_U] = t, u
    state[S_N_CLIPS] += n_clips
    return loss_sum


# ------------------------------------------------------- any optimizer (mini-batch)
@jit()
def chunk_setup(docs, hyper):
    """What a mini-batch pair epoch reuses across chunks: the ``next_pairs``
    buffers of a whole number of batches and the chunk's row order
    ``0..size-1`` (as ``docs``)."""
    batch = int(hyper[O_BATCH])
    size = max(batch, (CHUNK // batch) * batch)
    rows = np.empty(size, docs.dtype)
    for q in range(size):
        rows[q] = q
    return pair_buffers(docs, size), rows


@jit()
def pair_minibatch_dense(
    X, docs, spans, sample_weight, gains, discounts, order, pairs_per_doc, pair_share, seed,
    loss_code, loss_params, hyper, coef, opt_state, state,
):  # fmt: skip
    """One epoch of mini-batches of pairs with any optimizer (``hyper`` as
    ``minibatch_epoch``'s, ``opt_state`` its state).

    The pairs are drawn a chunk at a time (a whole number of batches) and
    their difference rows ``x_i - x_j`` written into a chunk buffer (CHUNK x
    n_features, reused), which ``minibatch_epoch_dense`` then trains on with
    targets the pairs' signs: the optimizer rules are that kernel's, not
    copies.  Returns the weighted sum of the pair losses."""
    weighted = pair_share > 0.0 or sample_weight.shape[0] != 0 or gains.shape[0] != 0
    (pos_b, row_i, row_j, sign, weight), rows = chunk_setup(docs, hyper)
    weights = weight if weighted else np.empty(0)  # the mini-batch kernel reads no weights
    diffs = np.empty((sign.shape[0], X.shape[1]), X.dtype)
    k, r, s = 0, 0, seed_state(seed)
    loss_sum = 0.0
    while k < order.shape[0]:
        n, k, r, s = next_pairs(
            spans, docs, order, pairs_per_doc, pair_share, sample_weight, gains, discounts,
            k, r, s, pos_b, row_i, row_j, sign, weight,
        )  # fmt: skip
        for q in range(n):
            i, j = row_i[q], row_j[q]
            for jj in range(X.shape[1]):
                diffs[q, jj] = X[i, jj] - X[j, jj]
        loss_sum += minibatch_epoch_dense(
            diffs, sign, weights, rows[:n], loss_code, loss_params, hyper, coef, opt_state, state
        )
    return loss_sum


@jit()
def pair_minibatch_csr(
    data, indices, indptr, docs, spans, sample_weight, gains, discounts, order, pairs_per_doc,
    pair_share, seed, loss_code, loss_params, hyper, coef, opt_state, state,
):  # fmt: skip
    """``pair_minibatch_dense`` over CSR rows: a pair's row in the chunk holds
    the anchor's non-zeros and the partner's negated ones, side by side (a
    feature in both appears twice, which every sum the kernel takes allows),
    so nothing of size n_features is formed; ``minibatch_epoch_csr`` trains
    on the chunk lazily, O(nnz)."""
    weighted = pair_share > 0.0 or sample_weight.shape[0] != 0 or gains.shape[0] != 0
    (pos_b, row_i, row_j, sign, weight), rows = chunk_setup(docs, hyper)
    weights = weight if weighted else np.empty(0)  # the mini-batch kernel reads no weights
    c_indptr = np.zeros(sign.shape[0] + 1, indptr.dtype)
    c_data = np.empty(0, data.dtype)
    c_indices = np.empty(0, indices.dtype)
    k, r, s = 0, 0, seed_state(seed)
    loss_sum = 0.0
    while k < order.shape[0]:
        n, k, r, s = next_pairs(
            spans, docs, order, pairs_per_doc, pair_share, sample_weight, gains, discounts,
            k, r, s, pos_b, row_i, row_j, sign, weight,
        )  # fmt: skip
        nnz = 0
        for q in range(n):
            i, j = row_i[q], row_j[q]
            nnz += indptr[i + 1] - indptr[i] + indptr[j + 1] - indptr[j]
        if nnz > c_data.shape[0]:
            c_data = np.empty(2 * nnz, data.dtype)
            c_indices = np.empty(2 * nnz, indices.dtype)
        m = 0
        for q in range(n):
            i, j = row_i[q], row_j[q]
            for kk in range(indptr[i], indptr[i + 1]):
                c_data[m], c_indices[m] = data[kk], indices[kk]
                m += 1
            for kk in range(indptr[j], indptr[j + 1]):
                c_data[m], c_indices[m] = -data[kk], indices[kk]
                m += 1
            c_indptr[q + 1] = m
        loss_sum += minibatch_epoch_csr(
            c_data, c_indices, c_indptr, sign, weights, rows[:n], loss_code, loss_params,
            hyper, coef, opt_state, state,
        )  # fmt: skip
    return loss_sum
