"""Command line: ``python -m fastloss.bench`` (or ``fastloss-bench``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ._report import PLOT_HINT, format_report, write_json, write_png
from ._run import Progress, run
from ._scaling import format_scaling, run_scaling
from ._suites import SUITES, suite

__all__ = ["main"]


def _prog() -> str:
    """The command as it was invoked: the ``fastloss-bench`` script (its name,
    as argparse shows it) or ``python -m fastloss.bench`` (whose ``argv[0]`` is
    this file's path, shown as ``__main__.py``)."""
    if os.path.basename(sys.argv[0]) in ("__main__.py", ""):
        return "python -m fastloss.bench"
    return os.path.basename(sys.argv[0])


def _parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="Time fastloss against scikit-learn's SGD estimators, epoch by epoch.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, fewer cases (1-2 minutes)"
    )
    parser.add_argument(
        "--suite",
        choices=SUITES,
        help="the cases to run (default: full, or quick with --quick); datasets: "
        "scikit-learn's bundled and generated datasets, with the estimators' defaults too",
    )
    parser.add_argument("--json", metavar="PATH", help="write every measurement as JSON")
    parser.add_argument("--png", metavar="PATH", help="draw the speed-ups (needs matplotlib)")
    parser.add_argument(
        "--repeat", type=int, metavar="N", help="alternating pairs per case (default 3 / 5)"
    )
    parser.add_argument(
        "--epochs", type=int, default=5, metavar="E", help="E of (t_E - t_1)/(E - 1) (default 5)"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every dataset's rows (default 1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="data and estimator seed (default 0)")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the cold-start runs")
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="run only the suite's cases whose name contains TEXT (e.g. 'n_jobs')",
    )
    parser.add_argument(
        "--time-to-accuracy",
        action="store_true",
        help="instead: epochs and seconds of each optimizer to an objective gap of 1e-3",
    )
    parser.add_argument(
        "--search",
        action="store_true",
        help="instead: hyperparameter searches (GridSearchCV over scikit-learn's and fastloss's "
        "SGD, SGDClassifierCV / SGDRegressorCV, LogisticRegressionCV) on the same folds "
        "(--quick: small data; --rows N, --scale S: the rows)",
    )
    parser.add_argument(
        "--rows", type=int, metavar="N", help="with --search: training rows (default 200,000)"
    )
    parser.add_argument(
        "--sklearn-budget",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="with --search: skip scikit-learn's search when estimated longer (default 300)",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="instead: the parallel fits' epochs at 1, 2, 4, ... threads (a Markdown table)",
    )
    parser.add_argument(
        "--ranking",
        action="store_true",
        help="instead: SGDRanker against RankSVM / RankNet solved exactly on explicit pairs, "
        "and its epoch time against plain SGD (a Markdown table; --quick: smaller data)",
    )
    parser.add_argument(
        "--threads",
        type=_thread_counts,
        metavar="LIST",
        help="with --scaling: thread counts, e.g. 1,2,4,8,16 (default: powers of two up to "
        "the CPU count, and the count); with --convergence: one count (default 1)",
    )
    parser.add_argument(
        "--convergence",
        action="store_true",
        help="instead: relative objective gap against fit time of fastloss's solvers, "
        "scikit-learn's and the installed peers' (a table per problem; --png PREFIX draws "
        "one chart each; --quick: small problems)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="with --convergence: fit seconds per solver and problem (default 10, --quick 1)",
    )
    return parser


