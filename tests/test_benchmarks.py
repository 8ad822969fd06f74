"""Smoke test of the scikit-learn comparison harness (benchmarks/compare_sklearn.py).

It runs the harness at its tiny ``--quick`` sizes and checks what it measured:
finite, positive timings (never their values) and fastloss models as accurate
as scikit-learn's, fitted on the same data with the same settings.
"""

import math
import sys
from pathlib import Path

try:
    from benchmarks.compare_sklearn import format_report, run
except ImportError:  # pytest run without the repository root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.compare_sklearn import format_report, run

#: Largest held-out accuracy (or R^2) gap allowed between the two libraries.
#: Both run the same number of epochs of the same SGD, but shuffle with
#: different generators; on the smallest test set (143 samples) one sample is
#: 0.7 points.
SCORE_TOLERANCE = 0.05


def test_quick_run():
    result = run(quick=True, repeat=1)
    rows = result.rows
    assert {row.dataset for row in rows} == {
        "breast_cancer",
        "digits",
        "classif_dense",
        "classif_sparse",
        "regression",
    }
    assert set(result.first_call) == {"dense", "sparse CSR"}
    assert all(math.isfinite(s) and s > 0 for s in result.first_call.values())
    for row in rows:
        where = f"{row.dataset} / {row.settings}"
        for seconds in (row.sklearn_seconds, row.fastloss_seconds):
            assert math.isfinite(seconds) and seconds > 0, where
        assert math.isfinite(row.ratio) and row.ratio > 0, where
        for objective in (row.sklearn_objective, row.fastloss_objective):
            assert math.isfinite(objective) and objective >= 0, where
        assert row.sklearn_n_iter >= 1 and row.fastloss_n_iter >= 1, where
        if "tol=None" in row.settings:
            assert row.sklearn_n_iter == row.fastloss_n_iter == 10, where
        if row.metric == "acc":
            assert 0.0 <= row.fastloss_score <= 1.0, where
            assert row.sklearn_score > 0.7, where  # the problem is learnable at all
        assert abs(row.fastloss_score - row.sklearn_score) <= SCORE_TOLERANCE, (
            f"{where}: fastloss {row.metric} {row.fastloss_score:.4f}, "
            f"scikit-learn {row.sklearn_score:.4f}"
        )

    report = format_report(result, repeat=1)
    assert "geometric mean speed ratio over 15 rows" in report
