"""Small binary and ternary models shared by the converter tests (random weights and batch
norms with both gamma signs, so thresholds are not trivial)."""

from __future__ import annotations

import larq as lq
import numpy as np
import tensorflow as tf

from bitnets_tf import layers

L = tf.keras.layers
BINARY = dict(
    input_quantizer="ste_sign",
    kernel_quantizer="ste_sign",
    kernel_constraint="weight_clip",
    use_bias=False,
)


def randomize(model: tf.keras.Model, seed: int = 0) -> tf.keras.Model:
    """Random batch-norm statistics (gamma of both signs) and perturbed weights."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, L.BatchNormalization):
            shape = layer.moving_mean.shape
            if layer.scale:
                layer.gamma.assign(rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape))
            if layer.center:
                layer.beta.assign(rng.normal(0, 1, shape))
            layer.moving_mean.assign(rng.normal(0, 3, shape))
            layer.moving_variance.assign(rng.uniform(5, 30, shape))
        elif weights:
            layer.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype) for w in weights])
    return model


def plus_minus_one(shape, samples: int, seed: int = 0) -> np.ndarray:
    """±1 inputs: a pure ±1 network is exact in int8 on them."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((samples, *shape)) < 0.5, -1.0, 1.0).astype(np.float32)


def binary_cnn() -> tf.keras.Model:
    """Pure ±1 CNN: sign of the input, bitpackable convolutions (both paddings), max-pool,
    larq's binary QuantDense (rewritten for LCE)."""
    return randomize(
        tf.keras.Sequential(
            [
                tf.keras.Input((10, 10, 3)),
                layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **BINARY),
                L.BatchNormalization(),
                layers.QuantConv2D(32, 3, padding="same", **BINARY),
                L.BatchNormalization(),
                L.MaxPool2D(),
                layers.QuantConv2D(40, 3, **BINARY),
                L.BatchNormalization(),
                L.Flatten(),
                lq.layers.QuantDense(10, **BINARY),
                L.BatchNormalization(),
            ]
        )
    )


def binary_mlp() -> tf.keras.Model:
    """Pure ±1 MLP (BinaryNet-style), our QuantDense."""
    return randomize(
        tf.keras.Sequential(
            [
                tf.keras.Input((48,)),
                layers.QuantDense(64, **BINARY),
                L.BatchNormalization(),
                layers.QuantDense(64, **BINARY),
                L.BatchNormalization(),
                layers.QuantDense(10, **BINARY),
                L.BatchNormalization(),
            ]
        )
    )


