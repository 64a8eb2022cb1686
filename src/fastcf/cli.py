"""The ``fastcf`` command line: ``benchmark``, ``train``, ``recommend``, ``evaluate``, ``tune``,
``info``.

Everything a user reads is in the parser's help texts (plain text, printed as
written); notes about what was assumed or done go to stderr, results to stdout.
"""

import argparse
import ast
import inspect
import logging
import sys
import textwrap

from . import __version__

DESCRIPTION = """\
fastcf: fast collaborative filtering (kNN, matrix factorisation, neural models)
from the shell. Train a model on a ratings file, recommend from it, evaluate it,
or benchmark fastcf against the peer libraries installed.

Data (--data) is synthetic:<size> (100k, 1m, 10m, 25m or a count such as 250k)
or a MovieLens ratings file or folder (u.data, ratings.dat, ratings.csv); train
and evaluate also read your own csv / tsv / parquet file of user, item[, rating
[, timestamp]] columns: its separator, header line and columns are sniffed, and
what was assumed is printed to stderr ('fastcf train --help' lists the flags
that say it instead).

Run 'fastcf COMMAND --help' for the options of a command."""

EPILOG = """\
examples:
  fastcf benchmark --data synthetic:1m
  fastcf train --data ratings.csv --algorithm mf -p factors=50 --out model.npz
  fastcf recommend --model model.npz --users 1,2,3 -n 5
  fastcf evaluate --data ml-100k --algorithm itemknn --folds 5
  fastcf evaluate --data ml-100k --algorithm als --implicit --split user \
      --test-size 0.25 --rerank mmr --sweep 0,0.25,0.5,0.75,1
  fastcf tune --data ml-100k --algorithm mf -g lr=0.002,0.005,0.01 -g reg=0.02,0.1"""

#: ``--algorithm`` name -> estimator class name in fastcf (default hyper-parameters).
ALGORITHMS = {"baseline": "BaselineOnly", "userknn": "UserKNN", "itemknn": "ItemKNN",
              "mf": "MatrixFactorization", "mlp": "MLPRecommender", "neumf": "NeuMF",
              "popularity": "Popularity", "als": "ALS", "bpr": "BPR", "ease": "EASE",
              "coclustering": "CoClustering", "nmf": "NMF", "normal": "NormalPredictor",
              "svdpp": "SVDpp", "slopeone": "SlopeOne", "dpals": "DPALS",
              "dpmf": "DPMatrixFactorization", "dpmlp": "DPMLPRecommender"}

#: Columns of ``evaluate``'s table that count things (printed as integers).
COUNT_COLUMNS = ("n_test", "n_users")
#: Rows of ``cross_validate``'s table that summarise the folds.
SUMMARY_ROWS = ("mean", "std")

#: ``--sep`` words -> the separator they stand for.
SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|",
                   "space": r"\s+", "whitespace": r"\s+"}