def _thread_counts(text: str) -> list[int]:
    """``"1,2,4"`` as ``[1, 2, 4]``: positive integers, no repeats."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1 or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(
            f"expected distinct positive integers separated by commas, like 1,2,4; got {text!r}"
        )
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (``sys.argv[1:]`` when ``None``).

    Returns
    -------
    int
        Exit status: 0 on success.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.epochs < 2:
        parser.error("--epochs must be at least 2")
    if not args.scale > 0:
        parser.error("--scale must be positive")
    if args.threads is not None and not (args.scaling or args.convergence):
        parser.error("--threads goes with --scaling or --convergence")
    if args.budget is not None and not args.convergence:
        parser.error("--budget goes with --convergence")
    if args.quick and args.suite not in (None, "quick"):
        parser.error(f"--quick is --suite quick; it does not go with --suite {args.suite}")
    if args.scaling:
        return _scaling(args, parser)
    if args.convergence:
        return _convergence(args, parser)
    if args.search:
        return _search(args, parser)
    if args.rows is not None:
        parser.error("--rows goes with --search")
    if args.ranking:
        from ._ranking import format_ranking, run_ranking

        print(format_ranking(run_ranking(quick=args.quick, seed=args.seed)))
        return 0
    if args.time_to_accuracy:
        from ._time_to_accuracy import format_time_to_accuracy, time_to_accuracy

        n_samples = max(1_000, int((20_000 if args.quick else 50_000) * args.scale))
        results = time_to_accuracy(n_samples=n_samples, random_state=args.seed)
        print(format_time_to_accuracy(results))
        return 0
    suite_name = args.suite or ("quick" if args.quick else "full")
    cases = None
    if args.only is not None:
        cases = [c for c in suite(suite_name, args.scale) if args.only in c.name]
        if not cases:
            names = ", ".join(c.name for c in suite(suite_name, args.scale))
            parser.error(f"--only {args.only!r} matches no case of the {suite_name} suite: {names}")
    result = run(
        suite_name,
        cases=cases,
        scale=args.scale,
        epochs=args.epochs,
        repeat=args.repeat,
        random_state=args.seed,
        cold_start=not args.no_cold_start,
        log=Progress(),
    )
    print(format_report(result))
    if suite_name == "quick" and args.only is None:
        _quick_search(args.seed)
    _write_json(result, args.json)
    if args.png:
        print(f"wrote {args.png}" if write_png(result, args.png) else PLOT_HINT)
    return 0


def _write_json(result, path: str | None) -> None:
    """``--json PATH``: write the run there and say so (nothing without the option)."""
    if path:
        write_json(result, path)
        print(f"wrote {path}")


def _search(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``--search``: time the hyperparameter searches and print their table."""
    from ._search import format_search, run_search

    if args.rows is not None and args.rows < 10:
        parser.error("--rows must be at least 10")
    rows = run_search(
        quick=args.quick,
        rows=args.rows,
        scale=args.scale,
        seed=args.seed,
        sklearn_budget=args.sklearn_budget,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(format_search(rows))
    if args.json:
        import json

        with open(args.json, "w") as f:
            json.dump([row.to_dict() for row in rows], f, indent=2, default=str)
        print(f"wrote {args.json}")
    return 0


def _quick_search(seed: int) -> None:
    """The quick suite's search section (its cases are epoch timings; a search
    is a whole grid): the 6 x 4 grid on 1,000 x 20 dense rows, 3 folds, a few
    seconds; ``--search`` runs every case."""
    from ._search import SearchCase, format_search, run_case

    case = SearchCase("dense 1,000 x 20", "dense", 1_000, 20, n_folds=3)
    print("\nhyperparameter search (python -m fastloss.bench --search for every case):")
    print(format_search(run_case(case, seed)))


def _scaling(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``--scaling``: run the thread-scaling workloads and print their table."""
    if args.png or args.only or args.quick or args.suite or args.time_to_accuracy:
        parser.error("--scaling takes --threads, --json, --repeat, --epochs, --scale and --seed")
    result = run_scaling(
        args.threads,
        scale=args.scale,
        epochs=args.epochs,
        repeat=3 if args.repeat is None else args.repeat,
        random_state=args.seed,
        log=Progress(),
    )
    print(format_scaling(result))
    _write_json(result, args.json)
    return 0


def _convergence(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``--convergence``: time to the optimum, a table per problem (``_convergence.py``)."""
    from ._convergence import format_convergence, problems, run_convergence, write_convergence_pngs

    if args.suite or args.time_to_accuracy or args.ranking or args.repeat is not None:
        parser.error(
            "--convergence takes --quick, --threads, --budget, --only, --json, --png, "
            "--scale and --seed"
        )
    if args.threads is not None and len(args.threads) != 1:
        parser.error("--convergence takes one thread count, e.g. --threads 2")
    if args.budget is not None and not args.budget > 0:
        parser.error("--budget must be positive")
    names = [problem.name for problem in problems()]
    if args.only is not None and not any(args.only in name for name in names):
        parser.error(f"--only {args.only!r} matches no problem: {', '.join(names)}")
    result = run_convergence(
        quick=args.quick,
        threads=1 if args.threads is None else args.threads[0],
        budget=args.budget,
        scale=args.scale,
        only=args.only,
        random_state=args.seed,
        log=Progress(),
    )
    print(format_convergence(result))
    _write_json(result, args.json)
    if args.png:
        try:
            for path in write_convergence_pngs(result, args.png):
                print(f"wrote {path}")
        except ImportError:
            print(PLOT_HINT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