def reactnet_block() -> tf.keras.Model:
    """Float stem, then a ReActNet block: RSign → binary 3×3 conv → BN → + shortcut → RPReLU
    → RSign → binary 1×1 conv (XNOR weight scale) → BN → + shortcut, then a float head."""
    inputs = tf.keras.Input((8, 8, 3))
    x = layers.QuantConv2D(16, 3, kernel_quantizer="ste_sign", kernel_constraint="weight_clip")(
        inputs
    )
    x = L.BatchNormalization()(x)
    shortcut = x
    x = layers.QuantConv2D(
        16,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer="rsign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(x)
    x = L.BatchNormalization()(x)
    x = L.Add()([x, shortcut])
    x = layers.RPReLU()(x)
    shortcut = x
    x = layers.QuantConv2D(
        16,
        1,
        input_quantizer="rsign",
        kernel_quantizer="xnor_weight_scale",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(x)
    x = L.BatchNormalization()(x)
    x = L.Add()([x, shortcut])
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(10)(x)
    return randomize(tf.keras.Model(inputs, outputs))


def ternary_net() -> tf.keras.Model:
    """Ternary activations (larq's ste_tern and ours) with ternary weights; LCE 0.16 would
    silently binarize the ste_tern ones."""
    tern_weights = lambda: lq.quantizers.SteTern(threshold_value=0.1)  # noqa: E731
    return randomize(
        tf.keras.Sequential(
            [
                tf.keras.Input((8, 8, 4)),
                layers.QuantConv2D(
                    16,
                    3,
                    padding="same",
                    input_quantizer=lq.quantizers.SteTern(0.5),
                    kernel_quantizer=tern_weights(),
                    use_bias=False,
                ),
                L.BatchNormalization(),
                L.MaxPool2D(),
                layers.QuantConv2D(
                    16,
                    3,
                    padding="same",
                    pad_values=1.0,
                    input_quantizer="ternary_activation",
                    kernel_quantizer=tern_weights(),
                    use_bias=False,
                ),
                L.BatchNormalization(),
                L.Flatten(),
                layers.QuantDense(
                    10, input_quantizer="ste_tern", kernel_quantizer=tern_weights(), use_bias=False
                ),
                L.BatchNormalization(),
            ]
        )
    )


def ternary_inputs(shape, samples: int, seed: int = 0) -> np.ndarray:
    """Inputs in {-1, 0, 1} (away from the thresholds): exact for the int8 target."""
    rng = np.random.default_rng(seed)
    return rng.integers(-1, 2, size=(samples, *shape)).astype(np.float32)


def random_architecture(rng: np.random.Generator) -> tf.keras.Model:
    """A random small binary/ternary network with the mechanisms the converters must get
    right: both paddings, strides, dilation, odd channel counts, max-pools, batch norms with
    both gamma signs, residual sums, concatenations, RPReLU and float convolutions in front of
    signs, RSign with per-feature thresholds after a flatten, a ternary activation, and a
    float head (sometimes ending in a softmax)."""
    activations = ["ste_sign", "approx_sign", "rsign", "ste_tern", "ternary_activation"]
    kernels = ["ste_sign", "magnitude_aware_sign", "xnor_weight_scale", "twn_ternary"]
    size = int(rng.choice([6, 8, 9]))
    inputs = L.Input((size, size, int(rng.choice([1, 3, 5]))))
    x = inputs
    for _ in range(int(rng.integers(1, 4))):
        kernel = int(rng.choice([1, 3]))
        padding = str(rng.choice(["same", "valid"]))
        strides = int(rng.choice([1, 1, 2]))
        dilation = int(rng.choice([1, 2])) if strides == 1 and kernel == 3 else 1
        if x.shape[1] < (kernel - 1) * dilation * 2 + strides + 1:
            padding, strides, dilation = "same", 1, 1
        conv = layers.QuantConv2D(
            int(rng.choice([8, 16, 33])),
            kernel,
            strides=strides,
            dilation_rate=dilation,
            padding=padding,
            pad_values=float(rng.choice([0.0, 1.0])),
            input_quantizer=str(rng.choice(activations)),
            kernel_quantizer=str(rng.choice(kernels)),
            use_bias=False,
        )
        y = conv(x)
        if rng.random() < 0.7:
            y = L.BatchNormalization()(y)
        merge = rng.random()
        if merge < 0.25 and y.shape == x.shape:
            y = L.Add()([y, x])
        elif merge < 0.4 and y.shape[1:3] == x.shape[1:3]:
            y = L.Concatenate()([y, x])
        if rng.random() < 0.3:
            y = layers.RPReLU()(y)
        elif rng.random() < 0.2:
            y = L.Conv2D(int(y.shape[-1]), 1)(y)  # a float layer in front of the next sign
        if rng.random() < 0.4 and y.shape[1] >= 4:
            y = L.MaxPool2D()(y)
        x = y
    x = L.Flatten()(x)
    x = layers.QuantDense(
        6,
        input_quantizer=str(rng.choice(["ste_sign", "approx_sign", "rsign", "ternary_activation"])),
        kernel_quantizer="ste_sign",
        use_bias=False,
    )(x)
    x = L.BatchNormalization()(x)
    if rng.random() < 0.3:
        x = L.Activation("softmax")(x)
    model = randomize(tf.keras.Model(inputs, x), seed=int(rng.integers(1 << 30)))
    for layer in model.layers:  # RSign thresholds away from their default 0
        quantizer = getattr(layer, "input_quantizer", None)
        if hasattr(quantizer, "alpha"):
            quantizer.alpha.assign(rng.normal(0, 0.3, quantizer.alpha.shape).astype("float32"))
    return model


def file_logits(model: tf.keras.Model, flatbuffer: bytes, run, inputs: np.ndarray):
    """Keras's and the converted file's outputs for ``inputs``, computed independently of the
    converter: the input of a final softmax on both sides (where saturation would hide
    errors), else the outputs."""
    from tensorflow.lite.tools import flatbuffer_utils

    last = model.layers[-1]
    if isinstance(last, L.Activation) and last.get_config()["activation"] == "softmax":
        keras = tf.keras.Model(model.inputs, last.input)(inputs, training=False).numpy()
        graph = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
        subgraph = graph.subgraphs[0]
        softmax = [
            op for op in subgraph.operators if graph.operatorCodes[op.opcodeIndex].builtinCode == 25
        ]
        subgraph.outputs = np.asarray([softmax[-1].inputs[0]], np.int32)
        flatbuffer = bytes(flatbuffer_utils.convert_object_to_bytearray(graph))
    else:
        keras = model(inputs, training=False).numpy()
    return keras, run(flatbuffer, [inputs])[0].reshape(keras.shape)


def agreement_rates(expected: np.ndarray, actual: np.ndarray, relative_error: float):
    """Share of samples within ``relative_error · max|expected|`` and share whose converted
    argmax Keras scores within 1e-5 of its maximum (Keras ties count as agreement)."""
    scale = np.abs(expected).max() or 1.0
    per_sample = np.abs(expected - actual).reshape(len(expected), -1).max(axis=1)
    chosen = expected[np.arange(len(expected)), actual.argmax(1)]
    return (
        float(np.mean(per_sample <= relative_error * scale)),
        float(np.mean(chosen >= expected.max(1) - 1e-5 * scale)),
    )
