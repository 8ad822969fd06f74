"""The one place that imports matplotlib, lazily, with an actionable error."""

from __future__ import annotations

#: How to get matplotlib, for error messages.
INSTALL_HINT = "pip install fastloss[plot]"


def _missing(caller: str, exc: ImportError) -> ImportError:
    error = ImportError(f"{caller} needs matplotlib, which is not installed: {INSTALL_HINT}")
    error.__cause__ = exc
    return error


def import_pyplot(caller: str):
    """``matplotlib.pyplot``, or an ImportError saying how to install it.

    Parameters
    ----------
    caller : str
        What needs matplotlib, named in the error message.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise _missing(caller, exc) from exc
    return plt


def import_figure(caller: str):
    """``matplotlib.figure.Figure`` (drawing without pyplot's global state or a
    GUI backend), or an ImportError saying how to install matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise _missing(caller, exc) from exc
    return Figure