RECOMMEND_OUTPUT = """\
output: CSV with a header line, one row per recommended item, best first:
  user   the user id, as given
  rank   1, 2, ... up to -n (a user with fewer unseen items gets fewer rows)
  item   the item id
  score  the model's score of the item for the user (higher ranks first)
Items a user interacted with in the training data are never recommended. A user
the model has not seen gets the model's fallback ranking, and a note on stderr
names such users."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Prints descriptions and epilogs as written and adds each option's default."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        # identity, not ==: a default of 0 is shown, False and None are not
        if (not action.option_strings or default is None or default is False
                or default is argparse.SUPPRESS or "(default" in text):
            return text
        return f"{text} (default: %(default)s)"


def _note(args, text):
    print(f"fastcf {args.command}: {text}", file=sys.stderr)


# ------------------------------------------------------------------ commands

def _cmd_info(args):
    from ._show_config import show_config

    show_config()
    return 0


def _cmd_benchmark(args):
    from .bench import format_markdown, run_benchmark, write_results

    results = run_benchmark(
        data=args.data,
        algorithms=args.algorithms.split(",") if args.algorithms else None,
        peers=args.peers,
        n_threads=args.threads,
        repeats=args.repeats,
        seed=args.seed,
        progress=not args.quiet,
        scaling=not args.no_scaling,
        ranking=not args.no_ranking,
        ranking_repeats=args.ranking_repeats,
        rerank=args.rerank,
    )
    print(format_markdown(results))
    if args.out:
        files, note = write_results(results, args.out)
        print(f"\nwrote {', '.join(files)} in {args.out}")
        if note:
            print(note)
    return 0


def _cmd_train(args):
    model = _make_model(args)
    model.fit(_load_data(args))
    model.save(args.out)
    _note(args, f"trained {args.algorithm} on {args.data}; wrote {args.out}")
    return 0


def _cmd_recommend(args):
    from .persist import load

    model = load(args.model)
    users = _read_ids(args, model)
    unknown = [user for user, index in zip(users, model.user_index(users)) if index < 0]
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        _note(args, f"{len(unknown)} of the {len(users)} users are unknown to the model "
                    f"({shown}{more}); they get its fallback ranking.")
    frame = model.recommend_frame(users, args.n)
    frame.to_csv(args.out or sys.stdout, index=False)
    return 0


def _cmd_evaluate(args):
    from .evaluation import cross_validate, evaluate
    from .split import random_split, user_split

    model = _make_model(args)
    reranker = _make_reranker(args)
    data = _load_data(args)
    metrics = args.metrics.split(",") if args.metrics else None
    split = random_split if args.split == "random" else user_split
    if args.sweep is not None:
        if args.folds:
            raise ValueError("--sweep runs on one split; drop --folds.")
        return _sweep(args, model, reranker, *split(data, args.test_size, seed=args.seed))
    if args.folds:
        if args.split != "random":
            raise ValueError("--folds draws random folds; drop --split.")
        table = cross_validate(model, data, folds=args.folds, metrics=metrics, k=args.k,
                               seed=args.seed, rerank=reranker)
    else:
        train, test = split(data, args.test_size, seed=args.seed)
        table = evaluate(model, train, test, metrics, args.k, rerank=reranker).to_frame().T
    if reranker is not None:
        _note(args, f"re-ranked by {reranker!r} with {reranker.similarity_used_}")
    table = _counts_as_ints(table)
    print(_format_table(table))
    if args.out:
        table.to_csv(args.out)
    return 0


def _make_reranker(args):
    """The --rerank re-ranker with its --rerank-param values, or None."""
    params = dict(args.rerank_param or [])
    if args.rerank is None:
        if params or args.sweep is not None:
            raise ValueError("--rerank-param and --sweep need --rerank mmr or dpp.")
        return None
    from .rerank import DPP, MMR

    cls = MMR if args.rerank == "mmr" else DPP
    unknown = sorted(set(params) - set(cls._param_names))
    if unknown:
        raise ValueError(f"--rerank {args.rerank} has no parameter {', '.join(unknown)}; its "
                         f"parameters: {', '.join(cls._param_names)}.")
    return cls(**params)


DEFAULT_TRADEOFF_PLOT = "rerank_tradeoff.png"


def _sweep(args, model, reranker, train, test):
    """``evaluate --sweep``: the trade-off table on stdout, its curve as a PNG."""
    from .evaluation import rerank_tradeoff

    table = rerank_tradeoff(model, train, test, reranker, args.sweep, k=args.k)
    print(table.drop(columns="parameter").to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"\nre-ranker: {reranker!r}, item similarity: {table.attrs['similarity_used']}; "
          f"diversity: {table.attrs['diversity']}.")
    if args.out:
        table.to_csv(args.out)
    plot = args.plot or DEFAULT_TRADEOFF_PLOT
    if plot.lower() == "none":
        return 0
    from .bench.plots import NOTE_NO_MATPLOTLIB, plot_tradeoff

    try:
        plot_tradeoff({f"{args.algorithm} + {args.rerank}": table}, plot,
                      title=f"{args.algorithm} on {args.data}: {args.rerank} re-ranking")
    except ImportError:
        if args.plot is not None:  # a plot asked for by name is an error without matplotlib
            raise
        _note(args, NOTE_NO_MATPLOTLIB)  # the default plot is skipped, as benchmark's are
        return 0
    _note(args, f"wrote {plot}")
    return 0


def _values(text):
    """``0,0.25,0.5`` -> [0.0, 0.25, 0.5]."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers") from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one value")
    return values


