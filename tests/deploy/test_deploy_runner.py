"""bitnets_tf.deploy: metadata, `classify` / `bitnets-tf run`, `benchmark` / `bitnets-tf bench`
and their errors, on a tiny binary model converted to lce, int8 and float."""

import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from bitnets_tf import cli, data, layers
from bitnets_tf.converters import TARGETS, convert, read_metadata
from bitnets_tf.deploy import (
    DeploymentError,
    LatencyStats,
    LceRuntimeRequiredError,
    ModelMetadata,
    ModelRunner,
    benchmark,
    classify,
    deployment_metadata,
    edge,
    model_metadata,
    top_k,
)
from bitnets_tf.deploy.images import example_image
from bitnets_tf.tflite import interpreters

# lce files run on stock TFLite with bitnets-tf's kernels when they are built
LCE_FILE_RUNTIME = "tflite" if interpreters.bitnets_kernels_available() else "lce"
FASHION_LABELS = list(data.info("fashion_mnist").label_names)


def _tiny_model(input_shape=(28, 28, 1)) -> tf.keras.Model:
    weights = dict(kernel_quantizer="ste_sign", kernel_constraint="weight_clip", use_bias=False)
    return tf.keras.Sequential(
        [
            tf.keras.Input(input_shape),
            layers.QuantConv2D(8, 3, **weights),
            tf.keras.layers.BatchNormalization(),
            tf.keras.layers.MaxPool2D(),
            layers.QuantConv2D(
                16, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign", **weights
            ),
            tf.keras.layers.BatchNormalization(),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(10),
        ]
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{target: path} of the tiny model with Fashion-MNIST metadata, plus "bare" (no metadata)."""
    tf.keras.utils.set_random_seed(1)
    model = _tiny_model()
    directory = tmp_path_factory.mktemp("models")
    calibration = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype(np.float32)
    paths = {}
    for target in TARGETS:
        paths[target] = directory / f"tiny_{target}.tflite"
        metadata = deployment_metadata("fashion_mnist", target)
        convert(
            model, str(paths[target]), target, representative_data=calibration, metadata=metadata
        )
    paths["bare"] = directory / "tiny_bare.tflite"
    convert(model, str(paths["bare"]), target="float")
    return paths


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(path)
    return path


def test_metadata_round_trips_through_the_flatbuffer(models):
    stored = read_metadata(models["int8"])
    assert stored == deployment_metadata("fashion_mnist", "int8")
    meta = model_metadata(models["int8"])
    assert meta.labels == tuple(FASHION_LABELS)
    assert meta.input_mean == (127.5,) and meta.input_std == (127.5,)
    assert meta.input_shape == (28, 28, 1) and meta.target == "int8"
    assert model_metadata(models["bare"]) is None


def test_deployment_metadata_has_per_channel_normalisation_for_rgb_data():
    values = deployment_metadata("cifar10", "lce")
    assert values["input_shape"] == [32, 32, 3]
    assert len(values["input_mean"]) == 3 and values["labels"][0] == "airplane"
    assert json.loads(json.dumps(values)) == values


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda v: v.pop("input_std"), "lacks input_std"),
        (lambda v: v.update(input_shape=[28, 28]), "input_shape must be"),
        (lambda v: v.update(input_mean=[1.0, 2.0]), "input_mean has 2 values for an input with 1"),
        (lambda v: v.update(input_std=0), "input_std must be > 0"),
        (lambda v: v.update(labels="abc"), "labels must be a list of strings"),
        (lambda v: v.update(target="fp16"), "target must be one of"),
        (lambda v: v.update(output="softmax"), "output must be one of"),
    ],
)
def test_invalid_metadata_names_the_key(change, message):
    values = deployment_metadata("mnist", "float")
    change(values)
    with pytest.raises(DeploymentError, match=message):
        ModelMetadata.from_dict(values)


def test_every_target_gives_the_same_top_classes_with_label_names(models, photo):
    results = {target: classify(models[target], photo, top=3) for target in TARGETS}
    assert results["lce"].runtime == LCE_FILE_RUNTIME
    assert results["int8"].runtime == results["float"].runtime == "tflite"
    reference = [p.index for p in results["float"].predictions]
    for result in results.values():
        assert [p.index for p in result.predictions] == reference
        assert [p.label for p in result.predictions] == [FASHION_LABELS[i] for i in reference]
        probabilities = [p.probability for p in result.predictions]
        assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1
        assert result.notes == [
            "converted the RGB image to L",
            "resized the image from 30x40 to 28x28 (bilinear)",
        ]
        assert result.latency_ms > 0


def test_runner_output_matches_the_interpreter_on_the_preprocessed_image(models, photo):
    pixels = np.asarray(Image.open(photo).convert("L").resize((28, 28), Image.BILINEAR))
    x = ((pixels.astype(np.float32) - 127.5) / 127.5)[..., None]
    logits, _ = ModelRunner(models["float"]).run(x)
    result = classify(models["float"], photo, top=10)
    assert [p.index for p in result.predictions] == list(np.argsort(-logits, kind="stable"))
    assert result.predictions[0].score == pytest.approx(float(logits.max()))


def test_top_k_ranks_with_softmax_and_breaks_ties_by_index():
    ranked = top_k(np.array([1.0, 3.0, 3.0, 0.0]), 3, ["a", "b", "c"])
    assert [(p.index, p.label) for p in ranked] == [(1, "b"), (2, "c"), (0, "a")]
    assert ranked[0].probability == pytest.approx(np.exp(3) / (2 * np.exp(3) + np.e + 1))
    passthrough = top_k(np.array([0.2, 0.8]), 5, [], output="probabilities")
    assert [(p.label, p.probability) for p in passthrough] == [("class 1", 0.8), ("class 0", 0.2)]
    with pytest.raises(ValueError, match="top_k must be an integer >= 1"):
        top_k(np.zeros(3), 0)


def test_a_model_without_metadata_needs_mean_and_std(models, photo):
    with pytest.raises(DeploymentError, match="Pass --mean and --std"):
        classify(models["bare"], photo)
    result = classify(models["bare"], photo, top=2, mean=[127.5], std=[127.5])
    reference = classify(models["float"], photo, top=2)
    assert [p.index for p in result.predictions] == [p.index for p in reference.predictions]
    assert result.predictions[0].label.startswith("class ")


def test_grayscale_image_feeds_an_rgb_model_and_four_channel_models_are_refused(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.full((32, 32), 200, np.uint8)).save(path)
    rgb = tmp_path / "rgb.tflite"
    metadata = deployment_metadata("cifar10", "float")
    convert(_tiny_model((32, 32, 3)), str(rgb), "float", verify=False, metadata=metadata)
    assert classify(rgb, path).notes == ["converted the L image to RGB"]
    four = tmp_path / "four.tflite"
    metadata = {"labels": [], "input_mean": 0, "input_std": 1, "input_shape": [32, 32, 4]}
    convert(_tiny_model((32, 32, 4)), str(four), target="float", verify=False, metadata=metadata)
    with pytest.raises(DeploymentError, match="takes 4-channel input"):
        classify(four, path)


def test_metadata_of_another_model_is_detected(models, photo, tmp_path):
    wrong = tmp_path / "wrong.tflite"
    metadata = deployment_metadata("cifar10", "float")
    convert(_tiny_model(), str(wrong), "float", verify=False, metadata=metadata)
    with pytest.raises(DeploymentError, match="metadata belongs to another model"):
        classify(wrong, photo)


def test_missing_and_corrupt_files_raise_clear_errors(models, photo, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No such \.tflite file"):
        classify(tmp_path / "missing.tflite", photo)
    with pytest.raises(FileNotFoundError, match=r"No such image file.*boot\.png"):
        classify(models["float"], tmp_path / "missing.png")
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a picture")
    with pytest.raises(DeploymentError, match="is not a readable image"):
        classify(models["float"], not_an_image)
    truncated_image = tmp_path / "truncated.png"
    truncated_image.write_bytes(photo.read_bytes()[:200])
    with pytest.raises(DeploymentError, match="is not a readable image"):
        classify(models["float"], truncated_image)
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        classify(garbage, photo)


def test_an_lce_model_on_the_stock_runtime_says_what_to_do(models, monkeypatch):
    monkeypatch.setattr(interpreters, "bitnets_kernels_available", lambda: False)
    with pytest.raises(LceRuntimeRequiredError, match=r"--runtime lce.*--target int8"):
        ModelRunner(models["lce"], runtime="tflite")
    assert ModelRunner(models["lce"]).runtime == "lce"  # auto falls back to LCE's interpreter
    monkeypatch.setattr(interpreters, "lce_available", lambda: False)
    with pytest.raises(LceRuntimeRequiredError, match="LceBconv2d"):
        ModelRunner(models["lce"])  # auto, but larq-compute-engine is not installed
    assert ModelRunner(models["int8"]).runtime == "tflite"


def test_runner_checks_input_shape_and_options(models):
    runner = ModelRunner(models["int8"])
    assert runner.input.shape == (28, 28, 1)
    with pytest.raises(DeploymentError, match=r"the model takes \(28, 28, 1\)"):
        runner.run(np.zeros((28, 28, 3), np.float32))
    with pytest.raises(ValueError, match="num_threads"):
        ModelRunner(models["int8"], num_threads=0)
    with pytest.raises(ValueError, match="runtime must be one of"):
        ModelRunner(models["int8"], runtime="gpu")


def test_benchmark_reports_size_operators_and_latency_per_thread_count(models):
    result = benchmark(models["lce"], threads=(1, 2), runs=5, warmup=1)
    assert result.runtime == LCE_FILE_RUNTIME
    assert result.size_bytes == models["lce"].stat().st_size
    assert result.operators["LceBconv2d"] == 1 and "LceQuantize" in result.custom_operators
    assert set(result.latency) == {1, 2}
    for stats in result.latency.values():
        assert stats.runs == 5 and 0 < stats.min_ms <= stats.median_ms <= stats.p90_ms
    with pytest.raises(ValueError, match="runs must be an integer >= 1"):
        benchmark(models["float"], runs=0)


def test_latency_stats_are_the_median_and_nearest_rank_p90():
    seconds = [s / 1e3 for s in (5, 1, 4, 2, 3, 10, 6, 7, 9, 8)]  # as in the JVM test
    stats = LatencyStats.from_seconds(seconds)
    assert (stats.median_ms, stats.p90_ms, stats.min_ms) == pytest.approx((5.5, 9.0, 1.0))
    assert LatencyStats.from_seconds([*seconds, 0.011]).p90_ms == pytest.approx(10.0)


def test_run_and_bench_commands(models, photo, capsys):
    assert cli.main(["run", str(models["lce"]), "--input", str(photo), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "note: converted the RGB image to L" in out
    assert out.count("%") == 2 and "latency:" in out and f"({LCE_FILE_RUNTIME}, 1 thread(s))" in out
    bench = ["bench", str(models["int8"]), str(models["lce"]), "--threads", "1,2", "--runs", "3"]
    assert cli.main([*bench, "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    assert "operators:" in out and "LceBconv2d x1" in out
    assert out.count("2 thread(s): median") == 2


def test_commands_report_bad_input_in_one_line(models, photo, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(interpreters, "bitnets_kernels_available", lambda: False)
    assert cli.main(["run", str(tmp_path / "x.tflite"), "--input", str(photo)]) == 2
    assert "bitnets-tf run: error: No such .tflite file" in capsys.readouterr().err
    stock = ["run", str(models["lce"]), "--input", str(photo), "--runtime", "tflite"]
    assert cli.main(stock) == 2
    assert "needs larq-compute-engine operators" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["bench", str(models["int8"]), "--threads", "0"])
    assert "expected integers >= 1" in capsys.readouterr().err


def test_standalone_edge_reader_agrees_with_the_converters_reader(models, tmp_path):
    for path in models.values():
        assert edge.read_metadata(path.read_bytes()) == read_metadata(path)
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        edge.read_metadata(b"\x89PNG....")
    model = models["int8"].read_bytes()
    json_at = model.index(b'"input_mean"')
    with pytest.raises(ValueError, match=r"corrupt TFLite flatbuffer|past the end"):
        edge.read_metadata(model[:json_at])


def test_standalone_edge_script_prints_what_bitnets_tf_run_prints(models, photo, capsys):
    assert edge.main([str(models["int8"]), "--input", str(photo), "--top", "3", "--runs", "2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    expected = classify(models["int8"], photo, top=3)
    assert printed[:2] == [f"note: {note}" for note in expected.notes]
    for line, prediction in zip(printed[2:5], expected.predictions, strict=True):
        assert f" {prediction.label}  {100 * prediction.probability:.2f} %" in line
    assert printed[5].startswith("latency: median")


@pytest.mark.skipif(
    not interpreters.bitnets_kernels_available(), reason="bitnets-tf's kernels are not built"
)
def test_standalone_edge_script_runs_lce_files_with_the_kernels_as_a_delegate(
    models, photo, capsys, monkeypatch
):
    from bitnets_tf import runtime

    expected = classify(models["lce"], photo, top=3)
    argv = [str(models["lce"]), "--input", str(photo), "--top", "3", "--runs", "1"]
    monkeypatch.setattr(runtime, "available", lambda: False)  # a device without bitnets-tf
    with pytest.raises(SystemExit) as stop:
        edge.main(argv)
    assert stop.value.code == 2
    assert "--delegate libbitnets_lce.so" in capsys.readouterr().err
    assert edge.main([*argv, "--delegate", runtime.delegate_path()]) == 0
    printed = capsys.readouterr().out.splitlines()
    for line, prediction in zip(printed[-4:-1], expected.predictions, strict=True):
        assert f" {prediction.label}  {100 * prediction.probability:.2f} %" in line


def test_arm_top1_agreement_accepts_exact_ties_only():
    from bitnets_tf.deploy.arm import top1_agreement

    reference = np.array([[3.0, 3.0, 1.0], [5.0, 1.0, 0.0]])
    tied = np.array([[3.0, 3.0 + 1e-6, 1.0], [5.0, 1.0, 0.0]])  # picks class 1: tied with 0
    assert top1_agreement(tied, reference) == 1.0
    wrong = np.array([[3.0, 3.0, 1.0], [4.0, 4.5, 0.0]])
    assert top1_agreement(wrong, reference) == 0.5


def test_run_boot_png_uses_the_shipped_example_image(models, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no boot.png here
    assert cli.main(["run", str(models["int8"]), "--input", "boot.png", "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "note: boot.png: the example image shipped with bitnets-tf" in out
    shipped = example_image("boot.png")
    with Image.open(shipped) as image:
        assert image.size == (28, 28) and image.mode == "L"
    assert shipped.stat().st_size < 1000
    expected = classify(models["int8"], shipped, top=1).predictions
    assert classify(models["int8"], "boot.png", top=1).predictions == expected


def test_a_local_file_named_like_the_example_wins(models, photo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "boot.png").write_bytes(photo.read_bytes())
    result = classify(models["float"], "boot.png", top=1)
    assert not any("shipped" in note for note in result.notes)
    assert "converted the RGB image to L" in " ".join(result.notes)
