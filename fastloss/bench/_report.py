"""Output: the aligned text table, the JSON file and the PNG chart."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..plot._matplotlib import INSTALL_HINT
from ..plot._speedups import speedup_figure
from ._logistic import format_logistic
from ._run import BenchResult, CaseResult

__all__ = ["format_report", "format_table", "text_table", "write_json", "write_png"]

PLOT_HINT = f"drawing the chart needs matplotlib: {INSTALL_HINT}"


def _fmt(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec``, or ``-`` when missing."""
    return "-" if value is None else format(value, spec)


@dataclass(frozen=True)
class Column:
    """One table column: header, alignment and how to render a cell."""

    header: str
    cell: Callable[[CaseResult], str]
    right: bool = True


COLUMNS = (
    Column("case", lambda r: r.case.name, right=False),
    Column("n x d", lambda r: r.case.data.shape_label),
    Column("sk ms/ep", lambda r: f"{1e3 * r.timing.sklearn_seconds:.1f}"),
    Column("fl ms/ep", lambda r: f"{1e3 * r.timing.fastloss_seconds:.1f}"),
    Column("speedup", lambda r: f"{r.timing.speedup:.2f}x"),
    Column("fl/stream", lambda r: _fmt(r.floor_multiple("stream"), ".1f")),
    Column("fl/random", lambda r: _fmt(r.floor_multiple("random"), ".2f")),
    Column("sk obj", lambda r: f"{r.sklearn.objective:.4f}"),
    Column("fl obj", lambda r: f"{r.fastloss.objective:.4f}"),
    Column("metric", lambda r: r.metric, right=False),
    Column("sk score", lambda r: f"{r.sklearn.score:.4f}"),
    Column("fl score", lambda r: f"{r.fastloss.score:.4f}"),
    Column("sk MiB", lambda r: f"{r.sklearn.peak_mib:.1f}"),
    Column("fl MiB", lambda r: f"{r.fastloss.peak_mib:.1f}"),
)

#: Shown after ``speedup`` when a case stops on the estimators' own rule.
EPOCHS_COLUMN = Column("ep sk/fl", lambda r: f"{r.sklearn.n_iter}/{r.fastloss.n_iter}")


