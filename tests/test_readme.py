"""Every code block of README.md runs as written, in order.

The blocks run in one folder holding a small synthetic MovieLens 100K (``ml-100k/u.data``
in its layout): the python blocks in one namespace, the sh blocks with bash (``fastcf`` is
this interpreter's ``python -m fastcf``), a python block that starts ``# name.py`` as a
script of its own. Only blocks marked ``<!-- readme-test: skip (reason) -->`` are not run,
and only installs may be: the quick start's two commands are what CI itself runs.
"""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(?:<!-- readme-test: skip \((?P<why>[^)]*)\) -->\n)?"
                   r"```(?P<lang>\w+)\n(?P<code>.*?)```", re.S)


def readme_blocks():
    """``(language, code, reason to skip or None)`` of every fenced block, in order."""
    return [(m["lang"], m["code"], m["why"]) for m in BLOCK.finditer(README.read_text())]


def test_only_installs_are_skipped():
    blocks = readme_blocks()
    assert len(blocks) >= 10
    assert {lang for lang, _, _ in blocks} <= {"python", "sh"}
    for lang, code, why in blocks:
        if why is not None:
            assert lang == "sh" and "install" in why and "pip install" in code, code


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder with ml-100k/u.data (user, item, rating, timestamp; tab-separated) and a
    ``fastcf`` command that runs this interpreter's fastcf."""
    import fastcf

    root = tmp_path_factory.mktemp("readme")
    data = fastcf.make_ratings(n_users=300, n_items=200, n_ratings=6_000, seed=0,
                               timestamps=True).to_frame()
    (root / "ml-100k").mkdir()
    data["user"] += 1  # MovieLens ids start at 1
    data["item"] += 1
    data["rating"] = data["rating"].round().clip(1, 5).astype(int)
    data.to_csv(root / "ml-100k" / "u.data", sep="\t", header=False, index=False)
    # side files in ML-100K's layout (u.user: id|age|gender|occupation|zip; u.item: five
    # fields then 19 genre flags), with a few more movies than were rated
    rng = np.random.default_rng(0)
    (root / "ml-100k" / "u.user").write_text("".join(
        f"{u}|{rng.integers(12, 70)}|{'MF'[u % 2]}|{['student', 'writer', 'other'][u % 3]}|"
        f"{rng.integers(10_000, 99_999)}\n" for u in range(1, data["user"].max() + 1)))
    (root / "ml-100k" / "u.item").write_text("".join(
        f"{i}|Movie {i} ({1950 + i % 50})|01-Jan-{1950 + i % 50}||http://x|"
        + "|".join(map(str, rng.integers(0, 2, 19))) + "\n"
        for i in range(1, data["item"].max() + 21)))
    bin_dir = root / "bin"
    bin_dir.mkdir()
    command = bin_dir / "fastcf"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fastcf "$@"\n')
    command.chmod(command.stat().st_mode | stat.S_IEXEC)
    return root


def _environment(folder):
    env = dict(os.environ)
    env["PATH"] = f"{folder / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    src = str(Path(__file__).resolve().parents[1] / "src")
    if any(Path(p).resolve() == Path(src) for p in sys.path if p):  # running from the tree
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


def test_every_block_runs_as_written_in_order(folder, monkeypatch):
    monkeypatch.chdir(folder)
    namespace = {"__name__": "readme"}
    ran = 0
    for lang, code, why in readme_blocks():
        if why is not None:
            continue
        first = code.splitlines()[0]
        if lang == "python" and re.match(r"# \w+\.py\b", first):
            script = folder / first.split()[1]
            script.write_text(code)
            done = subprocess.run([sys.executable, str(script)], cwd=folder,
                                  env=_environment(folder), capture_output=True, text=True,
                                  timeout=600)
            assert done.returncode == 0, f"{script.name} failed:\n{done.stderr[-3000:]}"
        elif lang == "python":
            exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
        else:
            done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=folder,
                                  env=_environment(folder), capture_output=True, text=True,
                                  timeout=900)
            assert done.returncode == 0, f"this block failed:\n{code}\n{done.stderr[-3000:]}"
        ran += 1
    assert ran == sum(why is None for _, _, why in readme_blocks())
    # what the blocks promised to leave behind
    assert (folder / "results" / "results.json").exists()
    assert (folder / "top10.csv").read_text().splitlines()[0] == "user,rank,item,score"
    assert (folder / "recs").is_dir()
    assert np.isfinite(namespace["model"].best_epoch_)
