"""The ``fastcf`` command line.

``fastcf benchmark`` (the main job), ``fastcf train`` / ``recommend`` /
``evaluate`` for shell pipelines, ``fastcf info``.
"""

import argparse
import ast
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
        scaling=not args.no_scaling,
    )
    print(format_markdown(results))
    if args.out:
        files, note = write_results(results, args.out)
        print(f"\nwrote {', '.join(files)} in {args.out}")
        if note:
            print(note)
    return 0


#: ``--algorithm`` name -> estimator class name in fastcf (default hyper-parameters).
ALGORITHMS = {"baseline": "BaselineOnly", "userknn": "UserKNN", "itemknn": "ItemKNN",
              "mf": "MatrixFactorization", "mlp": "MLPRecommender", "neumf": "NeuMF"}


def _param(text):
    """``name=value`` -> (name, value); the value is a Python literal, else a string."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not name=value")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def _make_model(args):
    import fastcf

    if args.algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm {args.algorithm!r} unknown; known: {', '.join(ALGORITHMS)}.")
    cls = getattr(fastcf, ALGORITHMS[args.algorithm])
    params = dict(args.param or [])
    if args.threads is not None:
        params.setdefault("n_threads", args.threads)
    unknown = sorted(set(params) - set(cls._param_names()))
    if unknown:
        raise ValueError(f"{args.algorithm} has no parameter {', '.join(unknown)}; its "
                         f"parameters: {', '.join(cls._param_names())}.")
    return cls(**params)


def _load_data(spec):
    from .benchmark import load_data

    data, description = load_data(spec)
    logging.getLogger(__name__).info("data: %s", description)
    return data


def _cmd_train(args):
    model = _make_model(args)
    model.fit(_load_data(args.data))
    model.save(args.out)
    print(f"trained {args.algorithm} on {args.data}; wrote {args.out}", file=sys.stderr)
    return 0


def _read_ids(args, model):
    if (args.users is None) == (args.users_file is None):
        raise ValueError("give the users either as --users ID,ID,... or as --users-file PATH "
                         "(one id per line, - for stdin).")
    if args.users is not None:
        texts = [t.strip() for t in args.users.split(",") if t.strip()]
    else:
        handle = sys.stdin if args.users_file == "-" else open(args.users_file)
        with handle:
            texts = [line.strip() for line in handle if line.strip()]
    if not texts:
        raise ValueError("no user ids given.")
    ids = model.user_ids_
    if ids.dtype.kind in "iu":
        try:
            return [int(t) for t in texts]
        except ValueError as exc:
            raise ValueError(f"the model's user ids are integers: {exc}") from None
    if ids.dtype.kind == "f":
        return [float(t) for t in texts]
    return texts


def _cmd_recommend(args):
    from .persist import load

    model = load(args.model)
    frame = model.recommend_frame(_read_ids(args, model), args.n)
    if args.out:
        frame.to_csv(args.out, index=False)
    else:
        frame.to_csv(sys.stdout, index=False)
    return 0


def _cmd_evaluate(args):
    from .evaluation import cross_validate, evaluate
    from .split import random_split

    model = _make_model(args)
    data = _load_data(args.data)
    metrics = args.metrics.split(",") if args.metrics else None
    if args.folds:
        table = cross_validate(model, data, folds=args.folds, metrics=metrics, k=args.k,
                               seed=args.seed)
    else:
        train, test = random_split(data, args.test_size, seed=args.seed)
        table = evaluate(model, train, test, metrics, args.k).to_frame().T
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    if args.out:
        table.to_csv(args.out)
    return 0


def _add_model_arguments(parser):
    parser.add_argument("--data", required=True,
                        help="a MovieLens file or folder (u.data, ratings.dat, ratings.csv) or "
                             "synthetic:<size>")
    parser.add_argument("--algorithm", required=True, help=", ".join(ALGORITHMS))
    parser.add_argument("-p", "--param", type=_param, action="append", metavar="NAME=VALUE",
                        help="a hyper-parameter, e.g. -p factors=50 -p lr=0.01 (repeatable)")
    parser.add_argument("--threads", type=int, default=None)


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
    bench.add_argument("--out", default=None,
                       help="folder for results.json, results.md and PNG plots")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.add_argument("--no-scaling", action="store_true",
                       help="skip the learning curves and the thread / data-size scaling runs")
    bench.set_defaults(func=_cmd_benchmark)

    train = sub.add_parser("train", help="fit a model and save it (.npz)")
    _add_model_arguments(train)
    train.add_argument("--out", required=True, help="model file to write, e.g. model.npz")
    train.set_defaults(func=_cmd_train)

    rec = sub.add_parser("recommend", help="top-n items per user from a saved model, as CSV")
    rec.add_argument("--model", required=True, help="a file written by fastcf train / save")
    rec.add_argument("--users", default=None, help="comma-separated user ids")
    rec.add_argument("--users-file", default=None, help="one user id per line; - for stdin")
    rec.add_argument("-n", type=int, default=10, help="items per user")
    rec.add_argument("--out", default=None, help="CSV file (default stdout)")
    rec.set_defaults(func=_cmd_recommend)

    ev = sub.add_parser("evaluate", help="fit on a split (or k folds) and print the metrics")
    _add_model_arguments(ev)
    ev.add_argument("--test-size", type=float, default=0.2)
    ev.add_argument("--folds", type=int, default=None, help="cross-validate over this many")
    ev.add_argument("--metrics", default=None, help="comma-separated (default all)")
    ev.add_argument("-k", type=int, default=10, help="recommendation list length")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--out", default=None, help="also write the table as CSV")
    ev.set_defaults(func=_cmd_evaluate)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"fastcf {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
