"""The ``fastcf`` command line: ``fastcf info``, ``fastcf benchmark``."""

import argparse
import logging
import sys


def _cmd_info(args):
    from ._show_config import show_config

    show_config()
    return 0


def _cmd_benchmark(args):
    from .benchmark import format_markdown, run_benchmark, write_results

    results = run_benchmark(
        data=args.data,
        algorithms=args.algorithms.split(",") if args.algorithms else None,
        peers=args.peers,
        n_threads=args.threads,
        repeats=args.repeats,
        seed=args.seed,
        progress=not args.quiet,
    )
    print(format_markdown(results))
    if args.out:
        write_results(results, args.out)
        print(f"\nwrote {args.out}/results.json and {args.out}/results.md")
    return 0


def build_parser():
    from .benchmark import DEFAULT_DATA, FASTCF_ALGORITHMS

    parser = argparse.ArgumentParser(prog="fastcf", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="versions, backends, threading and OpenMP status")
    info.set_defaults(func=_cmd_info)

    bench = sub.add_parser("benchmark", help="fit and time fastcf (and installed peers)")
    bench.add_argument("--data", default=DEFAULT_DATA,
                       help="synthetic:100k|1m|10m|25m|<N>[k|m] or a MovieLens file/folder "
                            f"(default {DEFAULT_DATA})")
    bench.add_argument("--algorithms", default=None,
                       help=f"comma-separated, from: {', '.join(FASTCF_ALGORITHMS)} (default all)")
    bench.add_argument("--peers", default="auto",
                       help="auto (every installed peer), none, or a comma-separated list")
    bench.add_argument("--threads", type=int, default=None, help="threads for fastcf (default all)")
    bench.add_argument("--repeats", type=int, default=3, help="timed runs per figure (median)")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--out", default=None, help="folder for results.json and results.md")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.set_defaults(func=_cmd_benchmark)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"fastcf {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
