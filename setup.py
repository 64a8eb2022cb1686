"""Build the optional Cython kernels; all metadata lives in pyproject.toml.

fastcf runs every model on its Numba kernels; the Cython extensions are a
second backend. They are built when Cython and a C compiler work. When they
cannot be built (no compiler, a compiler error, Cython missing) the install
still succeeds, without them, and prints one message saying so
(``fastcf info`` shows it later).

Environment variables:

``FASTCF_NO_CYTHON=1``
    Build no Cython extension (a Numba-only install, for packagers and CI).
``FASTCF_NO_OPENMP=1``
    Build the Cython kernels without OpenMP (they then run single-threaded).
    Without it, OpenMP is used when the compiler accepts it.
"""

import os
import platform
import re
import sys
import tempfile
import textwrap
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError

# Every kernels/_*.pyx is an extension module fastcf.kernels._*.
KERNELS = sorted(p.stem for p in Path("src/fastcf/kernels").glob("_*.pyx"))

# Second builds of a kernel for x86-64 CPUs with AVX2 and FMA, with the flags
# that allow them; fastcf.kernels imports one only on a CPU that has both, so
# the package still runs on any x86-64 (and on other machines they are skipped).
# A failed AVX2 build drops only itself: the plain build serves every CPU.
AVX2_BUILDS = {"_bpr_avx2", "_dp_sgd_avx2", "_hybrid_avx2", "_mf_avx2"}

CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}

# Flags are written in gcc/clang syntax (here and in the ``# distutils:`` line
# of a .pyx); for MSVC each becomes its equivalent, None: no flag needed.
MSVC_FLAGS = {
    "-O3": "/O2",
    # _mf.pyx allows reassociation so that the compiler vectorises its dot
    # products; MSVC vectorises float reductions only under /fp:fast, which
    # also covers the other three (errno, traps and signed zeros).
    "-fassociative-math": "/fp:fast",
    "-fno-math-errno": None,
    "-fno-trapping-math": None,
    "-fno-signed-zeros": None,
    "-mavx2": "/arch:AVX2",
    "-mfma": None,  # /arch:AVX2 emits FMA where /fp:fast allows contraction
    "-fopenmp": "/openmp",
}

# What a failed compile, link or compiler lookup raises (BaseError is
# distutils' DistutilsError: CompileError, LinkError, PlatformError, ExecError).
BUILD_ERRORS = (CCompilerError, BaseError, OSError)


def _env_flag(name):
    """Whether the environment variable ``name`` is set to something other than "" or "0"."""
    return os.environ.get(name, "") not in ("", "0")


def _target_machine():
    """The CPU the extensions are compiled for: this machine's, unless ARCHFLAGS
    (macOS cross builds, as cibuildwheel makes them: "-arch arm64") names others."""
    archs = set(re.findall(r"-arch\s+(\S+)", os.environ.get("ARCHFLAGS", "")))
    if archs:
        return archs.pop() if len(archs) == 1 else "universal"
    return platform.machine().lower()


def _avx2_flags():
    """Compiler flags of the AVX2 builds, or None where they cannot apply."""
    if _target_machine() not in ("x86_64", "amd64"):
        return None
    return ["-mavx2", "-mfma"]


def _openmp_flags(compiler_type):
    """(compile, link) flags that enable OpenMP with this kind of compiler."""
    if compiler_type == "msvc":
        return ["/openmp"], []
    if sys.platform == "darwin":
        return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
    return ["-fopenmp"], ["-fopenmp"]


def _msvc_flags(flags):
    """``flags`` (gcc syntax) as MSVC flags, each once."""
    out = []
    for flag in flags:
        flag = MSVC_FLAGS.get(flag, flag)
        if flag is not None and flag not in out:
            out.append(flag)
    return out


def _short_error(exc):
    """``exc`` in a line: a failed compiler command as its program and exit status
    (the compiler has printed its own diagnostics above)."""
    text = str(exc) or type(exc).__name__
    # The two forms setuptools' versions give a failed command.
    for pattern in (r"Command '\['([^']+)'.*returned non-zero exit status (-?\d+)",
                    r"command '([^']+)' failed with exit code (-?\d+)"):
        failed = re.search(pattern, text, re.S)
        if failed:
            return f"{failed[1]} exited with status {failed[2]}"
    return text


def _try_compile(compiler, source, compile_flags=(), link_flags=None):
    """Compile (and, with ``link_flags`` given, link) a tiny C program.

    Returns None on success, else the error as text.
    """
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "check.c"
        src.write_text(source)
        try:
            objects = compiler.compile([str(src)], output_dir=tmp,
                                       extra_postargs=list(compile_flags))
            if link_flags is not None:
                compiler.link_executable(objects, "check", output_dir=tmp,
                                         extra_postargs=list(link_flags))
        except BUILD_ERRORS as exc:
            return _short_error(exc)
    return None


