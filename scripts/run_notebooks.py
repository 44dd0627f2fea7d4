"""Execute every notebook in examples/ top to bottom, offline, and fail on any error.

Runs each notebook with nbclient in a fresh kernel (this interpreter's ``python3`` kernel) with
``BITNETS_NOTEBOOK_QUICK=1`` (small training runs; ``--full``: the notebooks' own settings),
logs every cell as it finishes (number, execution count, seconds), prints the output of the
cells tagged ``summary`` (the final accuracies) and writes the executed notebooks, outputs
included (tidied: :func:`tidy_outputs`), to ``--out``. Data comes from local IDX
files: ``$BITNETS_TF_DATA_DIR`` if set, else ``../shared/data`` beside the clone if it exists,
else Debian's ``dataset-fashion-mnist`` package::

    pip install -e ".[notebooks]"
    python scripts/run_notebooks.py --out notebook-outputs

Exit status 1 when a notebook raises (the failing cell and its error are printed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from bitnets_tf_cli import is_startup_noise

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_DATA = REPOSITORY.parent / "shared" / "data"
CELL_TIMEOUT = 1200  # seconds; a quick cell takes well under a minute on two cores


class LoggingClient(NotebookClient):
    """A NotebookClient that prints one line per executed cell."""

    def __init__(self, notebook, name: str, **kwargs):
        super().__init__(notebook, **kwargs)
        self.name = name

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        start = time.perf_counter()
        try:
            return await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        finally:
            if cell.cell_type == "code":
                seconds = time.perf_counter() - start
                print(
                    f"{self.name}: cell {cell_index + 1}/{len(self.nb.cells)} "
                    f"[{cell.get('execution_count')}] {seconds:.1f} s",
                    flush=True,
                )


def cell_text(cell) -> str:
    """The stream and text/plain outputs of a code cell."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"] + "\n")
    return "".join(parts)


def as_displayed(text: str) -> str:
    """``text`` as a terminal shows it: each line only after its last carriage return (Keras'
    progress bar redraws itself with backspaces and ``\r``)."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def tidy_outputs(notebook) -> None:
    """Store each cell's consecutive stream outputs as one, as displayed (the last state of
    progress bars), without TensorFlow's native start-up lines on stderr (what the kernel's
    process printed, not the notebook's code)."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            previous = outputs[-1] if outputs else None
            if (
                output.output_type == "stream"
                and previous is not None
                and previous.output_type == "stream"
                and previous.name == output.name
            ):
                previous.text += output.text
            else:
                outputs.append(output)
        for output in outputs:
            if output.output_type == "stream":
                text = as_displayed(output.text)
                if output.name == "stderr":
                    lines = text.splitlines(keepends=True)
                    text = "".join(line for line in lines if not is_startup_noise(line))
                output.text = text
        cell.outputs = [o for o in outputs if o.output_type != "stream" or o.text.strip()]


def run_notebook(path: Path, out: Path, work: Path) -> bool:
    notebook = nbformat.read(path, as_version=4)
    name = path.stem
    work.mkdir(parents=True, exist_ok=True)
    client = LoggingClient(
        notebook,
        name,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
        ok = True
    except CellExecutionError as error:
        print(f"{name}: FAILED\n{error}", flush=True)
        ok = False
    out.mkdir(parents=True, exist_ok=True)
    tidy_outputs(notebook)
    nbformat.write(notebook, out / path.name)
    code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    for cell in notebook.cells:
        if "summary" in cell.get("metadata", {}).get("tags", []):
            print(f"{name}: summary\n{cell_text(cell).rstrip()}", flush=True)
    status = "OK" if ok else "FAILED"
    print(
        f"{name}: {status}, {code_cells} code cells in {time.perf_counter() - start:.0f} s; "
        f"executed notebook: {out / path.name}",
        flush=True,
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: examples/*.ipynb")
    parser.add_argument("--out", type=Path, default=Path("notebook-outputs"))
    parser.add_argument(
        "--full", action="store_true", help="the notebooks' full settings (no quick mode)"
    )
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((REPOSITORY / "examples").glob("*.ipynb"))
    os.environ["BITNETS_NOTEBOOK_QUICK"] = "0" if args.full else "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "BITNETS_TF_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["BITNETS_TF_DATA_DIR"] = str(SHARED_DATA)
    print(f"data: {os.environ.get('BITNETS_TF_DATA_DIR', 'Debian package directories')}")
    results = [run_notebook(path, args.out, args.out / "work" / path.stem) for path in notebooks]
    print(f"{sum(results)}/{len(results)} notebooks ran without errors", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
