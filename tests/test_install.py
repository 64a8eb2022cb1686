"""Installing without the Cython backend: setup.py's optional build and what fastcf then reports.

setup.py is run on a tiny project of its own (two or three one-function .pyx
files), so each build takes seconds; the real package without its extensions is
run in a subprocess whose import system hides them.
"""

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastcf import config_info, show_config
from fastcf.kernels import _registry

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "setup.py"
ABSENT = "the Cython backend is absent from this install"
BROKEN_PYX = 'cdef extern from *:\n    """\n    #error deliberately broken\n    """\n'
GOOD_PYX = "def answer():\n    return 42\n"

needs_setup = pytest.mark.skipif(
    not SETUP.exists() or importlib.util.find_spec("setuptools") is None,
    reason="needs fastcf's setup.py (a source checkout) and setuptools")
needs_cython = pytest.mark.skipif(importlib.util.find_spec("Cython") is None,
                                  reason="needs Cython to build extensions")


def _project(root, kernels):
    """A project with setup.py and src/fastcf/kernels/<name>.pyx for each name -> source."""
    shutil.copy(SETUP, root / "setup.py")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "tiny"\nversion = "0"\n'
        '[tool.setuptools]\npackage-dir = { "" = "src" }\n')
    package = root / "src" / "fastcf" / "kernels"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    for name, source in kernels.items():
        (package / f"{name}.pyx").write_text(source)
    return root


def _build(root, **env):
    """Run ``setup.py build_ext --inplace`` in ``root``; (stderr, names of the built modules)."""
    env = {**os.environ, "FASTCF_NO_CYTHON": "", **env}
    done = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    built = sorted({path.name.split(".")[0] for pattern in ("*.so", "*.pyd")
                    for path in root.rglob(pattern)})
    return done.stderr, built


@needs_setup
@pytest.mark.parametrize("env, reason", [
    ({"CC": "/bin/false"}, "no working C compiler (/bin/false exited with status 1)"),
    ({"CC": "fastcf-no-such-compiler"}, "no working C compiler"),
    ({"FASTCF_NO_CYTHON": "1"}, "FASTCF_NO_CYTHON is set"),
])
def test_a_build_without_a_compiler_succeeds_and_says_so_once(tmp_path, env, reason):
    err, built = _build(_project(tmp_path, {"_a_ok": GOOD_PYX}), **env)
    assert built == []
    assert err.count(ABSENT) == 1
    assert reason in " ".join(err.split())
    assert "reinstall fastcf" in err and "Numba" in err


@needs_setup
@needs_cython
@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="setup.py makes AVX2 builds on x86-64 only")
def test_a_failed_extension_drops_them_all_and_a_failed_avx2_build_only_itself(tmp_path):
    root = _project(tmp_path, {"_a_ok": GOOD_PYX, "_mf": GOOD_PYX,
                               "_mf_avx2": BROKEN_PYX + GOOD_PYX})
    err, built = _build(root)
    if "no working C compiler" in err:  # as in CI's run with CC=/bin/false
        pytest.skip("needs a working C compiler")
    assert built == ["_a_ok", "_mf"]
    assert "the AVX2 build fastcf.kernels._mf_avx2 failed" in err and ABSENT not in err
    # A kernel that does not compile: no extension is left, in place or in build/.
    (root / "src" / "fastcf" / "kernels" / "_z_broken.pyx").write_text(BROKEN_PYX + GOOD_PYX)
    err, built = _build(root)
    assert built == []
    assert err.count(ABSENT) == 1
    assert "compiling fastcf.kernels._z_broken failed" in " ".join(err.split())


def test_cython_status_tells_not_built_from_does_not_load(monkeypatch):
    monkeypatch.setattr(_registry, "_CYTHON_MISSING", {})
    assert _registry.cython_status() == (True, "built")
    assert _registry.cython_kernel("_no_such_extension", "f", optional=True) is None
    assert _registry.cython_status() == (True, "built")
    assert _registry.cython_kernel("_no_such_extension", "f") is None
    assert _registry.cython_status() == (False, _registry.CYTHON_NOT_BUILT)
    _registry._CYTHON_MISSING["_topk"] = "libgomp.so.1: cannot open shared object file"
    available, reason = _registry.cython_status()
    assert not available
    assert reason.startswith("installed but does not load (_topk: libgomp.so.1")


def test_show_config_reports_an_absent_cython_build(monkeypatch, capsys):
    monkeypatch.setattr(_registry, "cython_status", lambda: (False, _registry.CYTHON_NOT_BUILT))
    info = show_config()
    assert info["backends"]["cython"] is False
    assert info["cython_build"] == f"absent: {_registry.CYTHON_NOT_BUILT}"
    assert info["cython_mf_build"] == "none" and not info["cython_openmp"]
    line = next(row for row in capsys.readouterr().out.splitlines()
                if row.startswith("cython_build"))
    assert "absent: not compiled when fastcf was installed" in line
    assert config_info()["cython_build"] == info["cython_build"]


# Runs tests/smoke.py with every fastcf.kernels._* extension module hidden, as
# on an install that built none; -W error: nothing may warn.
HIDE_EXTENSIONS = """
import importlib.abc, runpy, sys
from importlib.machinery import ExtensionFileLoader, PathFinder

class HideExtensions(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.startswith("fastcf.kernels._"):
            spec = PathFinder.find_spec(name, path)
            if spec is not None and isinstance(spec.loader, ExtensionFileLoader):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideExtensions())
sys.argv = ["smoke.py", "--cython", "absent"]
runpy.run_path(%r, run_name="__main__")
"""


def test_fastcf_runs_and_reports_without_its_extensions():
    smoke = Path(__file__).with_name("smoke.py")
    # The fastcf this process imported, whether installed or from a source tree.
    env = {**os.environ, "PYTHONPATH": str(Path(_registry.__file__).parents[2])}
    done = subprocess.run([sys.executable, "-W", "error", "-c", HIDE_EXTENSIONS % str(smoke)],
                          env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fastcf smoke test passed; Cython backend: not compiled" in done.stdout
    assert done.stderr == ""