def _announce(reason, remedy):
    """The one message of a build without the Cython backend."""
    text = (f"fastcf: the Cython backend is absent from this install: {reason}. "
            "fastcf works without it: every model runs on its Numba kernels "
            '(backend="auto"); only backend="cython" is unavailable. '
            f"{remedy} `fastcf info` shows which backends an install has.")
    rule = "=" * 78
    print(f"\n{rule}\n{textwrap.fill(text, 78)}\n{rule}\n", file=sys.stderr, flush=True)


class BuildExtOptionalCython(build_ext):
    """build_ext whose Cython extensions are optional (see the module docstring)."""

    def run(self):
        self._absent = []  # extensions not built: removed from build_lib and in place
        super().run()

    def build_extensions(self):
        self.check_extensions_list(self.extensions)
        absent = self._without_cython()
        if absent is None:
            absent = self._build_all()
        if absent is not None:
            self._drop(list(self.extensions))
            _announce(*absent)

    def _without_cython(self):
        """(reason, remedy) when no extension can be built here, else None."""
        if _env_flag("FASTCF_NO_CYTHON"):
            return ("FASTCF_NO_CYTHON is set",
                    "To build it, unset FASTCF_NO_CYTHON and reinstall fastcf.")
        error = _try_compile(self.compiler, "int main(void) { return 0; }\n")
        if error is not None:
            return (f"no working C compiler ({error})",
                    "To build it, install a C compiler (gcc or clang; on Windows, MSVC "
                    "Build Tools) and reinstall fastcf.")
        try:
            import Cython.Build  # noqa: F401
        except ImportError as exc:
            return (f"Cython is not installed in the build environment ({exc})",
                    "To build it, install Cython>=3.0 and reinstall fastcf.")
        return None

    def _build_all(self):
        """Cythonize and compile every extension; (reason, remedy) of a failure, else None."""
        remedy = "To build it, resolve the error shown above and reinstall fastcf."
        try:
            self._cythonize()
        except Exception as exc:  # Cython reports the error itself; any failure means no Cython
            return f"Cython could not translate the kernels ({exc})", remedy
        self._add_openmp()
        if self.compiler.compiler_type == "msvc":
            for ext in self.extensions:
                ext.extra_compile_args = _msvc_flags(ext.extra_compile_args)
        for ext in list(self.extensions):
            try:
                self.build_extension(ext)
            except BUILD_ERRORS as exc:
                if ext.name.rpartition(".")[2] not in AVX2_BUILDS:
                    return f"compiling {ext.name} failed ({_short_error(exc)})", remedy
                self._drop([ext])
                print(f"fastcf: the AVX2 build {ext.name} failed ({_short_error(exc)}); "
                      "the Cython MF kernels run their plain build.", file=sys.stderr, flush=True)
        return None

    def _cythonize(self):
        """Translate the .pyx sources to C, with the flags of their ``# distutils:`` lines.

        Done here, not when setup.py is loaded, so that an sdist holds the .pyx
        sources only and a build without Cython never needs it.
        """
        from Cython.Build import cythonize

        translated = {ext.name: ext for ext in cythonize(
            self.extensions, compiler_directives=CYTHON_DIRECTIVES, force=self.force)}
        # setuptools keeps its own state on these Extension objects: update them in place.
        for ext in self.extensions:
            new = translated[ext.name]
            ext.sources = new.sources
            ext.extra_compile_args = new.extra_compile_args
            ext.extra_link_args = new.extra_link_args

    def _add_openmp(self):
        compile_flags, link_flags = _openmp_flags(self.compiler.compiler_type)
        probe = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
        if _env_flag("FASTCF_NO_OPENMP") or _try_compile(self.compiler, probe, compile_flags,
                                                          link_flags) is not None:
            print("fastcf: building the Cython kernels WITHOUT OpenMP (single-threaded)")
            return
        for ext in self.extensions:
            ext.extra_compile_args += compile_flags
            ext.extra_link_args += link_flags

    def _drop(self, extensions):
        """Leave no file of ``extensions`` where an install or an import would find it,
        so that a build without them never ships or runs a stale copy."""
        for ext in extensions:
            self.extensions.remove(ext)
            self._absent.append(ext)
            Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)

    def copy_extensions_to_source(self):
        self.inplace = True  # setuptools builds into build_lib and calls this for --inplace
        try:
            for ext in self._absent:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
        finally:
            self.inplace = False
        super().copy_extensions_to_source()


def _extensions():
    avx2 = _avx2_flags()
    return [
        Extension(
            f"fastcf.kernels.{name}",
            [f"src/fastcf/kernels/{name}.pyx"],
            extra_compile_args=["-O3"] + (avx2 if name in AVX2_BUILDS else []),
        )
        for name in KERNELS
        if name not in AVX2_BUILDS or avx2 is not None
    ]


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExtOptionalCython})
