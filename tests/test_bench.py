"""Smoke test of the benchmark harness (``python -m fastloss.bench``).

It runs the quick suite and the ``datasets`` suite (scikit-learn's datasets)
at tiny sizes and checks the structure and sanity of what was measured:
finite, positive times (never their values) and fastloss models as accurate
as scikit-learn's, fitted on the same data with the same settings.  The JSON
file, the table and the missing-matplotlib message are checked through the
command-line entry point.
"""

import importlib.util
import json
import math

import numpy as np
import pytest

from fastloss.bench import __main__ as bench_main
from fastloss.bench import format_report, make_dataset, run, suite, write_json
from fastloss.bench._cold import PARTS
from fastloss.bench._measure import make_estimators
from fastloss.bench._scaling import WORKLOADS, default_threads, format_scaling, run_scaling
from fastloss.bench._suites import TEST_SHARE

#: Largest held-out accuracy (or R^2) gap allowed between the two libraries.
#: Both run the same number of epochs of the same SGD but shuffle with
#: different generators, on held-out sets of a few hundred rows.
SCORE_TOLERANCE = 0.06

#: Quick-suite sizes times this: a few thousand rows per case.
SCALE = 0.05

#: The same gap on scikit-learn's datasets after ten epochs; the smallest
#: held-out set (breast cancer) has 95 rows, one of them a point.
DATASETS_SCORE_TOLERANCE = 0.05

#: Datasets-suite sizes times this: 2,000 rows of each generated dataset.
DATASETS_SCALE = 0.02


@pytest.fixture(scope="module")
def result():
    return run("quick", scale=SCALE, repeat=2, epochs=3, cold_cache=False, log=None)


def _positive(value):
    return value is not None and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_cases_are_the_quick_suite(result):
    names = [c.case.name for c in result.cases]
    assert names == [case.name for case in suite("quick", SCALE)]
    assert len(set(names)) == len(names)


@pytest.mark.slow
def test_times_are_finite_and_positive(result):
    for c in result.cases:
        timing = c.timing
        assert len(timing.sklearn_epochs) == len(timing.fastloss_epochs) == 2, c.case.name
        for seconds in (*timing.sklearn_epochs, *timing.fastloss_epochs):
            assert _positive(seconds), c.case.name
        assert _positive(timing.speedup), c.case.name
        if c.case.data.is_dense:
            assert _positive(c.floors.stream_seconds) and _positive(c.floors.random_seconds)
            assert _positive(c.floor_multiple("stream")) and _positive(c.floor_multiple("random"))
        else:
            assert c.floors is None and c.floor_multiple("stream") is None
    assert _positive(result.geometric_mean_speedup)


@pytest.mark.slow
def test_models_match_sklearn(result):
    for c in result.cases:
        where = c.case.name
        for quality in (c.sklearn, c.fastloss):
            assert math.isfinite(quality.objective) and quality.objective >= 0, where
            assert quality.peak_mib >= 0, where
            assert quality.n_iter == result.epochs, where
        if c.metric == "acc":
            assert c.sklearn.score > 0.5, where  # learnable at all
        gap = c.fastloss.score - c.sklearn.score
        if c.case.fastloss_only.get("multi_class") == "multinomial":
            gap = min(gap, 0.0)  # a joint model against one-vs-rest: it may do better
        assert abs(gap) <= SCORE_TOLERANCE, (
            f"{where}: fastloss {c.fastloss.score:.4f}, scikit-learn {c.sklearn.score:.4f}"
        )


@pytest.mark.slow
def test_multinomial_against_logistic_regression(result):
    """Multinomial SGD, one-vs-rest SGD and L-BFGS on one objective: the exact
    optimum is the lowest, and the joint SGD model is at least as accurate as
    one-vs-rest SGD after the same epochs."""
    fits = {fit.name.split()[-1]: fit for fit in result.logistic.fits}
    assert set(fits) == {"multinomial", "one-vs-rest", "(lbfgs)"}
    for fit in fits.values():
        assert _positive(fit.fit_seconds) and math.isfinite(fit.objective), fit
    assert fits["(lbfgs)"].objective <= fits["multinomial"].objective
    assert fits["multinomial"].score >= fits["one-vs-rest"].score - SCORE_TOLERANCE
    assert fits["multinomial"].n_iter == fits["one-vs-rest"].n_iter == result.epochs


