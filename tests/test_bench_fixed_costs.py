"""The fixed-cost measurement (``python -m fastloss.bench._fixed_costs``) on
small data: its rows and table, no timing asserted."""

from __future__ import annotations

import pytest

from fastloss.bench import _fixed_costs
from fastloss.bench._fixed_costs import FixedCost, format_fixed_costs, measure_fixed_costs


@pytest.mark.slow  # 24 measurements, each after a garbage collection: 3-8 s
def test_measurements_and_table(monkeypatch):
    # the whole fits' sizes are fixed; make them small too
    monkeypatch.setattr(_fixed_costs, "_whole_fit", _small_whole_fit(_fixed_costs._whole_fit))
    results = measure_fixed_costs(scale=0.002, repeat=1)
    names = [r.name for r in results]
    assert len(names) == 8
    assert sum("fit at max_iter=1 minus an epoch" in n for n in names) == 4
    assert sum("whole default fit" in n for n in names) == 4
    assert {"float64", "float32"} <= {n.split(":")[0].split()[-1] for n in names}
    for r in results:
        assert r.sklearn > 0 or r.epoch_sklearn is not None
        if r.epoch_fastloss is None:  # whole fits report the epochs each ran
            assert r.epochs_fastloss >= 1 and r.epochs_sklearn >= 1
    table = format_fixed_costs(results)
    assert table.splitlines()[0].startswith("| measurement | fastloss ms | scikit-learn ms |")
    assert len(table.splitlines()) == 2 + 8 + 2


def test_command_line(monkeypatch, capsys):
    calls = []

    def measure(scale, repeat, seed, clock):
        calls.append((scale, repeat, seed, clock))
        return [FixedCost("SGDRegressor 1,000 x 100 float32: fit", 0.01, 0.02, 0.005, 0.006)]

    monkeypatch.setattr(_fixed_costs, "measure_fixed_costs", measure)
    assert _fixed_costs.main(["--scale", "0.002", "--repeat", "1", "--clock", "wall"]) == 0
    out = capsys.readouterr().out
    assert calls == [(0.002, 1, 0, "wall")]
    assert "| SGDRegressor 1,000 x 100 float32: fit | 10.00 | 20.00 | 0.50 |" in out
    assert "clock: wall time" in out
    with pytest.raises(SystemExit):
        _fixed_costs.main(["--repeat", "0"])


def _small_whole_fit(whole_fit):
    def small(task, n, d, repeat, seed):
        return whole_fit(task, min(n, 300), min(d, 5), repeat, seed)

    return small
