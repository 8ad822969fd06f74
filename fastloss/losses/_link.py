"""Link functions: how a loss turns raw linear scores into predictions.

Composed into a loss (as in scikit-learn's ``sklearn/_loss``) rather than
inherited, so a loss states its link instead of overriding prediction methods.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


class IdentityLink:
    """Raw score is the prediction; no probabilities."""

    gives_probabilities = False

    def inverse(self, raw: np.ndarray) -> np.ndarray:
        return raw


class LogitLink:
    """Probability of the positive class is ``expit(raw)``."""

    gives_probabilities = True

    def inverse(self, raw: np.ndarray) -> np.ndarray:
        return expit(raw)


class ClippedLinearLink:
    """Probability ``(clip(raw, -1, 1) + 1) / 2``, the modified Huber estimate
    of Zhang (2004) that scikit-learn uses."""

    gives_probabilities = True

    def inverse(self, raw: np.ndarray) -> np.ndarray:
        return (np.clip(raw, -1.0, 1.0) + 1.0) / 2.0


class LogLink:
    """Mean ``exp(raw)``: the raw score is the log of the predicted mean (Poisson,
    Tweedie).  No probabilities."""

    gives_probabilities = False

    def inverse(self, raw: np.ndarray) -> np.ndarray:
        # a raw score beyond ~709 means an infinite mean; say so without a warning
        with np.errstate(over="ignore"):
            return np.exp(raw)


IDENTITY = IdentityLink()
LOGIT = LogitLink()
CLIPPED_LINEAR = ClippedLinearLink()
LOG = LogLink()