@pytest.mark.slow
def test_block_shuffle_effect_compares_both_shuffles_seed_by_seed(result):
    """Each block-shuffle case refits fastloss with both shuffles, one pair per
    seed; the other cases do not.  The two orders differ, so the fits do too,
    and the block shuffle stays about as accurate as the full one."""
    for c in result.cases:
        effect = c.shuffle_effect
        if c.case.fastloss_only.get("shuffle") != "block":
            assert effect is None, c.case.name
            continue
        assert effect.seeds == [0, 1]
        objectives = effect.full_objectives + effect.block_objectives
        assert all(math.isfinite(v) and v > 0 for v in objectives)
        assert effect.full_objectives != effect.block_objectives
        mean = sum(effect.full_objectives) / 2
        assert effect.objective_change == pytest.approx(sum(effect.block_objectives) / 2 / mean - 1)
        assert abs(effect.score_change) <= SCORE_TOLERANCE


@pytest.mark.slow
def test_cold_start(result):
    cold = result.cold_start
    assert _positive(cold.sklearn_seconds) and _positive(cold.fastloss_warm_seconds)
    assert cold.fastloss_cold_cache_seconds is None and cold.cold_cache_ratio is None
    assert _positive(cold.warm_ratio)
    # fastloss's warm start part by part, in the order the import and fit reach them
    assert list(cold.fastloss_parts) == list(PARTS)
    assert all(_positive(seconds) for seconds in cold.fastloss_parts.values())


@pytest.mark.slow
def test_report_and_json(result, tmp_path):
    report = format_report(result)
    for case in result.cases:
        assert case.case.name in report
    assert "speedup" in report and "cold start" in report
    path = tmp_path / "bench.json"
    write_json(result, path)
    payload = json.loads(path.read_text())
    assert [c["name"] for c in payload["cases"]] == [c.case.name for c in result.cases]
    assert payload["cold_start"]["warm_ratio"] > 0
    assert set(payload["cold_start"]["fastloss_parts"]) == set(PARTS)
    assert "part by part" in report
    assert len(payload["multinomial_vs_logistic"]["fits"]) == 3
    assert "LogisticRegression" in report
    assert "block vs full reshuffle" in report
    blocks = [c for c in payload["cases"] if c["block_vs_full_reshuffle"] is not None]
    assert [c["name"] for c in blocks] == ["dense f64 hinge block*"]
    assert set(blocks[0]["block_vs_full_reshuffle"]) >= {"objective_change", "block_scores"}


def test_command_line(tmp_path, capsys, monkeypatch):
    tiny = suite("quick", SCALE)[:1]
    monkeypatch.setattr(bench_main, "run", _only(tiny))
    searched = []  # the quick search section has its own tests (test_bench_search.py)
    monkeypatch.setattr(bench_main, "_quick_search", searched.append)
    json_path, png_path = tmp_path / "out.json", tmp_path / "out.png"
    argv = ["--quick", "--repeat", "1", "--no-cold-start", "--json", str(json_path)]
    assert bench_main.main([*argv, "--png", str(png_path)]) == 0
    out = capsys.readouterr().out
    assert tiny[0].name in out and json_path.exists()
    assert searched == [0]  # --quick runs it once, with the seed
    if importlib.util.find_spec("matplotlib") is None:
        assert "pip install fastloss[plot]" in out and not png_path.exists()
    else:
        assert png_path.stat().st_size > 0


