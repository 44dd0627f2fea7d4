"""Every name the README and the documentation show imports from where they show it, also
after a module moved (the old place keeps an alias), and every package's ``__all__`` resolves."""

from __future__ import annotations

import importlib

import pytest

# "module" or "module:name", as the README, the docs pages and the example notebooks use them.
SHOWN = [
    "bitnets_tf.cli",
    "bitnets_tf.converters:audit_model",
    "bitnets_tf.converters:convert",
    "bitnets_tf.converters:read_metadata",
    "bitnets_tf.data:available_datasets",
    "bitnets_tf.data:import_idx",
    "bitnets_tf.data:info",
    "bitnets_tf.data:load",
    "bitnets_tf.data:steps_per_epoch",
    "bitnets_tf.deploy:ModelRunner",
    "bitnets_tf.deploy:classify",
    "bitnets_tf.deploy:deployment_metadata",
    "bitnets_tf.deploy.arm",
    "bitnets_tf.deploy.demo:demo_model",
    "bitnets_tf.deploy.demo:DemoConfig",
    "bitnets_tf.deploy.demo:run_demo",
    "bitnets_tf.deploy.images:example_image",
    "bitnets_tf.deploy.interpreters:ModelRunner",
    "bitnets_tf.deploy.metadata:ModelMetadata",
    "bitnets_tf.deploy.metadata:deployment_metadata",
    "bitnets_tf.fused_quantizers",
    "bitnets_tf.layers:QuantConv2D",
    "bitnets_tf.layers:QuantDense",
    "bitnets_tf.layers:RPReLU",
    "bitnets_tf.quantizers:available_quantizers",
    "bitnets_tf.runtime:available",
    "bitnets_tf.runtime:force_kernel",
    "bitnets_tf.runtime:kernel_name",
    "bitnets_tf.runtime:make_interpreter",
    "bitnets_tf.runtime:peak_binary_macs",
    "bitnets_tf.runtime:unavailable_reason",
    "bitnets_tf.training:StreamingReadout",
    "bitnets_tf.training:binary_weights",
    "bitnets_tf.training:bnn_optimizer",
    "bitnets_tf.training:completed_epochs",
    "bitnets_tf.training:exponential_decay",
    "bitnets_tf.training:history_figure",
    "bitnets_tf.training:is_binary_variable",
    "bitnets_tf.training:train_gradient_free",
    "bitnets_tf.training.gradient_free:train_gradient_free",
    "bitnets_tf.training.multi_worker",
    "bitnets_tf.training.two_step:TwoStepTrainer",
    "bitnets_tf.zoo:BinaryNet",
    "bitnets_tf.zoo:ReActNet",
    "bitnets_tf.zoo:count_operations",
    "bitnets_tf.zoo:create_model",
    "bitnets_tf.zoo:list_models",
    "bitnets_tf.zoo.paper_numbers",
]
PACKAGES = [
    "quantizers",
    "layers",
    "introspect",
    "zoo",
    "data",
    "training",
    "converters",
    "tflite",
    "deploy",
    "demo",
    "runtime",
]


@pytest.mark.parametrize("shown", SHOWN)
def test_a_shown_name_imports_from_where_it_is_shown(shown):
    module, _, name = shown.partition(":")
    imported = importlib.import_module(module)
    if name:
        assert getattr(imported, name) is not None


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_resolves(package):
    module = importlib.import_module(f"bitnets_tf.{package}")
    missing = [name for name in getattr(module, "__all__", ()) if not hasattr(module, name)]
    assert missing == []


def test_the_moved_demo_is_the_same_object():
    from bitnets_tf.demo import demo_model
    from bitnets_tf.deploy.demo import demo_model as shown

    assert shown is demo_model