def _own_stopping(cases: Sequence[CaseResult]) -> bool:
    """Whether some case kept the estimators' own ``max_iter`` and ``tol``."""
    return not all(r.case.fixed_epochs for r in cases)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """Cells in columns two spaces apart, under their headers and a rule.

    Parameters
    ----------
    headers : sequence of str
    rows : sequence of sequences of str
    right : sequence of bool
        Whether each column is right-aligned (numbers) or left-aligned.

    Returns
    -------
    str
    """
    widths = [max(map(len, values)) for values in zip(headers, *rows, strict=True)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right_aligned else value.ljust(width)
            for value, width, right_aligned in zip(values, widths, right, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def format_table(cases: Sequence[CaseResult]) -> str:
    """The case results as a plain-text table with aligned columns.

    Parameters
    ----------
    cases : sequence of CaseResult

    Returns
    -------
    str
    """
    columns = COLUMNS
    if _own_stopping(cases):  # the epochs each library ran differ
        columns = (*COLUMNS[:5], EPOCHS_COLUMN, *COLUMNS[5:])
    return text_table(
        [column.header for column in columns],
        [[column.cell(case) for column in columns] for case in cases],
        [column.right for column in columns],
    )


def _cold_start_lines(result: BenchResult) -> list[str]:
    """The cold-start paragraph (empty when it was not measured)."""
    cold = result.cold_start
    if cold is None:
        return []
    lines = [
        "cold start (fresh process: import + first fit on 1,000 x 10):",
        f"  scikit-learn                 {cold.sklearn_seconds:6.2f} s",
        f"  fastloss, warm Numba cache   {cold.fastloss_warm_seconds:6.2f} s"
        f"   ({cold.warm_ratio:.2f}x scikit-learn)",
    ]
    if cold.fastloss_parts:
        parts = ", ".join(f"{name} {s:.2f} s" for name, s in cold.fastloss_parts.items())
        lines.append(f"  fastloss's warm start, part by part: {parts}")
    if cold.fastloss_cold_cache_seconds is not None:
        lines.append(
            f"  fastloss, empty Numba cache  {cold.fastloss_cold_cache_seconds:6.2f} s"
            f"   ({cold.cold_cache_ratio:.2f}x scikit-learn)"
        )
    if getattr(cold, "fastloss_read_only_seconds", None) is not None:
        lines.append(
            f"  fastloss, read-only cache    {cold.fastloss_read_only_seconds:6.2f} s"
            f"   ({cold.read_only_ratio:.2f}x the warm cache; built by python -m "
            f"fastloss.compile in {cold.compile_step_seconds:.0f} s)"
        )
    return lines


def _shuffle_effect_lines(result: BenchResult) -> list[str]:
    """Block vs full reshuffle, one line per block-shuffle case (or none)."""
    lines = []
    for r in result.cases:
        effect = r.shuffle_effect
        if effect is None:
            continue
        if not lines:
            lines.append(
                f"block vs full reshuffle (fastloss, mean of {len(effect.seeds)} seeds,"
                f" {result.epochs} epochs each):"
            )
        block_obj = statistics.mean(effect.block_objectives)
        full_obj = statistics.mean(effect.full_objectives)
        block_score = statistics.mean(effect.block_scores)
        full_score = statistics.mean(effect.full_scores)
        spread = max(effect.full_objectives) / min(effect.full_objectives) - 1
        lines.append(
            f"  {r.case.name}: objective {block_obj:.4f} vs {full_obj:.4f}"
            f" ({100 * effect.objective_change:+.2f}%; full reshuffle alone varies"
            f" {100 * spread:.1f}% over the seeds), {r.metric} {block_score:.4f} vs"
            f" {full_score:.4f} ({100 * effect.score_change:+.2f} points)"
        )
    return lines


def format_report(result: BenchResult) -> str:
    """The table, how to read it, and the cold-start lines.

    Parameters
    ----------
    result : BenchResult

    Returns
    -------
    str
    """
    e, repeat = result.epochs, result.repeat
    lines = [
        format_table(result.cases),
        "",
        f"ms/ep: one epoch, (t_{e} - t_1) / {e - 1} with max_iter={e} and 1, tol=None;"
        f" median of {repeat} alternating sk/fl pairs",
    ]
    if result.min_time > 0:
        lines.append(
            f"  (a fit shorter than {result.min_time:g} s is repeated within each measurement,"
            " the mean kept)"
        )
    if _own_stopping(result.cases):
        lines.append(
            "defaults: each estimator's own max_iter and tol (it stops when it converges);"
            " ms/ep is then one whole fit and ep sk/fl the epochs each library ran"
        )
    lines += [
        "speedup: median of the pair-by-pair ratios sk/fl (> 1: fastloss faster)",
        "fl/stream, fl/random: fastloss's epoch over one pass over X in row order / in random"
        " order (dense only)",
        f"obj: mean training loss (fastloss's loss_function_ for both) + alpha/2 ||w||^2 after"
        f" {e} epochs; OvR: mean over classes; multinomial: softmax cross-entropy",
        "score: held-out accuracy (acc) or R^2; MiB: tracemalloc peak during that fit"
        " (Numba / C allocations not traced)",
        "*: fastloss-only option, compared with scikit-learn's plain single-threaded fit",
    ]
    if result.cases:
        lines.append(f"geometric mean speedup: {result.geometric_mean_speedup:.2f}x")
    effect = _shuffle_effect_lines(result)
    if effect:
        lines += ["", *effect]
    if result.logistic is not None:
        lines += ["", *format_logistic(result.logistic)]
    cold = _cold_start_lines(result)
    if cold:
        lines += ["", *cold]
    lines += ["", f"total wall time: {result.seconds:.1f} s"]
    return "\n".join(lines)


def _strict(value):
    """Replace NaN and infinities (recursively) by ``None``: strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    return value


def write_json(result, path: str | Path) -> None:
    """Write the whole run as strict JSON.

    Parameters
    ----------
    result : BenchResult or ScalingResult
        Anything with a ``to_dict()``.
    path : str or Path
    """
    Path(path).write_text(json.dumps(_strict(result.to_dict()), indent=2) + "\n")


def write_png(result: BenchResult, path: str | Path) -> bool:
    """Draw the speed-ups as a horizontal bar chart, if matplotlib is installed.

    Parameters
    ----------
    result : BenchResult
    path : str or Path

    Returns
    -------
    bool
        ``False`` (and nothing written) when matplotlib is missing; the caller
        prints :data:`PLOT_HINT`.
    """
    try:
        fig = speedup_figure(
            [c.case.name for c in result.cases],
            [c.timing.speedup for c in result.cases],
            title=f"fastloss vs scikit-learn ({result.suite} suite)",
        )
    except ImportError:
        return False
    fig.savefig(path, dpi=120)
    return True
