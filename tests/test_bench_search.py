"""The search harness (``python -m fastloss.bench --search``) on tiny data.

Structure only: every method of every case reports on the same folds, the
notes say what was skipped and why; no timing is asserted.
"""

from __future__ import annotations

import json

import pytest

import fastloss
from fastloss.bench import __main__ as bench_main
from fastloss.bench import _search
from fastloss.bench._search import SearchCase, format_search, run_case, run_search

TINY = dict(n_samples=240, n_folds=2, alphas=(1e-3, 1e-1))


def _tiny_cases():
    return [
        SearchCase(
            "dense", "dense", n_features=5, losses=("hinge", "log_loss"), n_jobs=(1, 2), **TINY
        ),  # fmt: skip
        SearchCase("sparse", "sparse", n_features=300, losses=("hinge", "log_loss"), **TINY),
        SearchCase(
            "regression", "regression", n_features=5, losses=("squared_error", "huber"), **TINY
        ),  # fmt: skip
    ]


@pytest.fixture(scope="module")
def rows():
    return run_search(cases=_tiny_cases(), seed=0)


def _methods(rows, case):
    return [row.method for row in rows if row.case == case]


def test_every_method_of_every_case(rows):
    one_pass = "SGDClassifierCV"
    assert _methods(rows, "dense") == [
        "GridSearchCV(sklearn)",
        "GridSearchCV(fastloss)",
        one_pass,
        f"{one_pass} n_jobs=2",
        "LogisticRegressionCV (log_loss)",
    ]
    assert _methods(rows, "sparse") == [
        "GridSearchCV(sklearn)",
        "GridSearchCV(fastloss)",
        one_pass,
        "LogisticRegressionCV (log_loss)",
    ]
    assert _methods(rows, "regression") == [
        "GridSearchCV(sklearn)",
        "GridSearchCV(fastloss)",
        "SGDRegressorCV",
    ]


def test_rows_report_the_search(rows):
    for row in rows:
        if row.note.startswith("skipped"):  # the one-pass search before it exists
            assert row.method.startswith(("SGDClassifierCV", "SGDRegressorCV"))
            assert row.seconds is None
            continue
        assert row.seconds > 0
        assert set(row.best_params) == {"alpha", "loss"}
        if row.method.startswith("LogisticRegressionCV"):
            # its best C, as the alpha of the same objective on a training fold
            assert row.best_params["loss"] == "log_loss" and row.n_fits == 2 * 2
            assert 1e-4 < row.best_params["alpha"] < 1.0
        else:
            assert row.best_params["alpha"] in TINY["alphas"] and row.n_fits == 2 * 2 * 2
        low = -1.0 if row.case == "regression" else 0.0
        assert low <= row.best_score <= 1.0 and low <= row.test_score <= 1.0


def test_one_pass_rows_are_skipped_while_absent(rows):
    for name in ("SGDClassifierCV", "SGDRegressorCV"):
        found = [row for row in rows if row.method.startswith(name)]
        if hasattr(fastloss, name):
            assert all(row.seconds is not None for row in found)
        else:
            assert all("does not exist yet" in row.note for row in found)


def test_skipped_when_absent(monkeypatch):
    monkeypatch.delattr(fastloss, "SGDRegressorCV", raising=False)
    case = _tiny_cases()[2]
    found = {row.method: row for row in run_case(case)}
    assert found["SGDRegressorCV"].seconds is None
    assert "fastloss.SGDRegressorCV does not exist yet" in found["SGDRegressorCV"].note
    assert "does not exist yet" in format_search(list(found.values()))


def test_sklearn_search_over_budget_is_estimated_and_skipped(monkeypatch):
    monkeypatch.setattr(_search, "ESTIMATE_ROWS", 50)  # 240 rows: estimated from 50
    case = _tiny_cases()[2]
    found = {row.method: row for row in run_case(case, sklearn_budget=0.0)}
    skipped = found["GridSearchCV(sklearn)"]
    assert skipped.seconds is None and skipped.estimated_seconds > 0
    assert "--sklearn-budget" in skipped.note
    report = format_search(list(found.values()))
    assert "(est.)" in report and "skipped: estimated" in report


def test_format_search_table(rows):
    report = format_search(rows)
    header = report.splitlines()[0]
    assert header.startswith("| case | method | fits | wall s | x sklearn |")
    assert report.count("| GridSearchCV(sklearn) |") == 3


def test_command_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(_search, "search_cases", lambda quick, rows, scale: _tiny_cases()[2:])
    path = tmp_path / "search.json"
    assert bench_main.main(["--search", "--quick", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| regression | GridSearchCV(fastloss) |" in out
    payload = json.loads(path.read_text())
    assert [row["method"] for row in payload][:2] == [
        "GridSearchCV(sklearn)",
        "GridSearchCV(fastloss)",
    ]


def test_search_cases_sizes():
    quick = _search.search_cases(quick=True)
    assert [c.kind for c in quick] == ["dense", "sparse", "regression"]
    assert quick[0].n_jobs == (1, 2) and quick[0].n_folds == 5
    assert len(quick[0].alphas) * len(quick[0].losses) == 24
    big = _search.search_cases(rows=1_000, scale=2.0)
    assert all(c.n_samples == 2_000 for c in big)
    assert big[1].n_features == 100_000