def test_command_line_only_filters_cases(monkeypatch, capsys):
    chosen = {}

    def record(*args, cases=None, **kwargs):
        chosen["cases"] = cases
        raise SystemExit(0)  # stop before measuring anything

    monkeypatch.setattr(bench_main, "run", record)
    with pytest.raises(SystemExit):
        bench_main.main(["--quick", "--only", "n_jobs"])
    names = [c.name for c in chosen["cases"]]
    expected = [c.name for c in suite("quick") if "n_jobs" in c.name]
    assert names == expected and len(names) >= 2
    with pytest.raises(SystemExit) as exit_info:
        bench_main.main(["--quick", "--only", "no such case"])
    assert exit_info.value.code == 2
    assert "matches no case" in capsys.readouterr().err


@pytest.mark.slow
def test_datasets_suite():
    """scikit-learn's datasets, two losses for ``E`` epochs and the estimators'
    defaults each: every case measured, fastloss as accurate as scikit-learn."""
    result = run(
        "datasets", scale=DATASETS_SCALE, repeat=1, epochs=10, cold_start=False, min_time=0.01
    )
    assert [c.case.name for c in result.cases] == [
        c.name for c in suite("datasets", DATASETS_SCALE)
    ]
    datasets = {c.case.name.rsplit(" ", 1)[0] for c in result.cases}
    assert datasets == {
        "breast_cancer",
        "digits",
        "make_classification",
        "sparse CSR",
        "make_regression",
    }
    assert sum(not c.case.fixed_epochs for c in result.cases) == len(datasets)
    for c in result.cases:
        where = c.case.name
        for seconds in (*c.timing.sklearn_epochs, *c.timing.fastloss_epochs, c.timing.speedup):
            assert _positive(seconds), where
        for quality in (c.sklearn, c.fastloss):
            assert math.isfinite(quality.objective) and quality.objective >= 0, where
            assert quality.n_iter == result.epochs if c.case.fixed_epochs else quality.n_iter >= 1
        if c.metric == "acc":
            assert 0.0 <= c.fastloss.score <= 1.0, where
            # learnable at all (the planted text-like problem needs more rows than a test fits)
            assert c.sklearn.score > (0.5 if c.case.data.kind == "sparse" else 0.7), where
        assert abs(c.fastloss.score - c.sklearn.score) <= DATASETS_SCORE_TOLERANCE, (
            f"{where}: fastloss {c.metric} {c.fastloss.score:.4f}, "
            f"scikit-learn {c.sklearn.score:.4f}"
        )
    report = format_report(result)
    assert "ep sk/fl" in report and "defaults: each estimator's own max_iter" in report
    assert "repeated within each measurement" in report and "geometric mean speedup" in report


def test_bundled_dataset_split_and_standardised():
    """A bundled dataset keeps all its rows, split with its classes stratified,
    standardised by the training rows only."""
    spec = next(c.data for c in suite("datasets") if c.data.kind == "breast_cancer")
    data = make_dataset(spec, random_state=0)
    assert data.X_train.shape == (spec.n_samples, spec.n_features) == (474, 30)
    assert data.X_train.shape[0] + data.X_test.shape[0] == 569
    assert data.X_test.shape[0] == pytest.approx(TEST_SHARE * spec.n_samples, abs=1)
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1.0)
    assert data.y_train.mean() == pytest.approx(data.y_test.mean(), abs=0.01)


def test_defaults_case_keeps_the_estimators_stopping_rule():
    cases = {c.name: c for c in suite("datasets", DATASETS_SCALE)}
    for model in make_estimators(cases["digits defaults"], 7, 0):
        assert model.max_iter == 1000 and model.tol == 1e-3
    for model in make_estimators(cases["digits hinge"], 7, 0):
        assert model.max_iter == 7 and model.tol is None


