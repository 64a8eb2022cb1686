"""Smoke test of an installed fastcf, run by CI on each build and by cibuildwheel on each wheel.

Imports fastcf with every warning an error, fits an ItemKNN and a
MatrixFactorization on ``make_ratings`` data (``backend="auto"``), recommends,
runs ``fastcf info``, and checks that the Cython backend is built or absent as
``--cython`` expects (absent: ``backend="cython"`` must raise the clear error).

Usage: ``python tests/smoke.py [--cython {built,absent,any}]``
"""

import argparse
import contextlib
import io
import sys
import warnings


def run(expect_cython="any"):
    """Run the smoke test; raise AssertionError naming the first thing that failed."""
    warnings.simplefilter("error")
    import numpy as np

    import fastcf
    from fastcf.cli import main as cli
    from fastcf.kernels._registry import cython_status

    built, reason = cython_status()
    if expect_cython != "any":
        assert built == (expect_cython == "built"), f"expected Cython {expect_cython}: {reason}"
    data = fastcf.make_ratings(300, 120, 6000, seed=0)
    users = data.user_ids[:5]
    for model in (fastcf.ItemKNN(k=20, similarity="pearson"),
                  fastcf.MatrixFactorization(factors=8, epochs=3, seed=0)):
        items, scores = model.fit(data).recommend(users, n=5)
        assert items.shape == (5, 5) and np.isfinite(scores).all(), type(model).__name__
    if not built:
        try:
            fastcf.MatrixFactorization(backend="cython").fit(data)
        except ValueError as exc:
            assert "'cython' is not available: not compiled" in str(exc), str(exc)
        else:
            raise AssertionError('backend="cython" ran without the Cython extensions')
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(["info"]) == 0
    line = next(row for row in out.getvalue().splitlines() if row.startswith("cython_build"))
    assert line.split(None, 1)[1].startswith("built" if built else "absent: "), line
    return built, reason


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cython", choices=("built", "absent", "any"), default="any",
                        help="what the Cython backend must be (default: %(default)s)")
    args = parser.parse_args(argv)
    built, reason = run(args.cython)
    print(f"fastcf smoke test passed; Cython backend: {'built' if built else reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
