"""What the opt-in block shuffle costs in accuracy: block vs full reshuffle.

The objective after a few epochs of SGD varies with the seed by several percent
(on 500,000 x 100 hinge, 5 epochs: 0.2406 to 0.2552 over five seeds of the
full reshuffle), more than the effect being measured.  So one fit of each
mode says little; this fits fastloss with ``shuffle=True`` and with
``shuffle="block"`` for the same seeds and compares the means.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from ._measure import make_estimators, quiet_fit, training_objective
from ._suites import Case, Dataset

__all__ = ["ShuffleEffect", "is_block_case", "measure_shuffle_effect"]


@dataclass
class ShuffleEffect:
    """Training objective and held-out score of both shuffles, seed by seed.

    Attributes
    ----------
    seeds : list of int
    full_objectives, block_objectives : list of float
    full_scores, block_scores : list of float
        Held-out accuracy or R^2.
    """

    seeds: list[int]
    full_objectives: list[float]
    block_objectives: list[float]
    full_scores: list[float]
    block_scores: list[float]

    @property
    def objective_change(self) -> float:
        """Mean block objective over mean full-reshuffle objective, minus 1."""
        return statistics.mean(self.block_objectives) / statistics.mean(self.full_objectives) - 1

    @property
    def score_change(self) -> float:
        """Mean block score minus mean full-reshuffle score."""
        return statistics.mean(self.block_scores) - statistics.mean(self.full_scores)

    def to_dict(self) -> dict:
        """JSON-ready: every fit, and the two changes."""
        return {
            **asdict(self),
            "objective_change": self.objective_change,
            "score_change": self.score_change,
        }


def measure_shuffle_effect(
    case: Case, data: Dataset, epochs: int, seeds: list[int]
) -> ShuffleEffect:
    """Fit fastloss with both shuffles for each seed, ``epochs`` epochs each.

    Parameters
    ----------
    case : Case
        A case whose fastloss parameters include ``shuffle="block"``.
    data : Dataset
    epochs : int
    seeds : list of int

    Returns
    -------
    ShuffleEffect
    """
    X, y = data.X_train, data.y_train
    fits = {True: ([], []), "block": ([], [])}
    for seed in seeds:
        for shuffle, (objectives, scores) in fits.items():
            model = make_estimators(case, epochs, seed)[1].set_params(shuffle=shuffle)
            quiet_fit(model, X, y)
            objectives.append(training_objective(model, model.loss_function_, X, y))
            scores.append(float(model.score(data.X_test, data.y_test)))
    return ShuffleEffect(seeds, fits[True][0], fits["block"][0], fits[True][1], fits["block"][1])


def is_block_case(case: Case) -> bool:
    """Whether ``case`` fits fastloss with the block shuffle."""
    return case.fastloss_only.get("shuffle") == "block"
