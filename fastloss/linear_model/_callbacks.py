"""scikit-learn callbacks (:mod:`sklearn.callback`) around a fit, one task an epoch.

A fit is the root task of its estimator.  Its subtasks are the epochs of the
model (binary classification, regression) or, one-vs-rest, one task per class
whose subtasks are that class's epochs.  So ``ProgressBar`` advances once an
epoch, and ``ScoringMonitor`` scores the model as it stands after every epoch
(binary and regression models; a one-vs-rest model exists only once every class
is trained, so it is scored at the end of the fit).

The epoch loop (:func:`fastloss.linear_model._training.train`) calls
:meth:`EpochCallbacks.begin` before and :meth:`EpochCallbacks.end` after each
epoch; nothing runs when the estimator has no callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

#: Attributes the callback machinery keeps on an estimator while it fits; a
#: failed fit must keep them so that ``_fit_context`` can tear callbacks down.
CALLBACK_RUN_ATTRIBUTES = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")


class EpochCallbacks:
    """Begins and ends one callback task per epoch of one linear model.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted (what the hooks receive).
    parent : sklearn.callback.CallbackContext
        The task whose subtasks the epochs are.
    data : dict
        ``X``, ``y`` and ``metadata`` handed to the hooks.
    reconstruct : callable (coef, intercept) -> dict, or None
        The fitted attributes of a model with these weights, from which the
        hooks get a ``fitted_estimator``; ``None`` when the weights alone do not
        make a model (one class of one-vs-rest).
    """

    def __init__(
        self,
        estimator,
        parent,
        data: dict,
        reconstruct: Callable[[np.ndarray, float], dict] | None,
    ):
        self._estimator = estimator
        self._parent = parent
        self._data = data
        self._reconstruct = reconstruct
        self._context = None

    def begin(self) -> None:
        """Open the next epoch's task."""
        self._context = self._parent.subcontext(task_name="epoch")
        self._context.call_on_fit_task_begin(estimator=self._estimator, **self._data)

    def end(self, coef: np.ndarray, intercept: float) -> bool:
        """Close the epoch's task; ``True`` when a callback asks to stop.

        ``coef`` (n_features,) and ``intercept`` are the weights the model
        predicts with after the epoch.
        """
        attributes = None
        if self._reconstruct is not None:
            reconstruct = self._reconstruct

            def attributes():  # evaluated only if a hook asks for fitted_estimator
                return reconstruct(coef, intercept)

        return self._context.call_on_fit_task_end(
            estimator=self._estimator, **self._data, reconstruction_attributes=attributes
        )


def linear_attributes(flat: bool, dtype, **fixed) -> Callable[[np.ndarray, float], dict]:
    """A ``reconstruct`` function for :class:`EpochCallbacks` (one model).

    ``flat``: ``coef_`` has shape (n_features,) (the regressor) rather than
    (1, n_features); ``fixed`` are attributes that do not change during the
    fit, such as ``classes_``.  The weights are copied: the next epoch updates
    them in place.
    """

    def reconstruct(coef, intercept):
        coef = np.array(coef, dtype=dtype)
        return {
            "coef_": coef if flat else coef[None, :],
            "intercept_": np.array([intercept], dtype=dtype),
            **fixed,
        }

    return reconstruct


@contextmanager
def fit_callbacks(
    estimator,
    X,
    y,
    sample_weight,
    n_models: int,
    max_epochs: int,
    reconstruct: Callable[[np.ndarray, float], dict],
) -> Iterator[list[EpochCallbacks | None]]:
    """The root callback task of one ``fit`` or ``partial_fit`` call.

    Yields one :class:`EpochCallbacks` per model to train (``None`` each when the
    estimator has no callbacks).  The root task ends when the block exits
    normally, after the block has set the fitted attributes.

    Parameters
    ----------
    estimator : BaseSGD
    X : ndarray or sparse matrix (n_samples, n_features)
    y : ndarray (n_samples,)
        The targets as given (class labels for a classifier).
    sample_weight : array-like (n_samples,) or None
        The sample weights as given; scorers receive them as metadata.
    n_models : int
        1 for a binary or regression model, else the one-vs-rest classes.
    max_epochs : int
        The most epochs each model runs.
    reconstruct : callable (coef, intercept) -> dict
        See :func:`linear_attributes`; used when ``n_models == 1``.
    """
    if not getattr(estimator, "_skl_callbacks", None):
        # nothing would observe the task tree: skip building it (tens of
        # microseconds, which matter to many small partial_fit calls)
        yield [None] * n_models
        return
    one_vs_rest = n_models > 1
    root = estimator._init_callback_context(max_subtasks=n_models if one_vs_rest else max_epochs)
    metadata = None if sample_weight is None else {"sample_weight": sample_weight}
    data = {"X": X, "y": y, "metadata": metadata}
    root.call_on_fit_task_begin(estimator=estimator, **data)
    if not one_vs_rest:
        yield [EpochCallbacks(estimator, root, data, reconstruct)]
    else:
        # created up front, in order: the classes may then train in threads
        classes = [
            root.subcontext(task_name="one-vs-rest", max_subtasks=max_epochs)
            for _ in range(n_models)
        ]
        for context in classes:
            context.call_on_fit_task_begin(estimator=estimator, **data)
        yield [EpochCallbacks(estimator, context, data, None) for context in classes]
        for context in classes:
            context.call_on_fit_task_end(estimator=estimator, **data)
    root.call_on_fit_task_end(estimator=estimator, **data, reconstruction_attributes={})