def _cmd_tune(args):
    from .model_selection import grid_search, random_search

    model = _make_model(args)
    space = dict(args.grid or [])
    if not space:
        raise ValueError("give the values to try as -g NAME=V1,V2,... (at least one).")
    data = _load_data(args)
    metrics = args.metric.split(",")
    options = dict(folds=args.folds, metrics=metrics, k=args.k, n_jobs=args.n_jobs,
                   seed=args.seed, refit=args.save is not None)
    if args.random:
        result = random_search(model, space, data, n_iter=args.random, **options)
    else:
        result = grid_search(model, space, data, **options)
    table = result.results.drop(columns="params").sort_values("rank").set_index("rank")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    best = " ".join(f"{name}={value!r}" for name, value in result.best_params.items())
    print(f"\nbest: {best} ({result.metric} {result.best_score:.4f}, mean over "
          f"{args.folds} folds)")
    if args.out:
        table.to_csv(args.out)
    if args.save:
        result.best_model.save(args.save)
        _note(args, f"refitted the best setting on all of {args.data}; wrote {args.save}")
    return 0


# ------------------------------------------------------------------- helpers

def _literal(text):
    """A Python literal (``inf``, ``true`` and ``false`` too: ``-p epsilon=inf``,
    ``-p implicit=false``), else the string itself."""
    word = text.strip().lower()
    if word in ("inf", "+inf", "infinity"):
        return float("inf")
    if word in ("true", "false"):
        return word == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _param(text):
    """``name=value`` -> (name, value); the value is a Python literal, else a string."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not name=value")
    return name, _literal(value)


def _grid(text):
    """``name=v1,v2,...`` -> (name, [values]); each value a Python literal, else a string."""
    name, sep, values = text.partition("=")
    if not sep or not name.isidentifier() or not values.strip(","):
        raise argparse.ArgumentTypeError(f"{text!r} is not name=value1,value2,...")
    return name, [_literal(value.strip()) for value in values.split(",") if value.strip()]


def _estimator(name):
    import fastcf

    return getattr(fastcf, ALGORITHMS[name])


def _make_model(args):
    if args.algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm {args.algorithm!r} unknown; known: {', '.join(ALGORITHMS)}.")
    cls = _estimator(args.algorithm)
    params = dict(args.param or [])
    if args.threads is not None:
        params.setdefault("n_threads", args.threads)
    unknown = sorted(set(params) - set(cls._param_names()))
    if unknown:
        raise ValueError(f"{args.algorithm} has no parameter {', '.join(unknown)}; its "
                         f"parameters: {', '.join(cls._param_names())}.")
    return cls(**params)


def _show_default(value):
    if isinstance(value, type) or type(value).__module__ == "numpy":
        import numpy as np

        try:
            return np.dtype(value).name
        except TypeError:
            pass
    return repr(value)


def _algorithm_help():
    """The -p parameters of every algorithm with their defaults, from the signatures."""
    lines = ["algorithms and their -p parameters (default values):"]
    for name, class_name in ALGORITHMS.items():
        cls = _estimator(name)
        signature = inspect.signature(cls.__init__).parameters
        params = ", ".join(f"{p}={_show_default(signature[p].default)}"
                           for p in cls._param_names())
        lines.append(textwrap.fill(f"{name} ({class_name}): {params}", width=79,
                                   initial_indent="  ", subsequent_indent="      ",
                                   break_on_hyphens=False))
    return "\n".join(lines)


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


def _counts_as_ints(table):
    """``table`` with its count columns holding ints, except in the mean and std rows
    of cross-validation, which stay floats: a mean of counts is not a count."""
    import pandas as pd

    table = table.copy()
    for column in COUNT_COLUMNS:
        if column in table:
            table[column] = pd.Series([value if label in SUMMARY_ROWS else int(value)
                                       for label, value in table[column].items()],
                                      index=table.index, dtype=object)
    return table


def _format_table(table):
    """Metrics and seconds with 4 decimals; counts as ints, their mean and std with 1."""
    import pandas as pd

    def cell(label, column, value):
        if column not in COUNT_COLUMNS:
            return f"{value:.4f}"
        return f"{value:.1f}" if label in SUMMARY_ROWS else str(value)

    return pd.DataFrame({column: [cell(label, column, value)
                                  for label, value in table[column].items()]
                         for column in table}, index=table.index).to_string()


# ---------------------------------------------------------------------- data

def _sep(text):
    return SEPARATOR_NAMES.get(text.lower(), text)


def _columns(text):
    """``user,item,,rating`` (roles in order, empty or _ to skip) or
    ``user=uid,item=iid,rating=3`` (role=name or 0-based position)."""
    parts = [p.strip() for p in text.split(",")]
    if not any("=" in p for p in parts):
        return [None if p in ("", "_", "-") else p for p in parts]
    mapping = {}
    for part in parts:
        role, sep, column = part.partition("=")
        if not sep or not role.strip() or not column.strip():
            raise argparse.ArgumentTypeError(f"{part!r} is not role=column")
        column = column.strip()
        mapping[role.strip()] = int(column) if column.isdigit() else column
    return mapping


def _add_data_arguments(parser):
    group = parser.add_argument_group("data", _fill(
        "--data names synthetic:<size>, a MovieLens ratings file or folder, or a csv / "
                "tsv / parquet file. A file that is not MovieLens (or any file when one of the "
                "flags below is given) is read by fastcf.read_interactions, which sniffs what "
                "these flags leave out and prints what it assumed to stderr."))
    group.add_argument("--data", required=True, metavar="DATA",
                       help="synthetic:<size>, a MovieLens file or folder, or a data file")
    group.add_argument("--format", choices=("csv", "tsv", "parquet"), default=None,
                       help="the file's format (default: from the suffix, else the content)")
    group.add_argument("--sep", type=_sep, default=None,
                       help="field separator: a character or tab, comma, semicolon, pipe, "
                            "whitespace (default: sniffed)")
    group.add_argument("--columns", type=_columns, default=None,
                       help="the columns' roles (user, item, rating, timestamp) in order, "
                            "empty or _ to skip one: 'user,item,_,rating'; or role=name "
                            "(or role=position from 0): 'user=uid,item=iid,rating=stars' "
                            "(default: by header name, else by position)")
    group.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                       help="the first line names the columns (default: sniffed)")
    group.add_argument("--implicit", action="store_true",
                       help="ignore any rating column: every interaction counts 1")


def _load_data(args):
    """The Interactions ``--data`` names, read as the data flags say."""
    from .datasets import is_movielens, load_movielens, sniff_interactions

    options = {"format": args.format, "sep": args.sep, "columns": args.columns,
               "header": args.header, "implicit": True if args.implicit else None}
    given = [f"--{name}" for name, value in options.items() if value is not None]
    spec = args.data
    if spec.startswith("synthetic:"):
        if given:
            raise ValueError(f"{', '.join(given)} apply to data files, not to {spec}.")
        from .bench import load_data

        data, description = load_data(spec)
    elif not given and is_movielens(spec):
        data = load_movielens(spec)
        description = f"{spec} (MovieLens)"
        _note(args, f"reading {spec} as a MovieLens ratings file.")
    else:
        layout = sniff_interactions(spec, **options)
        _note(args, f"reading {layout.describe()}")
        data = layout.read()
        description = spec
    logging.getLogger(__name__).info("data: %s: %s", description, data)
    return data


# -------------------------------------------------------------------- parser

def _add_model_arguments(parser):
    _add_data_arguments(parser)
    parser.add_argument("--algorithm", required=True, metavar="ALGORITHM",
                        help=f"one of {', '.join(ALGORITHMS)}")
    parser.add_argument("-p", "--param", type=_param, action="append", metavar="NAME=VALUE",
                        help="a hyper-parameter of the algorithm (repeatable; Python literals, "
                             "else strings), e.g. -p factors=50 -p lr=0.01; see the list below")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for fastcf (default: all usable cores)")


def _fill(text):
    return textwrap.fill(text, width=79)


def _subparser(sub, name, summary, description, epilog=None):
    return sub.add_parser(name, help=summary, epilog=epilog, formatter_class=_HelpFormatter,
                          description=_fill(f"{summary[0].upper()}{summary[1:]}. {description}"))


def build_parser():
    from .bench import DEFAULT_DATA, FASTCF_ALGORITHMS, ranking_names
    from .evaluation import METRICS

    parser = argparse.ArgumentParser(prog="fastcf", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"fastcf {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = _subparser(sub, "info", "versions, backends, threading and OpenMP status",
                      "Prints fastcf's version, the versions of Python and of its dependencies, "
                      "the kernel backends available (Numba, Cython, reference), how the Cython "
                      "extensions were built, and the threading layer and thread counts in use. "
                      "Attach it to a bug report.")
    info.set_defaults(func=_cmd_info)

    bench = _subparser(sub, "benchmark", "fit and time fastcf (and installed peers)",
                       "Fits every algorithm (and every peer library installed: Surprise, "
                       "implicit, LensKit, cornac, torch) on one split of the same data, times "
                       "fit / predict / recommend (median of --repeats runs, JIT compile time "
                       "apart), measures accuracy, and prints a markdown table; then the "
                       "ranking protocol (top-10 from implicit feedback: NDCG@10, P@10, "
                       "recall@10, coverage, fit and recommend seconds) as a table of its own.")
    bench.add_argument("--data", default=DEFAULT_DATA,
                       help="synthetic:100k|1m|10m|25m|<N>[k|m] or a MovieLens file or folder")
    bench.add_argument("--algorithms", default=None,
                       help=f"comma-separated, from: {', '.join(FASTCF_ALGORITHMS)} (the "
                            f"main table) and {', '.join(ranking_names())} (the ranking "
                            "table) (default: all)")
    bench.add_argument("--peers", default="auto",
                       help="auto (every installed peer), none, or a comma-separated list")
    bench.add_argument("--threads", type=int, default=None,
                       help="threads for fastcf (default: all usable cores)")
    bench.add_argument("--repeats", type=int, default=3, help="timed runs per figure (median)")
    bench.add_argument("--seed", type=int, default=0, help="seed of the data and the split")
    bench.add_argument("--out", default=None,
                       help="folder for results.json, results.md and PNG plots")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.add_argument("--no-scaling", action="store_true",
                       help="skip the learning curves and the thread / data-size scaling runs")
    bench.add_argument("--no-ranking", action="store_true",
                       help="skip the ranking protocol's table (top-10 from implicit "
                            "feedback, a 75/25 split within each user)")
    bench.add_argument("--ranking-repeats", type=int, default=1,
                       help="timed runs per figure of the ranking table (median)")
    bench.add_argument("--rerank", action="store_true",
                       help="also re-rank ALS's top-10 for diversity on the ranking split "
                            "(MMR and DPP sweeps: NDCG@10 against intra-list diversity, "
                            "coverage and novelty; a table, and rerank_tradeoff.png with "
                            "--out)")
    bench.set_defaults(func=_cmd_benchmark)

    algorithms = _algorithm_help()
    train = _subparser(sub, "train", "fit a model and save it (.npz)",
                       "Reads --data, fits --algorithm with the -p hyper-parameters, and writes "
                       "the fitted model to --out (fastcf's .npz model format, loaded by "
                       "'fastcf recommend' and fastcf.load).", epilog=algorithms)
    _add_model_arguments(train)
    train.add_argument("--out", required=True, help="model file to write, e.g. model.npz")
    train.set_defaults(func=_cmd_train)

    rec = _subparser(sub, "recommend", "top-n items per user from a saved model, as CSV",
                     "Loads a model written by 'fastcf train' (or model.save) and writes the "
                     "top -n items of each user given.", epilog=RECOMMEND_OUTPUT)
    rec.add_argument("--model", required=True, help="a file written by fastcf train / save")
    rec.add_argument("--users", default=None, help="comma-separated user ids")
    rec.add_argument("--users-file", default=None, help="one user id per line; - for stdin")
    rec.add_argument("-n", type=int, default=10, help="items per user")
    rec.add_argument("--out", default=None, help="CSV file to write (default: stdout)")
    rec.set_defaults(func=_cmd_recommend)

    ev = _subparser(sub, "evaluate", "fit on a split (or k folds) and print the metrics",
                    "Splits --data at random (--test-size of the ratings, drawn over all of "
                    "them, to test; or --folds folds), fits --algorithm on the training part "
                    "and prints one row of metrics (per fold, then mean and std): the "
                    "metrics, fit_s / predict_s / recommend_s (seconds), n_test (test "
                    "ratings) and n_users (users ranked). Counts print as integers; their "
                    "mean and std over folds with one decimal.", epilog=algorithms)
    _add_model_arguments(ev)
    ev.add_argument("--test-size", type=float, default=0.2,
                    help="share of the ratings held out for testing")
    ev.add_argument("--folds", type=int, default=None,
                    help="cross-validate over this many folds instead (default: one split)")
    ev.add_argument("--metrics", default=None,
                    help=f"comma-separated, from: {', '.join(METRICS)} (default: all that "
                         "apply: rmse and mae need ratings in the data, so not with "
                         "--implicit, and a model that predicts them, so not neumf or "
                         "popularity)")
    ev.add_argument("-k", type=int, default=10, help="recommendation list length")
    ev.add_argument("--seed", type=int, default=0, help="seed of the split")
    ev.add_argument("--split", choices=("random", "user"), default="random",
                    help="random: --test-size of all ratings; user: --test-size of each "
                         "user's ratings (the ranking protocol uses user with 0.25)")
    ev.add_argument("--out", default=None, help="also write the table as CSV")
    rr = ev.add_argument_group("re-ranking for diversity", _fill(
        "--rerank re-ranks each top-k list from the model's top 10k (fastcf.rerank.MMR or "
        "DPP; -R candidates=50 changes that). --sweep evaluates one split for each value of "
        "MMR's lambda_ or DPP's theta (1 / near 1: the model's own order) and prints NDCG, "
        "precision, intra-list diversity, coverage and novelty per value, then draws NDCG "
        "against diversity and coverage into --plot."))
    rr.add_argument("--rerank", choices=("mmr", "dpp"), default=None,
                    help="re-rank the lists: maximal marginal relevance or a DPP")
    rr.add_argument("-R", "--rerank-param", type=_param, action="append",
                    metavar="NAME=VALUE",
                    help="a parameter of the re-ranker (repeatable), e.g. -R lambda_=0.7, "
                         "-R theta=0.8, -R window=5, -R similarity=interactions")
    rr.add_argument("--sweep", type=_values, default=None, metavar="V1,V2,...",
                    help="lambda_ (mmr) or theta (dpp) values to compare, e.g. "
                         "0,0.25,0.5,0.75,1")
    rr.add_argument("--plot", default=None,
                    help=f"PNG of the --sweep curve (default {DEFAULT_TRADEOFF_PLOT}, skipped "
                         "with a note without matplotlib; 'none': no plot)")
    ev.set_defaults(func=_cmd_evaluate)

    tune = _subparser(sub, "tune", "search hyper-parameters by cross-validation",
                      "Cross-validates --algorithm on --data (--folds random folds) for every "
                      "combination of the -g values (or --random N of them drawn at random), "
                      "in --n-jobs processes, and prints one row per setting, best first: "
                      "its parameters, the mean and std of each --metric over the folds, the "
                      "mean fit and test seconds per fold. The first metric ranks (lower is "
                      "better for rmse and mae, higher for the ranking metrics). -p fixes "
                      "the other parameters; --threads gives each fit threads (default 1).",
                      epilog=algorithms)
    _add_model_arguments(tune)
    tune.add_argument("-g", "--grid", type=_grid, action="append", metavar="NAME=V1,V2,...",
                      help="values to try for a hyper-parameter (repeatable), e.g. "
                           "-g factors=20,50,100 -g lr=0.005,0.01")
    tune.add_argument("--folds", type=int, default=3, help="cross-validation folds")
    tune.add_argument("--metric", default="rmse",
                      help=f"comma-separated, from: {', '.join(METRICS)}; the first ranks")
    tune.add_argument("-k", type=int, default=10, help="list length of the ranking metrics")
    tune.add_argument("--n-jobs", type=int, default=None,
                      help="processes evaluating settings x folds (default: all usable cores)")
    tune.add_argument("--random", type=int, default=None, metavar="N",
                      help="evaluate N settings drawn at random from the -g values instead "
                           "of all of them")
    tune.add_argument("--seed", type=int, default=0, help="seed of the folds and the draws")
    tune.add_argument("--save", default=None,
                      help="refit the best setting on all the data and write it here (.npz)")
    tune.add_argument("--out", default=None, help="also write the table as CSV")
    tune.set_defaults(func=_cmd_tune)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"fastcf {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
