"""The zoo's keras.applications-style API: registry, arguments, errors, stems, weights files.

Models here are the cheapest that exercise each argument (BinaryNet / XNOR-Net with narrow
dense layers); every family's full build is in test_zoo_models.py and test_zoo_profile.py.
"""

import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf import quantizers
from bitnets_tf.zoo import (
    BinaryNet,
    BiRealNet,
    ReActNet,
    TernaryResNet18,
    XNORNet,
    create_model,
    list_models,
)
from bitnets_tf.zoo.arguments import ModelInput, choose_stem

NAMES = [
    "binarynet_cnn",
    "binarynet_mlp",
    "birealnet18",
    "birealnet34",
    "reactnet_a",
    "reactnet_resnet18",
    "ternary_resnet18",
    "xnornet_alexnet",
]


def _small_mlp(**kwargs):
    return BinaryNet(variant="mlp", hidden_units=8, **kwargs)


def _outputs(model, seed=0):
    x = np.random.default_rng(seed).normal(size=(2, *model.input_shape[1:])).astype("f4")
    return model(x, training=False).numpy()


def test_list_models():
    assert list_models() == NAMES


def test_unknown_model_name_lists_the_models():
    with pytest.raises(ValueError, match=r"Unknown model 'resnet50'.*reactnet_a"):
        create_model("resnet50")


def test_name_fixes_its_variant():
    with pytest.raises(ValueError, match=r"'birealnet18' is BiRealNet with depth=18.*depth=34"):
        create_model("birealnet18", depth=34)
    model = create_model("xnornet_alexnet", variant="bwn", input_shape=(32, 32, 3), hidden_units=8)
    assert model.name == "xnornet_alexnet_bwn"


@pytest.mark.parametrize(
    "builder, arguments",
    [
        (BinaryNet, {"variant": "resnet"}),
        (XNORNet, {"variant": "dorefa"}),
        (ReActNet, {"variant": "B"}),
        (TernaryResNet18, {"variant": "ternary"}),
        (BiRealNet, {"depth": 50}),
        (BiRealNet, {"depth": "18"}),
        (ReActNet, {"stem": "tiny"}),
    ],
)
def test_unknown_variant(builder, arguments):
    (parameter,) = arguments
    with pytest.raises(ValueError, match=f"`{parameter}` must be one of"):
        builder(**arguments)


@pytest.mark.parametrize("num_classes", [0, -1, 2.5, True])
def test_bad_num_classes(num_classes):
    with pytest.raises(ValueError, match="`num_classes` must be an integer >= 1"):
        _small_mlp(num_classes=num_classes)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"include_top": False, "num_classes": 10}, "`num_classes=10` was given with include_top"),
        ({"include_top": False, "classifier_activation": "softmax"}, "classifier_activation"),
        ({"pooling": "avg"}, "`pooling='avg'` applies only with include_top=False"),
        ({"include_top": False, "pooling": "sum"}, "`pooling` must be one of"),
        ({"classifier_activation": "nope"}, "Unknown `classifier_activation` 'nope'"),
        ({"include_top": "yes"}, "`include_top` must be True or False"),
        ({"input_shape": (32, 32)}, "`input_shape` must be \\(height, width, channels\\)"),
        ({"input_shape": (32, 0, 3)}, "`input_shape` must be"),
        ({"input_shape": (None, None, 3)}, "`input_shape` must be"),
        ({"hidden_units": 0}, "`hidden_units` must be an integer >= 1"),
    ],
)
def test_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        BinaryNet(**{"hidden_units": 8, **arguments})


@pytest.mark.parametrize(
    "builder, arguments, minimum",
    [
        (BinaryNet, {"variant": "cnn"}, 8),
        (XNORNet, {"stem": "cifar"}, 7),
        (XNORNet, {"stem": "imagenet"}, 63),
        (BiRealNet, {"stem": "cifar"}, 8),
        (BiRealNet, {"stem": "imagenet"}, 32),
        (ReActNet, {"stem": "cifar"}, 16),
        (ReActNet, {"stem": "imagenet"}, 32),
        (ReActNet, {"variant": "resnet18", "stem": "cifar"}, 8),
        (TernaryResNet18, {"stem": "cifar"}, 8),
        (TernaryResNet18, {"stem": "imagenet"}, 32),
    ],
)
def test_input_too_small_names_the_minimum(builder, arguments, minimum):
    too_small = (minimum - 1, minimum + 5, 3)
    with pytest.raises(ValueError, match=f"at least {minimum}×{minimum} pixels"):
        builder(input_shape=too_small, **arguments)


@pytest.mark.parametrize(
    "builder, arguments, minimum",
    [
        (BinaryNet, {"variant": "cnn"}, 8),
        (XNORNet, {"stem": "cifar"}, 7),
        (XNORNet, {"stem": "imagenet"}, 63),
    ],
)
def test_fixed_geometry_models_build_at_their_minimum(builder, arguments, minimum):
    """The minimum of the models with valid max-pools is exact, not just a policy."""
    model = builder(input_shape=(minimum, minimum, 1), hidden_units=8, **arguments)
    assert model.output_shape == (None, 1000 if builder is XNORNet else 10)


