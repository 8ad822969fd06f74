"""LossCurveDisplay: the training loss per epoch and the validation score."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._matplotlib import import_pyplot


class LossCurveDisplay:
    """Training loss per epoch and, with early stopping, the validation score.

    Follows scikit-learn's Display convention: build it with
    :meth:`from_estimator` (which draws at once), or construct it from arrays
    and call :meth:`plot`.  The loss is drawn on the left axis; the validation
    score, when there is one, on a right axis sharing the epochs.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training objective after each epoch, as estimators record it in
        ``loss_curve_``.  NaN entries (epochs whose loss was not computed) are
        left as gaps.
    validation_scores : array-like of shape (n_scored,), default=None
        Validation score of the last ``n_scored`` epochs (``n_scored <=
        n_epochs``), as estimators record it in ``validation_scores_``.
    estimator_name : str, default=None
        Used in the legend and title.

    Attributes
    ----------
    loss_line_ : matplotlib.lines.Line2D
        The training loss.
    validation_line_ : matplotlib.lines.Line2D or None
        The validation score, if any.
    ax_ : matplotlib.axes.Axes
        The axes of the loss.
    validation_ax_ : matplotlib.axes.Axes or None
        The twin axes of the validation score, if any.
    figure_ : matplotlib.figure.Figure
        The figure holding the axes.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from fastloss import SGDClassifier
    >>> from fastloss.plot import LossCurveDisplay
    >>> X, y = make_classification(random_state=0)
    >>> clf = SGDClassifier(early_stopping=True, random_state=0).fit(X, y)
    >>> display = LossCurveDisplay.from_estimator(clf)  # doctest: +SKIP
    """

    def __init__(self, *, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        ax=None,
        name: str | None = None,
        loss_kw: dict | None = None,
        validation_kw: dict | None = None,
    ) -> LossCurveDisplay:
        """Plot the curves a fitted estimator recorded.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator with ``loss_curve_`` (fastloss's SGD estimators,
            scikit-learn's MLPs) and optionally ``validation_scores_``.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Name for the legend; the estimator's class name when None.
        loss_kw, validation_kw : dict, default=None
            Keyword arguments for ``ax.plot`` of the loss / the validation score.

        Returns
        -------
        display : LossCurveDisplay
        """
        import_pyplot(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if not hasattr(estimator, "loss_curve_"):
            raise AttributeError(
                f"{type(estimator).__name__} records no loss_curve_: "
                f"{cls.__name__} needs an estimator trained epoch by epoch, such as "
                "fastloss.SGDClassifier or fastloss.SGDRegressor."
            )
        loss_curve = np.asarray(estimator.loss_curve_, dtype=np.float64)
        if np.isnan(loss_curve).all():
            raise ValueError(
                f"{type(estimator).__name__} did not compute its training loss "
                "(tol=None and verbose=0 skip it to save time): fit with tol set "
                "or verbose=1 to record the loss curve."
            )
        scores = getattr(estimator, "validation_scores_", None)
        display = cls(
            loss_curve=loss_curve,
            validation_scores=scores,
            estimator_name=type(estimator).__name__ if name is None else name,
        )
        return display.plot(ax=ax, loss_kw=loss_kw, validation_kw=validation_kw)

    def plot(
        self,
        ax=None,
        *,
        name: str | None = None,
        loss_kw: dict | None = None,
        validation_kw: dict | None = None,
    ) -> LossCurveDisplay:
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Name for the legend; ``estimator_name`` when None.
        loss_kw, validation_kw : dict, default=None
            Keyword arguments for ``ax.plot`` of the loss / the validation score.

        Returns
        -------
        display : LossCurveDisplay
            Itself, with the attributes set.
        """
        plt = import_pyplot(f"{type(self).__name__}.plot")
        loss = np.asarray(self.loss_curve, dtype=np.float64).ravel()
        scores = self.validation_scores
        scores = None if scores is None else np.asarray(scores, dtype=np.float64).ravel()
        if scores is not None and scores.shape[0] > loss.shape[0]:
            raise ValueError(
                f"validation_scores has {scores.shape[0]} entries but loss_curve only "
                f"{loss.shape[0]}: scores belong to the last epochs of the loss curve."
            )
        new_figure = ax is None
        if new_figure:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        epochs = np.arange(1, loss.shape[0] + 1)
        label = "training loss" if name is None else f"{name} training loss"
        self.loss_line_ = ax.plot(epochs, loss, **{"label": label, **(loss_kw or {})})[0]
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        lines = [self.loss_line_]
        self.validation_ax_ = self.validation_line_ = None
        if scores is not None:
            self.validation_ax_ = ax.twinx()
            scored = epochs[epochs.shape[0] - scores.shape[0] :]
            kw = {"label": "validation score", "color": "tab:orange", **(validation_kw or {})}
            self.validation_line_ = self.validation_ax_.plot(scored, scores, **kw)[0]
            self.validation_ax_.set_ylabel("validation score")
            lines.append(self.validation_line_)
        ax.legend(lines, [line.get_label() for line in lines], loc="best")
        if new_figure:
            ax.figure.tight_layout()  # room for the right axis's label
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
