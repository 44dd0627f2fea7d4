"""Install bitnets-tf into a Colab-like environment and report what pip changed.

Colab ships a recent TensorFlow with numpy 2. This script rebuilds that situation in a fresh
virtual environment (TensorFlow ``--tensorflow`` and numpy 2 from PyPI), then:

1. asks pip what a plain ``pip install <source>`` *would* change (``--dry-run --report``);
2. runs the documented install line, which pins the installed TensorFlow
   (``pip install <source> "tensorflow==<installed version>"``), and prints every package it
   added, removed or changed;
3. in a new process: ``import bitnets_tf``, builds a zoo model and fits one step; then runs
   ``bitnets-tf info`` (the console script, which names the stock TFLite runtime).

It fails (exit status 1) when the documented line replaced TensorFlow or the last step fails.
It downloads about 1 GB on first use (pip's cache makes later runs faster)::

    python scripts/colab_install_check.py --python python3.12 --tensorflow 2.20.0
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
FIT_ONE_STEP = """
from importlib.metadata import version
import bitnets_tf, numpy as np, tensorflow as tf
from bitnets_tf.zoo import BinaryNet
model = BinaryNet(input_shape=(28, 28, 1), num_classes=10, hidden_units=64)
model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
history = model.fit(np.zeros((8, 28, 28, 1), np.float32), np.zeros(8), epochs=1, verbose=0)
print(f"tensorflow {tf.__version__}, numpy {np.__version__}, tf-keras {version('tf_keras')}")
print(f"fit one step: loss {history.history['loss'][0]:.4f}")
"""


def run(command: list[str], capture: bool = False) -> str:
    print("$", " ".join(command), flush=True)
    result = subprocess.run(command, check=True, text=True, capture_output=capture)
    return result.stdout if capture else ""


def installed(pip: list[str]) -> dict[str, str]:
    listed = json.loads(run([*pip, "list", "--format", "json"], capture=True))
    return {package["name"].lower(): package["version"] for package in listed}


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None:
            lines.append(f"  + {name} {new}")
        elif new is None:
            lines.append(f"  - {name} {old}")
        else:
            lines.append(f"  ~ {name} {old} -> {new}")
    return lines


def dry_run_changes(pip: list[str], source: str, before: dict[str, str]) -> list[str]:
    """What ``pip install source`` would install, as changes to ``before``."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        run([*pip, "install", "-q", "--dry-run", "--report", str(report), source])
        planned = json.loads(report.read_text())["install"]
    wanted = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in planned}
    return [line for line in changes(before, {**before, **wanted}) if not line.startswith("  -")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="python3.12", help="interpreter for the venv")
    parser.add_argument("--tensorflow", default="2.20.0", help="the preinstalled TensorFlow")
    parser.add_argument("--source", default=str(REPOSITORY), help="what to pip install")
    parser.add_argument("--venv", help="venv directory (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        venv = Path(args.venv or Path(scratch) / "venv")
        run([args.python, "-m", "venv", str(venv)])
        python = str(venv / "bin" / "python")
        pip = [python, "-m", "pip", "--disable-pip-version-check"]
        run([*pip, "install", "-q", f"tensorflow=={args.tensorflow}", "numpy>=2"])
        before = installed(pip)
        print(f"\nColab-like start: tensorflow {before['tensorflow']}, numpy {before['numpy']}")

        print(f"\nA plain `pip install {args.source}` would change:")
        print("\n".join(dry_run_changes(pip, args.source, before)))

        pin = f"tensorflow=={before['tensorflow']}"
        print(f'\nThe documented line: pip install {args.source} "{pin}"')
        run([*pip, "install", "-q", args.source, pin])
        after = installed(pip)
        print("It changed:")
        print("\n".join(changes(before, after)))

        print("\nIn a new process:")
        run([python, "-c", FIT_ONE_STEP])
        run([str(venv / "bin" / "bitnets-tf"), "info"])
        kept, now = before["tensorflow"], after["tensorflow"]
        if now != kept:
            print(f"FAIL: tensorflow was replaced ({kept} -> {now})")
            return 1
        print(
            f"OK: tensorflow {after['tensorflow']} kept; numpy {before['numpy']} -> "
            f"{after['numpy']} (larq 0.14 requires numpy<2)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
