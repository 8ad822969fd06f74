"""Plots of training: :class:`LossCurveDisplay`.

matplotlib is an optional dependency (``pip install fastloss[plot]``); it is
imported only when something is drawn.
"""

from ._loss_curve import LossCurveDisplay

__all__ = ["LossCurveDisplay"]
