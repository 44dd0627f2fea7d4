"""Packaging for bitnets-tf: binary and ternary networks for Keras with a TFLite path."""

import platform
import sys
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
KERNEL_SOURCES = [
    f"bitnets_tf/runtime/csrc/{name}.c"
    for name in (
        "flexbuffer",
        "bitpack_ops",
        "bgemm",
        "bconv",
        "bconv_output",
        "parallel",
        "peak",
        "register",
        "delegate",
        "pymodule",
    )
]
# y = x * m + b must round like larq-compute-engine's kernels: no fused multiply-add.
KERNEL_FLAGS = ["-O3", "-std=c11", "-ffp-contract=off", "-pthread"]
if platform.machine() in ("armv7l", "armv7"):
    KERNEL_FLAGS.append("-mfpu=neon-vfpv4")  # Raspberry Pi 2/3/4 with a 32-bit OS


class OptionalBuildExt(build_ext):
    """Builds the bitpacked kernels, or not at all: without a C compiler the package installs
    and works, and ``bitnets_tf.runtime.available()`` is False."""

    def build_extension(self, ext):
        ext.extra_compile_args = KERNEL_FLAGS
        ext.extra_link_args = ["-pthread"]
        try:
            super().build_extension(ext)
        except Exception as failure:  # compiler missing or failing: CompileError, LinkError, ...
            sys.stderr.write(
                "\nWARNING: bitnets-tf's bitpacked kernels were not compiled "
                f"({type(failure).__name__}: {failure}). Everything else works; to run lce "
                "models on the stock TFLite interpreter install a C compiler (e.g. `sudo apt "
                "install build-essential`) and reinstall.\n\n"
            )

    def run(self):
        try:
            super().run()
        except Exception as error:  # no compiler configured at all
            sys.stderr.write(
                f"\nWARNING: bitnets-tf's bitpacked kernels were not built ({error}).\n\n"
            )


setup(
    name="bitnets-tf",
    version="0.1.0",
    description=(
        "Binary and ternary neural networks for Keras/TensorFlow, trained with model.fit "
        "and deployed as bitpacked or stock TFLite."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["bitnets_tf", "bitnets_tf.*"]),
    py_modules=["bitnets_tf_cli"],
    ext_modules=[Extension("bitnets_tf.runtime._kernels", sources=KERNEL_SOURCES)],
    cmdclass={"build_ext": OptionalBuildExt},
    package_data={
        "bitnets_tf.deploy": ["example_images/*.png"],
        "bitnets_tf.runtime": ["csrc/*.c", "csrc/*.h"],
    },
    install_requires=[
        "tensorflow>=2.16,<2.22",
        "tf-keras>=2.16,<2.22",
        "larq>=0.14,<0.15",
        "larq-compute-engine>=0.16,<0.17",
        "tensorflow-datasets>=4.9",
        # tensorflow-datasets 4.9.10 imports it without declaring it (tensorflow/datasets#11212)
        "importlib_resources",
        "numpy<2",
        "matplotlib>=3.7",
        "pillow>=9",
        # LiteRT runs the stock (int8, float) models; elsewhere tf.lite is the fallback
        "ai-edge-litert>=1.4; sys_platform == 'linux' and "
        "(platform_machine == 'x86_64' or platform_machine == 'aarch64')",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "hypothesis>=6",
            "ruff>=0.4",
            # tests/test_docs.py builds the documentation with --strict
            "mkdocs>=1.6,<2",
            "mkdocstrings[python]>=0.26",
        ],
        "docs": ["mkdocs>=1.6,<2", "mkdocstrings[python]>=0.26"],
        # scripts/run_notebooks.py: execute examples/*.ipynb
        "notebooks": ["nbclient>=0.10", "nbformat>=5.9", "ipykernel>=6"],
    },
    entry_points={"console_scripts": ["bitnets-tf=bitnets_tf_cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
