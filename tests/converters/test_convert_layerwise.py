"""Layer-by-layer verification.

- A corrupted constant in a converted file (a folded threshold, an output multiplier, a bias, a
  padding value, a channel order) is caught and the layer and operator are named.
- Every zoo model as a user has it — a softmax head, fitted for a few steps — converts to
  ``lce``, ``float`` and ``int8`` and verifies layer by layer (sign flips only within float
  rounding); the written file is re-run here independently of the converter and its logits
  compared with Keras's. The float and int8 cases are marked slow.
"""

import numpy as np
import pytest
import tensorflow as tf
from support.convert_models import file_logits, reactnet_block
from tensorflow.lite.tools import flatbuffer_utils

from bitnets_tf.converters import DEFAULT_TOLERANCES, convert
from bitnets_tf.converters.cloning import clone_model
from bitnets_tf.converters.int8 import convert_int8
from bitnets_tf.converters.layerwise import verify_file
from bitnets_tf.tflite import flatbuffer
from bitnets_tf.tflite.batch import run_lce, run_tflite
from bitnets_tf.zoo import create_model

RUNNERS = {"lce": run_lce, "float": run_tflite, "int8": run_tflite}


def _inputs(model, count, seed):
    shape = tuple(model.inputs[0].shape[1:])
    return np.random.default_rng(seed).standard_normal((count, *shape)).astype(np.float32)


@pytest.fixture(scope="module")
def block():
    """A ReActNet block fitted for a few steps, converted to every target (int8: the
    flatbuffer and where its tensors stand for Keras's)."""
    tf.keras.utils.set_random_seed(0)
    model = reactnet_block()
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = _inputs(model, 64, seed=1)
    model.fit(x, np.arange(64) % 10, batch_size=16, epochs=1, verbose=0)
    converted = {
        target: convert(model, target=target, float_reference=False, progress=False).flatbuffer
        for target in ("lce", "float")
    }
    int8 = convert_int8(clone_model(model), [[sample[None]] for sample in x[:32]])
    assert not int8.int8_layers  # the residual stream and the head stay float32
    converted["int8"] = int8
    return model, converted


def _names(model_bytes):
    return {t.index: t.name for t in flatbuffer.tensors(model_bytes)}


def _layer_of(name: str) -> str:
    return name.split(";")[0].split("/")[1]


def _mutated(model_bytes, tensor, change):
    graph = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    info = graph.subgraphs[0].tensors[tensor]
    dtype = np.float32 if info.type == 0 else np.int32
    buffer = graph.buffers[info.buffer]
    values = np.frombuffer(bytes(buffer.data), dtype).copy()
    change(values)
    buffer.data = np.frombuffer(values.tobytes(), np.uint8)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(graph))


def _operators(model_bytes, name):
    return [op for op in flatbuffer.operators(model_bytes) if op.name == name]


def _shift(values):
    values[3 % len(values)] += 0.5


def _lce_mutations(model_bytes):
    """(what, mutated flatbuffer, layer that must be blamed, operator that must be named)."""
    names = _names(model_bytes)
    quantize = _operators(model_bytes, "LceQuantize")[1]  # the 1×1 conv's RSign
    (subtract,) = [
        op for op in flatbuffer.operators(model_bytes) if quantize.inputs[0] in op.outputs
    ]
    bconv = _operators(model_bytes, "LceBconv2d")[0]
    bconv_layer = _layer_of(names[bconv.outputs[0]])
    quantize_layer = _layer_of(names[quantize.outputs[0]])

    def swap_rows(values):  # output channels 0 and 1 of the bitpacked filter
        rows = values.reshape(bconv_filter_shape[0], -1)
        rows[[0, 1]] = rows[[1, 0]]

    bconv_filter_shape = flatbuffer.tensors(model_bytes)[bconv.inputs[1]].shape
    return [
        (
            "threshold",
            _mutated(model_bytes, subtract.inputs[1], _shift),
            quantize_layer,
            "LceQuantize",
        ),
        (
            "multiplier",
            _mutated(model_bytes, bconv.inputs[2], lambda v: v.__imul__(1.1)),
            bconv_layer,
            "LceBconv2d",
        ),
        ("bias", _mutated(model_bytes, bconv.inputs[3], _shift), bconv_layer, "LceBconv2d"),
        (
            "channel order",
            _mutated(model_bytes, bconv.inputs[1], swap_rows),
            bconv_layer,
            "LceBconv2d",
        ),
    ]


def test_every_kind_of_corruption_is_caught_and_named(block):
    model, converted = block
    x = _inputs(model, 8, seed=2)
    for what, mutated, layer, op in _lce_mutations(converted["lce"]):
        result = verify_file(model, mutated, [x], run_lce)
        assert not result.agrees, what
        assert (result.culprit.layer, result.culprit.op) == (layer, op), (what, result.describe())
    float_model = converted["float"]
    (pad,) = _operators(float_model, "PADV2")
    names = _names(float_model)
    mutated = _mutated(float_model, pad.inputs[2], lambda v: v.__setitem__(0, 0.0))
    result = verify_file(model, mutated, [x], run_tflite)
    assert not result.agrees
    assert _layer_of(names[pad.outputs[0]]) in result.culprit.covers, result.describe()
    assert result.culprit.op == "CONV_2D"


