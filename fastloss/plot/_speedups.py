"""The benchmark harness's chart: speed-up over scikit-learn per case."""

from __future__ import annotations

from collections.abc import Sequence

from ._matplotlib import import_figure


def speedup_figure(names: Sequence[str], speedups: Sequence[float], title: str):
    """A horizontal bar chart of speed-ups, one bar per case, top to bottom.

    Parameters
    ----------
    names : sequence of str, length n_cases
    speedups : sequence of float, length n_cases
        fastloss's speed-up over scikit-learn (1.0 = as fast).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        A new figure outside pyplot (nothing to close); save it with ``savefig``.
    """
    Figure = import_figure("The benchmark chart")
    fig = Figure(figsize=(8, 0.45 * len(names) + 1.5))
    ax = fig.add_subplot()
    bars = ax.barh(list(names)[::-1], list(speedups)[::-1], color="tab:blue")
    ax.bar_label(bars, labels=[f"{s:.2f}x" for s in list(speedups)[::-1]], padding=3)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xlabel("speed-up per epoch over scikit-learn (median of alternating pairs)")
    ax.set_title(title)
    ax.margins(x=0.15)
    fig.tight_layout()
    return fig
