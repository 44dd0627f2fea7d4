"""Bad input across the Python API and the CLI: the exception type (or exit status), a
message that names the argument or file, and nothing left behind (no output file, no
temporary file or directory).

Exit statuses (bitnets_tf.commands._errors): 0 success, 1 the work failed, 2 bad arguments or
input files.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf import cli, data, layers
from bitnets_tf.converters import ConversionError, convert
from bitnets_tf.converters.files import UnsafeModelFileError
from bitnets_tf.data.idx import IdxFormatError, read_idx
from bitnets_tf.deploy.errors import DeploymentError
from bitnets_tf.deploy.interpreters import ModelRunner
from bitnets_tf.tflite.flatbuffer import load_flatbuffer
from bitnets_tf.tflite.metadata import read_metadata
from bitnets_tf.zoo import create_model

SHAPE = (6, 6, 1)


def _binary_model() -> tf.keras.Model:
    inputs = tf.keras.Input(SHAPE, name="image")
    x = layers.QuantConv2D(4, 3, kernel_quantizer="ste_sign", use_bias=False)(inputs)
    x = tf.keras.layers.BatchNormalization()(x)
    x = layers.QuantConv2D(
        4, 3, input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=False
    )(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(3)(x))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Good and broken input files, made once."""
    root = tmp_path_factory.mktemp("inputs")
    model = _binary_model()
    good = {"keras": root / "model.keras", "h5": root / "model.h5", "sm": root / "saved"}
    for path in good.values():
        model.save(str(path))
    tflite = convert(model, target="float", float_reference=False, verify=False).flatbuffer
    (root / "model.tflite").write_bytes(tflite)
    damaged = bytearray(tflite)
    for offset in range(12, 64, 4):  # overwrite table offsets: a bit-flipped file
        damaged[offset : offset + 4] = b"\xff\xff\xff\x7f"
    (root / "damaged.tflite").write_bytes(bytes(damaged))
    (root / "truncated.tflite").write_bytes(tflite[: len(tflite) // 3])
    (root / "notzip.keras").write_bytes(b"PK not really a zip")
    (root / "model.txt").write_text("hello")
    model.save_weights(str(root / "w.weights.h5"))
    raw = (root / "w.weights.h5").read_bytes()
    (root / "cut.weights.h5").write_bytes(raw[: len(raw) // 2])
    raw = good["keras"].read_bytes()
    (root / "cut.keras").write_bytes(raw[: len(raw) // 2])
    x = np.random.default_rng(0).normal(size=(4, *SHAPE)).astype(np.float32)
    x_inf = x.copy()
    x_inf[2, 3, 1, 0] = np.inf
    np.save(root / "good.npy", x)
    np.save(root / "inf.npy", x_inf)
    np.save(root / "empty.npy", x[:0])
    np.save(root / "strings.npy", np.array(["a", "b"]))
    from PIL import Image

    Image.fromarray(np.zeros((6, 6), np.uint8)).save(root / "image.png")
    return {**good, **{p.name: p for p in root.iterdir()}}


@pytest.fixture(autouse=True)
def _private_temp_dir(tmp_path, monkeypatch):
    """Every temporary file or directory goes to tmp_path/tmp, which must end up empty (but
    for the module files TensorFlow's autograph writes there and removes at exit)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    yield
    left = [name for name in os.listdir(temp) if not name.startswith("__autograph_generated")]
    assert left == [], "temporary files were left behind"


def _x(samples=4):
    return np.random.default_rng(1).normal(size=(samples, *SHAPE)).astype(np.float32)


def _with(value, index=(0, 2, 2, 0)):
    x = _x()
    x[index] = value
    return x


def _idx(path: Path, header_dims, payload: bytes, magic=0x0803):
    header = np.array([magic, *header_dims], ">u4").tobytes()
    with gzip.open(path, "wb") as file:
        file.write(header + payload)
    return path


# (id, call(files, out_dir), exception type, text the message must contain)
API_CASES = [
    (
        "nan-sample",
        lambda f, o: convert(f["keras"], o / "m.tflite", sample_inputs=_with(np.nan)),
        ValueError,
        "`sample_inputs` holds nan at index (0, 2, 2, 0)",
    ),
    (
        "inf-sample",
        lambda f, o: convert(f["keras"], o / "m.tflite", sample_inputs=_with(np.inf)),
        ValueError,
        "`sample_inputs` holds inf",
    ),
    (
        "inf-representative",
        lambda f, o: convert(
            f["keras"], o / "m.tflite", "int8", representative_data=_with(-np.inf, (3, 0, 0, 0))
        ),
        ValueError,
        "`representative_data` holds -inf at index (3, 0, 0, 0)",
    ),
    (
        "float64-overflow",
        lambda f, o: convert(
            f["keras"], o / "m.tflite", sample_inputs=_x().astype(np.float64) * 1e300
        ),
        ValueError,
        "`sample_inputs` holds",
    ),
    (
        "empty-sample",
        lambda f, o: convert(f["keras"], o / "m.tflite", sample_inputs=_x(0)),
        ValueError,
        "`sample_inputs` holds no samples",
    ),
    (
        "empty-representative",
        lambda f, o: convert(f["keras"], o / "m.tflite", "int8", representative_data=_x(0)),
        ValueError,
        "`representative_data` holds no samples",
    ),
    (
        "wrong-shape",
        lambda f, o: convert(f["keras"], o / "m.tflite", sample_inputs=_x()[:, :3]),
        ValueError,
        "sample_inputs has shape",
    ),
    (
        "missing-output-dir",
        lambda f, o: convert(f["keras"], o / "no" / "m.tflite"),
        FileNotFoundError,
        "does not exist",
    ),
    ("output-is-dir", lambda f, o: convert(f["keras"], o), IsADirectoryError, "is a directory"),
    (
        "output-in-proc",
        lambda f, o: convert(f["keras"], "/proc/m.tflite"),
        PermissionError,
        "/proc/m.tflite",
    ),
    (
        "unknown-target",
        lambda f, o: convert(f["keras"], o / "m.tflite", target="int4"),
        ValueError,
        "int4",
    ),
    (
        "missing-model",
        lambda f, o: convert(o / "none.keras", o / "m.tflite"),
        FileNotFoundError,
        "none.keras",
    ),
    (
        "h5-needs-opt-in",
        lambda f, o: convert(f["h5"], o / "m.tflite"),
        UnsafeModelFileError,
        "allow_unsafe=True",
    ),
    (
        "savedmodel-needs-opt-in",
        lambda f, o: convert(f["sm"], o / "m.tflite"),
        UnsafeModelFileError,
        "SavedModel directory",
    ),
    (
        "corrupt-keras",
        lambda f, o: convert(f["notzip.keras"], o / "m.tflite"),
        ValueError,
        "notzip.keras",
    ),
    ("wrong-suffix", lambda f, o: convert(f["model.txt"], o / "m.tflite"), ValueError, "model.txt"),
    ("not-a-model", lambda f, o: convert(42, o / "m.tflite"), TypeError, "int"),
    (
        "metadata-not-json",
        lambda f, o: convert(f["keras"], o / "m.tflite", metadata={"a": {1}}),
        TypeError,
        "metadata",
    ),
    (
        "weight-quantizer-as-input",
        lambda f, o: layers.QuantConv2D(2, 3, input_quantizer="xnor_weight_scale"),
        ValueError,
        "`input_quantizer`",
    ),
    (
        "magnitude-aware-as-input",
        lambda f, o: layers.QuantDense(2, input_quantizer="magnitude_aware_sign"),
        ValueError,
        "MagnitudeAwareSign",
    ),
    (
        "unknown-quantizer",
        lambda f, o: layers.QuantDense(2, kernel_quantizer="sgn"),
        ValueError,
        "kernel_quantizer",
    ),
    (
        "runner-nan",
        lambda f, o: ModelRunner(f["model.tflite"]).run(_with(np.nan)[0]),
        DeploymentError,
        "`sample` holds nan",
    ),
    ("runner-damaged", lambda f, o: ModelRunner(f["damaged.tflite"]), ValueError, "damaged.tflite"),
    (
        "runner-truncated",
        lambda f, o: ModelRunner(f["truncated.tflite"]),
        ValueError,
        "truncated.tflite",
    ),
    (
        "flatbuffer-damaged",
        lambda f, o: load_flatbuffer(f["damaged.tflite"]),
        ValueError,
        "corrupt TFLite flatbuffer",
    ),
    (
        "metadata-damaged",
        lambda f, o: read_metadata(f["damaged.tflite"]),
        ValueError,
        "damaged.tflite",
    ),
    (
        "flatbuffer-missing",
        lambda f, o: load_flatbuffer(o / "x.tflite"),
        FileNotFoundError,
        "x.tflite",
    ),
    (
        "weights-truncated",
        lambda f, o: create_model(
            "binarynet_mlp", input_shape=SHAPE, num_classes=3, weights=f["cut.weights.h5"]
        ),
        ValueError,
        "cut.weights.h5",
    ),
    (
        "weights-truncated-keras",
        lambda f, o: create_model(
            "binarynet_mlp", input_shape=SHAPE, num_classes=3, weights=f["cut.keras"]
        ),
        ValueError,
        "cut.keras",
    ),
    (
        "idx-gzip-bomb",
        lambda f, o: read_idx(_idx(o / "bomb-idx3-ubyte.gz", (1, 2, 2), bytes(50_000_000)), 3),
        IdxFormatError,
        "bomb-idx3-ubyte.gz",
    ),
    (
        "idx-absurd-header",
        lambda f, o: read_idx(_idx(o / "huge-idx3-ubyte.gz", (60000, 60000, 60000), b""), 3),
        IdxFormatError,
        "more than the",
    ),
    (
        "idx-truncated",
        lambda f, o: read_idx(_idx(o / "cut-idx3-ubyte.gz", (2, 2, 2), bytes(5)), 3),
        IdxFormatError,
        "truncated",
    ),
    (
        "idx-wrong-magic",
        lambda f, o: read_idx(_idx(o / "labels-idx1-ubyte.gz", (2, 2, 2), bytes(8)), 1),
        IdxFormatError,
        "magic number",
    ),
    (
        "load-negative-epoch",
        lambda f, o: data.load("mnist", "train", 8, epoch=-1),
        ValueError,
        "`epoch`",
    ),
    (
        "load-epochs-before-epoch",
        lambda f, o: data.load("mnist", "train", 8, epoch=3, epochs=3),
        ValueError,
        "`epochs`",
    ),
    ("load-batch-size", lambda f, o: data.load("mnist", "train", 0), ValueError, "batch_size"),
]


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [pytest.param(*case[1:], id=case[0]) for case in API_CASES],
)
def test_api_rejects_bad_input(files, tmp_path, call, error, text):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(error) as raised:
        call(files, out)
    assert text in str(raised.value)
    assert not isinstance(raised.value, ConversionError)  # found before converting
    leftovers = [p.name for p in out.iterdir() if not p.name.endswith(("ubyte.gz",))]
    assert leftovers == []


def _idx_data_dir(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 16), ("t10k", 8)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8).tobytes()
        _idx(root / f"{prefix}-images-idx3-ubyte.gz", (count, 28, 28), images)
        labels = rng.integers(0, 10, count, dtype=np.uint8).tobytes()
        _idx(root / f"{prefix}-labels-idx1-ubyte.gz", (count,), labels, magic=0x0801)
    return root


def _train(f, o, *extra):
    """A train command line on the IDX files the test writes beside ``o``."""
    return [
        "train",
        "--model",
        "binarynet_mlp",
        "--dataset",
        "mnist",
        "--epochs",
        "1",
        "--data-dir",
        str(o.parent / "idx"),
        "--out",
        str(o / "run"),
        "--verbose",
        "0",
        *extra,
    ]


# (id, argv(files, out_dir), exit status, text stderr must contain)
CLI_CASES = [
    (
        "convert-inf-npy",
        lambda f, o: [
            "convert",
            str(f["keras"]),
            "-o",
            str(o / "m.tflite"),
            "--sample-inputs",
            str(f["inf.npy"]),
        ],
        2,
        "inf.npy` holds inf at index (2, 3, 1, 0)",
    ),
    (
        "convert-inf-representative",
        lambda f, o: [
            "convert",
            str(f["keras"]),
            "-o",
            str(o / "m.tflite"),
            "--target",
            "int8",
            "--representative-data",
            str(f["inf.npy"]),
        ],
        2,
        "--representative-data",
    ),
    (
        "convert-empty-npy",
        lambda f, o: [
            "convert",
            str(f["keras"]),
            "-o",
            str(o / "m.tflite"),
            "--sample-inputs",
            str(f["empty.npy"]),
        ],
        2,
        "empty.npy",
    ),
    (
        "convert-string-npy",
        lambda f, o: [
            "convert",
            str(f["keras"]),
            "-o",
            str(o / "m.tflite"),
            "--sample-inputs",
            str(f["strings.npy"]),
        ],
        2,
        "strings.npy",
    ),
    (
        "convert-missing-npy",
        lambda f, o: [
            "convert",
            str(f["keras"]),
            "-o",
            str(o / "m.tflite"),
            "--sample-inputs",
            str(o / "none.npy"),
        ],
        2,
        "none.npy",
    ),
    (
        "convert-missing-model",
        lambda f, o: ["convert", str(o / "none.keras"), "-o", str(o / "m.tflite")],
        2,
        "none.keras",
    ),
    (
        "convert-h5",
        lambda f, o: ["convert", str(f["h5"]), "-o", str(o / "m.tflite")],
        2,
        "--allow-unsafe",
    ),
    (
        "convert-savedmodel",
        lambda f, o: ["convert", str(f["sm"]), "-o", str(o / "m.tflite")],
        2,
        "--allow-unsafe",
    ),
    (
        "convert-to-proc",
        lambda f, o: ["convert", str(f["keras"]), "-o", "/proc/m.tflite"],
        2,
        "/proc/m.tflite",
    ),
    (
        "convert-bad-metadata",
        lambda f, o: [
            "convert",
            str(f["keras"]),
            "-o",
            str(o / "m.tflite"),
            "--metadata",
            "{not json",
        ],
        2,
        "--metadata",
    ),
    (
        "convert-bad-shape",
        lambda f, o: [
            "convert",
            str(f["keras"]),
            "-o",
            str(o / "m.tflite"),
            "--input-shape",
            "6,x",
        ],
        2,
        "--input-shape",
    ),
    ("audit-h5", lambda f, o: ["audit", str(f["h5"])], 2, "--allow-unsafe"),
    ("audit-missing", lambda f, o: ["audit", str(o / "none.keras")], 2, "none.keras"),
    ("inspect-damaged", lambda f, o: ["inspect", str(f["damaged.tflite"])], 2, "damaged.tflite"),
    (
        "inspect-truncated",
        lambda f, o: ["inspect", str(f["truncated.tflite"])],
        2,
        "truncated.tflite",
    ),
    (
        "run-damaged",
        lambda f, o: [
            "run",
            str(f["damaged.tflite"]),
            "--input",
            str(f["image.png"]),
            "--mean",
            "0",
            "--std",
            "1",
        ],
        2,
        "damaged.tflite",
    ),
    (
        "run-missing-image",
        lambda f, o: [
            "run",
            str(f["model.tflite"]),
            "--input",
            str(o / "none.png"),
            "--mean",
            "0",
            "--std",
            "1",
        ],
        2,
        "none.png",
    ),
    ("bench-damaged", lambda f, o: ["bench", str(f["damaged.tflite"])], 2, "damaged.tflite"),
    (
        "train-unknown-model-arg",
        lambda f, o: _train(f, o, "--model-arg", "foo=1"),
        2,
        "--model-arg",
    ),
    ("train-bad-model-arg", lambda f, o: _train(f, o, "--model-arg", "foo"), 2, "KEY=VALUE"),
    ("train-zero-epochs", lambda f, o: [*_train(f, o)[:6], "0", *_train(f, o)[7:]], 2, "--epochs"),
    (
        "train-out-in-proc",
        lambda f, o: [*_train(f, o)[:-3], "/proc/run", "--verbose", "0"],
        2,
        "/proc/run",
    ),
    ("data-info-unknown", lambda f, o: ["data", "info", "imagenet7"], 2, "imagenet7"),
]


@pytest.mark.parametrize(
    ("argv", "status", "text"),
    [pytest.param(*case[1:], id=case[0]) for case in CLI_CASES],
)
def test_cli_rejects_bad_input(files, tmp_path, capsys, argv, status, text):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "idx").mkdir()
    _idx_data_dir(tmp_path / "idx")
    assert cli.main(argv(files, out)) == status
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err
    assert err.startswith("bitnets-tf ")
    assert [p.name for p in out.iterdir()] in ([], ["run"])
    if (out / "run").exists():  # train validated its options before writing anything
        assert sorted(p.name for p in (out / "run").iterdir()) == []


def test_the_matrix_covers_at_least_40_kinds():
    assert len(API_CASES) + len(CLI_CASES) >= 40


def test_unwritable_output_is_found_before_converting(files, monkeypatch):
    import bitnets_tf.converters.api as api

    monkeypatch.setattr(api, "_prepared_model", lambda *a: pytest.fail("model was loaded"))
    with pytest.raises(PermissionError):
        convert(files["keras"], "/proc/model.tflite")


def test_written_files_honour_the_umask(files, tmp_path):
    from bitnets_tf.converters.files import write_atomically

    for mask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        previous = os.umask(mask)
        try:
            write_atomically(tmp_path / f"{mask}.bin", b"x")
        finally:
            os.umask(previous)
        assert (tmp_path / f"{mask}.bin").stat().st_mode & 0o777 == mode


def test_convert_writes_a_0644_file(files, tmp_path):
    previous = os.umask(0o022)
    try:
        convert(files["keras"], tmp_path / "m.tflite", target="float", float_reference=False)
    finally:
        os.umask(previous)
    assert (tmp_path / "m.tflite").stat().st_mode & 0o777 == 0o644


def test_opted_in_h5_and_savedmodel_load(files, tmp_path):
    for key in ("h5", "sm"):
        result = convert(files[key], target="float", float_reference=False, allow_unsafe=True)
        assert result.report.verified


def test_logging_is_restored_exactly_after_convert(files):
    import logging

    from absl import logging as absl_logging

    root = logging.getLogger()
    tf_logger = logging.getLogger("tensorflow")
    before = (
        list(root.handlers),
        root.level,
        tf_logger.level,
        list(tf_logger.handlers),
        absl_logging.get_verbosity(),
    )
    convert(files["keras"], target="float", float_reference=False)
    with pytest.raises(ValueError):
        convert(files["keras"], sample_inputs=_with(np.nan))
    after = (
        list(root.handlers),
        root.level,
        tf_logger.level,
        list(tf_logger.handlers),
        absl_logging.get_verbosity(),
    )
    assert after == before
    logging.getLogger("bitnets-test").warning("logging still works")  # no closed stream


def test_audit_of_a_function_activation(capsys):
    inputs = tf.keras.Input((4,))
    outputs = tf.keras.layers.Activation(tf.math.sign)(tf.keras.layers.Dense(3)(inputs))
    from bitnets_tf.converters import audit_model

    audit = audit_model(tf.keras.Model(inputs, outputs))
    assert "TF ops" in audit.table()


def test_metadata_cli_file_error_names_it(files, tmp_path, capsys):
    status = cli.main(
        [
            "convert",
            str(files["keras"]),
            "-o",
            str(tmp_path / "m.tflite"),
            "--metadata",
            str(tmp_path / "meta.json"),
        ]
    )
    assert status == 2 and "meta.json" in capsys.readouterr().err