def _int8_mutations(model, model_bytes):
    """(what, mutated flatbuffer, layer that must be blamed or covered) for the int8 file of
    the block: the float32 step computing the second RSign's ±1 planes from the residual
    stream (its levels are checked at the 1×1 convolution that RSign belongs to), and the
    float32 convolution reading the first planes."""
    names = _names(model_bytes)
    one_by_one = [layer.name for layer in model.layers if "conv" in layer.name][-1]
    (step, *_) = [
        op
        for op in _operators(model_bytes, "DEPTHWISE_CONV_2D")
        if "stream_bits" in names[op.outputs[0]]
    ]
    conv = _operators(model_bytes, "CONV_2D")[1]  # the first binary convolution, on planes
    (pad,) = _operators(model_bytes, "PADV2")
    conv_layer = _layer_of(names[conv.outputs[0]])

    def swap_channels(values):  # output channels 0 and 1 of the kernel
        kernel = values.reshape(flatbuffer.tensors(model_bytes)[conv.inputs[1]].shape[0], -1)
        kernel[[0, 1]] = kernel[[1, 0]]

    def shift_thresholds(values):
        values += 0.25 * np.abs(values).max()

    return [
        ("threshold", _mutated(model_bytes, step.inputs[2], shift_thresholds), one_by_one),
        (
            "multiplier",
            _mutated(model_bytes, conv.inputs[1], lambda v: v.__imul__(1.1)),
            conv_layer,
        ),
        ("bias", _mutated(model_bytes, conv.inputs[2], _shift), conv_layer),
        ("channel order", _mutated(model_bytes, conv.inputs[1], swap_channels), conv_layer),
        (
            "padding value",
            _mutated(model_bytes, pad.inputs[2], lambda v: v.__setitem__(0, 0.0)),
            conv_layer,
        ),
    ]


def test_every_kind_of_int8_corruption_is_caught_and_named(block):
    model, converted = block
    int8 = converted["int8"]
    x = _inputs(model, 8, seed=2)
    unchanged = verify_file(model, int8.flatbuffer, [x], run_tflite, int8.checkpoints)
    assert unchanged.agrees, unchanged.describe()
    for what, mutated, layer in _int8_mutations(model, int8.flatbuffer):
        result = verify_file(model, mutated, [x], run_tflite, int8.checkpoints)
        assert not result.agrees, what
        named = (result.culprit.layer, *result.culprit.covers)
        assert layer in named, (what, result.describe())


def test_unchanged_files_agree_layer_by_layer(block):
    model, converted = block
    x = _inputs(model, 8, seed=2)
    for target, model_bytes in converted.items():
        if target == "int8":
            continue  # test_every_kind_of_int8_corruption_is_caught_and_named
        result = verify_file(model, model_bytes, [x], RUNNERS[target])
        assert result.agrees, (target, result.describe())
        assert result.checkpoints >= len(model.layers) // 2


ZOO = [
    ("binarynet_mlp", (28, 28, 1), {"hidden_units": 64}),
    ("binarynet_cnn", (32, 32, 3), {"hidden_units": 64}),
    ("xnornet_alexnet", (32, 32, 3), {"hidden_units": 64}),
    ("birealnet18", (32, 32, 3), {}),
    ("reactnet_a", (32, 32, 3), {}),
    ("reactnet_resnet18", (32, 32, 3), {}),
    ("ternary_resnet18", (32, 32, 3), {"variant": "twn"}),
]


TARGETS = [
    "lce",
    pytest.param("float", marks=pytest.mark.slow),
    pytest.param("int8", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("name", "shape", "kwargs"), ZOO, ids=[z[0] for z in ZOO])
def test_fitted_zoo_model_with_softmax_converts_and_verifies(name, shape, kwargs, target, tmp_path):
    tf.keras.utils.set_random_seed(0)
    body = create_model(name, input_shape=shape, num_classes=10, **kwargs)
    outputs = tf.keras.layers.Activation("softmax", name="probabilities")(body.output)
    model = tf.keras.Model(body.inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = _inputs(model, 32, seed=3)
    model.fit(x, np.arange(32) % 10, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / f"{name}-{target}.tflite"
    result = convert(
        model, path, target=target, representative_data=x, float_reference=False, progress=False
    )
    assert result.report.verified, result.report.to_text()
    assert "first error" not in result.report.layerwise, result.report.to_text()
    fresh = _inputs(model, 16, seed=4)
    expected, actual = file_logits(model, path.read_bytes(), RUNNERS[target], fresh)
    # Legitimate sign flips propagate in a barely fitted network, so some samples may
    # differ; a conversion error moves most of them. int8 also rounds its float layers
    # (ordinary post-training quantization), within its stated 2 %.
    relative = np.abs(actual - expected).max(axis=1) / np.abs(expected).max()
    bound = DEFAULT_TOLERANCES["int8"].relative_error if target == "int8" else 1e-3
    assert np.median(relative) <= bound, (target, relative)
    assert np.mean(actual.argmax(1) == expected.argmax(1)) >= 0.75, (target, relative)