def test_auto_stem_switches_at_112_pixels():
    def stem_for(height, width):
        return choose_stem("auto", ModelInput(None, None, height, width, 3))

    assert stem_for(111, 224) == "cifar"
    assert stem_for(112, 112) == "imagenet"
    assert stem_for(224, 224) == "imagenet"


def test_small_inputs_use_the_cifar_stem():
    model = XNORNet(input_shape=(32, 32, 3), hidden_units=8)
    assert model.get_layer("conv1_conv").kernel_size == (3, 3)
    assert model.get_layer("conv1_conv").strides == (1, 1)
    assert "conv1_pool" not in [layer.name for layer in model.layers]


def test_defaults_output_logits_and_softmax_is_optional():
    logits_model = _small_mlp()
    assert logits_model.output_shape == (None, 10)  # BinaryNet defaults to 10 classes
    assert logits_model.input_shape == (None, 28, 28, 1)
    assert logits_model.layers[-1].name == "logits_bn"
    probabilities = _outputs(_small_mlp(classifier_activation="softmax", num_classes=4))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("pooling, shape", [(None, (None, 3, 3, 512)), ("avg", (None, 512))])
def test_include_top_false_and_pooling(pooling, shape):
    model = BinaryNet(input_shape=(28, 28, 1), include_top=False, pooling=pooling)
    assert model.output_shape == shape


def test_vector_features_cannot_be_pooled():
    with pytest.raises(ValueError, match="no spatial feature map to pool"):
        _small_mlp(include_top=False, pooling="max")


def test_input_tensor():
    tensor = tf.keras.Input((16, 16, 3))
    model = BinaryNet(input_tensor=tensor, hidden_units=8)
    assert model.inputs[0] is tensor
    assert model.input_shape == (None, 16, 16, 3)
    with pytest.raises(ValueError, match="does not match the shape of `input_tensor`"):
        BinaryNet(input_tensor=tensor, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="`input_tensor` must be a tensor"):
        BinaryNet(input_tensor=np.zeros((1, 16, 16, 3)))


def test_quantizer_instances_are_copied_per_layer():
    """An RSign instance must not share one threshold across layers of different widths."""
    model = BinaryNet(input_shape=(8, 8, 3), hidden_units=8, input_quantizer=quantizers.RSign())
    rsigns = [
        layer.input_quantizer
        for layer in model.layers
        if isinstance(getattr(layer, "input_quantizer", None), quantizers.RSign)
    ]
    assert len(rsigns) == 8 and len({id(rsign) for rsign in rsigns}) == 8


def test_real_weights_for_two_step_training():
    model = _small_mlp(kernel_quantizer=None)
    quantized = [layer for layer in model.layers if hasattr(layer, "kernel_quantizer")]
    assert quantized and all(layer.kernel_quantizer is None for layer in quantized)
    assert all(layer.kernel_constraint is None for layer in quantized)


def test_layer_names_are_the_same_in_every_build():
    """Two-step training matches the weighted layers by name."""

    def weighted_layer_names():
        return [layer.name for layer in _small_mlp().layers if layer.weights]

    assert weighted_layer_names() == weighted_layer_names()


def test_weights_imagenet_explains_there_are_none():
    with pytest.raises(ValueError, match=r"ships no pretrained weights.*save_weights"):
        _small_mlp(weights="imagenet")


@pytest.mark.parametrize("weights", ["model.ckpt", 3])
def test_weights_must_be_a_weights_file(weights):
    with pytest.raises(ValueError, match="`weights` must be None or the path"):
        _small_mlp(weights=weights)


def test_missing_weights_file(tmp_path):
    missing = tmp_path / "missing.weights.h5"
    with pytest.raises(FileNotFoundError, match=r"missing.weights.h5"):
        _small_mlp(weights=missing)


@pytest.mark.parametrize("file_name", ["m.weights.h5", "m.h5", "m.keras"])
def test_weights_file_round_trip(tmp_path, file_name):
    source = _small_mlp()
    path = tmp_path / file_name
    if file_name.endswith(".keras"):
        source.save(path)
    else:
        source.save_weights(path)
    tf.keras.backend.clear_session()
    loaded = _small_mlp(weights=str(path))
    np.testing.assert_array_equal(_outputs(loaded), _outputs(source))


def test_weights_of_another_architecture(tmp_path):
    path = tmp_path / "m.weights.h5"
    BinaryNet(variant="mlp", hidden_units=16).save_weights(path)
    with pytest.raises(
        ValueError, match=r"Cannot load the weights in .*m.weights.h5.*same arguments"
    ):
        _small_mlp(weights=path)
