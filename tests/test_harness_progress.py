"""The benchmark harness's progress bar (long runs)."""

from fastloss.bench._run import progress_bar


def test_progress_bar_counts_the_steps_done():
    assert progress_bar(0, 4, width=8) == "|........|   0%"
    assert progress_bar(1, 4, width=8) == "|##......|  25%"
    assert progress_bar(3, 4, width=8) == "|######..|  75%"
    assert progress_bar(4, 4, width=8) == "|########| 100%"
