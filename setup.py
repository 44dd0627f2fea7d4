"""Packaging for bitnets-tf: binary and ternary networks for Keras with a TFLite path."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

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
    package_data={"bitnets_tf.deploy": ["example_images/*.png"]},
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