def test_command_line_suite(monkeypatch, capsys):
    chosen = {}

    def record(suite_name, *args, cases=None, **kwargs):
        chosen.update(suite=suite_name, cases=cases)
        raise SystemExit(0)  # stop before measuring anything

    monkeypatch.setattr(bench_main, "run", record)
    with pytest.raises(SystemExit):
        bench_main.main(["--suite", "datasets", "--only", "digits"])
    assert chosen["suite"] == "datasets"
    assert [c.name for c in chosen["cases"]] == [
        "digits hinge",
        "digits log_loss",
        "digits defaults",
    ]
    with pytest.raises(SystemExit) as exit_info:
        bench_main.main(["--quick", "--suite", "datasets"])
    assert exit_info.value.code == 2
    assert "--quick is --suite quick" in capsys.readouterr().err


def _only(cases):
    """``run`` restricted to ``cases`` (keeps the command-line test short)."""

    def restricted(*args, **kwargs):
        kwargs.pop("scale", None)
        kwargs.pop("cases", None)
        return run(*args, cases=cases, **kwargs)

    return restricted


@pytest.mark.parametrize(
    "cpus, expected", [(1, [1]), (2, [1, 2]), (6, [1, 2, 4, 6]), (16, [1, 2, 4, 8, 16])]
)
def test_default_thread_counts(cpus, expected):
    assert default_threads(cpus) == expected


@pytest.mark.slow
def test_scaling_run_table_and_json(tmp_path):
    result = run_scaling([1, 2], scale=0.02, repeat=1, epochs=2)
    assert [(p.workload, p.threads) for p in result.points] == [
        (workload, threads) for workload in WORKLOADS for threads in (1, 2)
    ]
    for point in result.points:
        timing = point.result.timing
        assert _positive(timing.fastloss_seconds) and _positive(timing.sklearn_seconds)
        assert point.result.case.fastloss_params["n_jobs"] == point.threads
        gain = result.over_one_thread(point)
        assert _positive(gain) and (point.threads > 1 or gain == 1.0)
    # scikit-learn gets the threads only where it can use them (one-vs-rest)
    sk_jobs = {(p.workload, p.threads): p.result.case.sklearn_params for p in result.points}
    assert sk_jobs[("10-class OvR", 2)]["n_jobs"] == 2
    assert "n_jobs" not in sk_jobs[("dense f64 hinge", 2)]
    # one-vs-rest splits classes over threads and changes nothing; a single model
    # over two threads is another (averaged) model
    by_point = {(p.workload, p.threads): p.result.fastloss.objective for p in result.points}
    assert by_point[("10-class OvR", 1)] == by_point[("10-class OvR", 2)]
    assert by_point[("dense f64 hinge", 1)] != by_point[("dense f64 hinge", 2)]

    table = format_scaling(result).splitlines()
    assert table[0].startswith("| workload | threads |")
    assert sum(line.startswith("| ") for line in table) == 1 + 1 + len(result.points)
    path = tmp_path / "scaling.json"
    write_json(result, path)
    payload = json.loads(path.read_text())
    assert payload["threads"] == [1, 2] and len(payload["points"]) == len(result.points)
    assert payload["points"][0]["fastloss_over_one_thread"] == 1.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--scaling", "--threads", "0,2"], "distinct positive integers"),
        (["--scaling", "--threads", "2,2"], "distinct positive integers"),
        (["--scaling", "--threads", "two"], "distinct positive integers"),
        (["--threads", "1,2"], "--threads goes with --scaling"),
        (["--scaling", "--png", "x.png"], "--scaling takes"),
    ],
)
def test_command_line_scaling_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_main.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_command_line_scaling(monkeypatch, capsys, tmp_path):
    called = {}

    def tiny(threads, **kwargs):
        called["threads"] = threads
        return run_scaling([1], scale=0.02, repeat=1, epochs=2)

    monkeypatch.setattr(bench_main, "run_scaling", tiny)
    path = tmp_path / "s.json"
    assert bench_main.main(["--scaling", "--threads", "1,3", "--json", str(path)]) == 0
    assert called["threads"] == [1, 3]
    out = capsys.readouterr().out
    assert "| dense f64 hinge | 1 |" in out and path.exists()
