"""Build the Cython kernels; all metadata lives in pyproject.toml.

OpenMP is used when the compiler accepts it; otherwise the kernels are built
without it and run single-threaded (``fastcf.show_config()`` reports which).
Set ``FASTCF_NO_OPENMP=1`` to force a build without OpenMP.
"""

import os
import platform
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# Every kernels/_*.pyx is an extension module fastcf.kernels._*.
KERNELS = sorted(p.stem for p in Path("src/fastcf/kernels").glob("_*.pyx"))

# Second builds of a kernel for x86-64 CPUs with AVX2 and FMA, with the flags
# that allow them; fastcf.kernels imports one only on a CPU that has both, so
# the package still runs on any x86-64 (and on other machines they are skipped).
AVX2_BUILDS = {"_mf_avx2"}


def _avx2_flags():
    """Compiler flags of the AVX2 builds, or None where they cannot apply."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    return ["/arch:AVX2"] if sys.platform == "win32" else ["-mavx2", "-mfma"]


def _openmp_flags():
    if sys.platform == "win32":
        return ["/openmp"], []
    if sys.platform == "darwin":
        return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
    return ["-fopenmp"], ["-fopenmp"]


def _compiler_supports_openmp(compiler, compile_flags, link_flags):
    """Try to compile and link a tiny OpenMP program with the build's compiler."""
    source = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "check_openmp.c"
        src.write_text(source)
        try:
            objects = compiler.compile([str(src)], output_dir=tmp, extra_postargs=compile_flags)
            compiler.link_executable(
                objects, "check_openmp", output_dir=tmp, extra_postargs=link_flags
            )
        except Exception:  # any compiler or linker failure means "no OpenMP"
            return False
    return True


class BuildExtWithOptionalOpenMP(build_ext):
    def build_extensions(self):
        compile_flags, link_flags = _openmp_flags()
        use_openmp = os.environ.get("FASTCF_NO_OPENMP", "") in ("", "0") and (
            _compiler_supports_openmp(self.compiler, compile_flags, link_flags)
        )
        if not use_openmp:
            print("fastcf: building the Cython kernels WITHOUT OpenMP (single-threaded)")
        for ext in self.extensions:
            if use_openmp:
                ext.extra_compile_args += compile_flags
                ext.extra_link_args += link_flags
        super().build_extensions()


def _extensions():
    from Cython.Build import cythonize

    optimise = ["-O3"] if sys.platform != "win32" else ["/O2"]
    avx2 = _avx2_flags()
    extensions = [
        Extension(
            f"fastcf.kernels.{name}",
            [f"src/fastcf/kernels/{name}.pyx"],
            extra_compile_args=optimise + (avx2 if name in AVX2_BUILDS else []),
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for name in KERNELS
        if name not in AVX2_BUILDS or avx2 is not None
    ]
    return cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExtWithOptionalOpenMP})
