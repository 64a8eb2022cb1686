"""Run Surprise's own tests and examples against ``fastcf.compat.surprise``.

Surprise's sources are never vendored: they are read from a git checkout of
https://github.com/NicolasHug/Surprise into a scratch folder outside the
repository. Each test and example file is copied with its ``surprise``
imports rewritten to ``fastcf.compat.surprise`` (import lines only; nothing
else changes), then the tests run under pytest and every example as a script.

    python benchmarks/surprise_acceptance.py /tmp/surprise_scratch \
        --repo /path/to/Surprise/.git --ml100k /work/shared/data/ml-100k

``--repo`` is needed the first time (``git archive HEAD tests examples`` into
the scratch folder). ``--ml100k`` links a local MovieLens 100K folder where
``Dataset.load_builtin("ml-100k")`` looks (under a scratch HOME), so no example
downloads anything. Examples that
import ``tabulate`` (a table printer, not a Surprise dependency) get a minimal
stand-in when it is not installed. ``--benchmark`` also runs ``benchmark.py``
(Surprise's README table: every algorithm, 5-fold CV on ML-100K) with fastcf and
then, unchanged, with Surprise, so both tables come from the same run.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORT_FROM = re.compile(r"^(\s*)from surprise(\.[\w.]+)? import", re.MULTILINE)
IMPORT = re.compile(r"^(\s*)import surprise(\.[\w.]+)?(\s+as\s+\w+)?\s*$", re.MULTILINE)
#: Examples that need more than ML-100K or run for long (Surprise's own benchmark table).
SLOW_EXAMPLES = {"benchmark.py"}


def rewrite(text, target):
    text = IMPORT_FROM.sub(lambda m: f"{m[1]}from {target}{m[2] or ''} import", text)
    return IMPORT.sub(lambda m: f"{m[1]}import {target}{m[2] or ''}{m[3] or ''}", text)


def copy_rewritten(src, dst):
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    for path in dst.rglob("*.py"):
        path.write_text(rewrite(path.read_text(), "fastcf.compat.surprise"))


TABULATE_STUB = '''"""Scratch stand-in for tabulate (pipe tables only)."""


def tabulate(rows, headers=(), tablefmt="pipe"):
    lines = [" | ".join(map(str, headers))] if headers else []
    lines += [" | ".join(map(str, row)) for row in rows]
    return "\\n".join("| " + line + " |" for line in lines)
'''


def tabulate_path(scratch):
    """A folder to put on the path for ``import tabulate``, or None if it is installed."""
    try:
        import tabulate  # noqa: F401
    except ImportError:
        folder = scratch / "stubs"
        folder.mkdir(exist_ok=True)
        (folder / "tabulate.py").write_text(TABULATE_STUB)
        return folder
    return None


def archive(repo, dest, *paths):
    dest.mkdir(parents=True, exist_ok=True)
    tar = subprocess.run(["git", "--git-dir", str(repo), "archive", "HEAD", *paths],
                         check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scratch", type=Path)
    parser.add_argument("--repo", type=Path, help="Surprise's git directory")
    parser.add_argument("--ml100k", type=Path, help="a folder holding MovieLens 100K's u.data")
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--skip-examples", action="store_true")
    parser.add_argument("--benchmark", action="store_true",
                        help="also run benchmark.py with fastcf and with Surprise")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per example")
    args = parser.parse_args(argv)
    scratch = args.scratch.resolve()
    if ROOT in scratch.parents or scratch == ROOT:
        parser.error("the scratch folder must be outside the repository.")
    if not (scratch / "tests").is_dir():
        if args.repo is None:
            parser.error(f"{scratch / 'tests'} is missing: pass --repo to extract it.")
        archive(args.repo, scratch, "tests", "examples")
    paths = [str(ROOT / "src")]
    stub = tabulate_path(scratch)
    paths += [str(stub)] if stub is not None else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]))
    home = scratch / "home"
    data = home / ".surprise_data" / "ml-100k" / "ml-100k"
    if args.ml100k is not None and not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        data.symlink_to(args.ml100k.resolve(), target_is_directory=True)
    env.update(HOME=str(home))
    env.pop("SURPRISE_DATA_FOLDER", None)
    status = 0
    if not args.skip_tests:
        tests = scratch / "fastcf_tests"
        copy_rewritten(scratch / "tests", tests)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE",
                   "--continue-on-collection-errors", "--tb=line", "--rootdir", str(tests),
                   str(tests)]
        print("$", " ".join(command), flush=True)
        status |= subprocess.run(command, env=env, cwd=tests).returncode
    if not args.skip_examples:
        examples = scratch / "fastcf_examples"
        copy_rewritten(scratch / "examples", examples)
        failed, ran = [], 0
        scripts = sorted(examples.glob("*.py")) + sorted(examples.glob("*/*.py"))
        for script in scripts:
            if script.name in SLOW_EXAMPLES or script.name == "run_all_examples.py":
                print(f"skip {script.relative_to(examples)} (slow / runs the others)")
                continue
            ran += 1
            start = time.perf_counter()
            try:
                run = subprocess.run([sys.executable, str(script)], env=env, cwd=script.parent,
                                     capture_output=True, text=True, timeout=args.timeout)
                ok, tail = run.returncode == 0, (run.stderr or run.stdout).strip()[-400:]
            except subprocess.TimeoutExpired:
                ok, tail = False, f"timeout after {args.timeout} s"
            seconds = time.perf_counter() - start
            print(f"{'ok  ' if ok else 'FAIL'} {script.relative_to(examples)} ({seconds:.1f} s)")
            if not ok:
                failed.append(script.name)
                print("     " + tail.replace("\n", "\n     "))
        print(f"examples: {ran} ran, {ran - len(failed)} passed, {len(failed)} failed: {failed}")
        status |= bool(failed)
    if args.benchmark:
        print("load average", os.getloadavg())
        for label, folder in (("fastcf.compat.surprise", scratch / "fastcf_examples"),
                              ("surprise", scratch / "examples")):
            start = time.perf_counter()
            run = subprocess.run([sys.executable, "benchmark.py"], env=env, cwd=folder,
                                 capture_output=True, text=True)
            print(f"== benchmark.py with {label}: {time.perf_counter() - start:.1f} s, "
                  f"exit {run.returncode}")
            print(run.stdout[-3000:] if run.returncode == 0 else run.stderr[-2000:])
        print("load average", os.getloadavg())
    return status


if __name__ == "__main__":
    sys.exit(main())
