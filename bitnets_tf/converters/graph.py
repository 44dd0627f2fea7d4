"""The layer graph of a functional or Sequential Keras model: who feeds whom.

Tensors are identified like Keras identifies them internally (``str(id(keras_tensor))``), so
a layer can be re-applied to new tensors with :meth:`Node.call_on`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tensorflow as tf


@dataclass(eq=False)
class Node:
    """One call of a layer in the model."""

    layer: tf.keras.layers.Layer
    keras_node: object  # tf_keras.src.engine.node.Node
    inputs: list[str]
    outputs: list[str]
    output_shapes: list[tuple]

    @property
    def name(self) -> str:
        return self.layer.name

    def call_on(self, new_tensors: dict[str, tf.Tensor]):
        """Re-apply this node's layer to the new tensors that replace its inputs, with the
        same positional and keyword arguments as in the original model."""
        pending: dict[str, list] = {}
        for tensor_id in self.keras_node.flat_input_ids:
            pending.setdefault(tensor_id, []).append(new_tensors[tensor_id])
        args, kwargs = self.keras_node.map_arguments(pending)
        return self.layer(*args, **kwargs)


@dataclass
class LayerGraph:
    """Nodes in execution order with producer and consumer look-ups."""

    nodes: list[Node]
    inputs: list[str]
    outputs: list[str]
    input_shapes: list[tuple]
    producer: dict[str, Node] = field(default_factory=dict)
    consumers: dict[str, list[Node]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node in self.nodes:
            for tensor in node.outputs:
                self.producer[tensor] = node
            for tensor in node.inputs:
                self.consumers.setdefault(tensor, []).append(node)

    def tensor_shape(self, tensor: str) -> tuple:
        """Static shape of ``tensor`` (batch axis included)."""
        if tensor in self.inputs:
            return self.input_shapes[self.inputs.index(tensor)]
        node = self.producer[tensor]
        return node.output_shapes[node.outputs.index(tensor)]

    def sole_consumer(self, tensor: str) -> Node | None:
        """The only node that reads ``tensor``, or None if it has several or is an output."""
        readers = self.consumers.get(tensor, [])
        if len(readers) != 1 or tensor in self.outputs:
            return None
        return readers[0]


def _tensor_id(tensor) -> str:
    return str(id(tensor))


def layer_graph(model: tf.keras.Model) -> LayerGraph:
    """The graph of ``model``.

    Raises:
        ValueError: the model is a subclassed (non-graph) model, or a layer is called more
            than once inside it (shared layers).
    """
    if not getattr(model, "_is_graph_network", False):
        raise ValueError(
            f"Model {model.name!r} is a subclassed model without a layer graph. Build it with "
            "the functional API or as a Sequential that starts with tf.keras.Input(shape)."
        )
    nodes = []
    for layer in model.layers:
        calls = [
            node
            for index, node in enumerate(layer._inbound_nodes)
            if f"{layer.name}_ib-{index}" in model._network_nodes and not node.is_input
        ]
        if isinstance(layer, tf.keras.layers.InputLayer) or not calls:
            continue
        if len(calls) > 1:
            raise ValueError(
                f"Layer {layer.name!r} is called {len(calls)} times in the model (a shared "
                "layer); the converters need each layer called once. Use separate layers."
            )
        (call,) = calls
        outputs = tf.nest.flatten(call.outputs)
        nodes.append(
            Node(
                layer=layer,
                keras_node=call,
                inputs=list(call.flat_input_ids),
                outputs=[_tensor_id(t) for t in outputs],
                output_shapes=[tuple(t.shape) for t in outputs],
            )
        )
    graph = LayerGraph(
        nodes=nodes,
        inputs=[_tensor_id(t) for t in model.inputs],
        outputs=[_tensor_id(t) for t in model.outputs],
        input_shapes=[tuple(t.shape) for t in model.inputs],
    )
    return graph


def _is_graph_model(layer: tf.keras.layers.Layer) -> bool:
    return isinstance(layer, tf.keras.Model) and getattr(layer, "_is_graph_network", False)


def _apply_graph(graph: LayerGraph, inputs: list) -> list:
    """Call the layers of ``graph`` on ``inputs``, nested graph models layer by layer."""
    tensors = dict(zip(graph.inputs, inputs, strict=True))
    for node in graph.nodes:
        if _is_graph_model(node.layer):
            results = _apply_graph(layer_graph(node.layer), [tensors[t] for t in node.inputs])
        else:
            results = tf.nest.flatten(node.call_on(tensors))
        tensors.update(zip(node.outputs, results, strict=True))
    return [tensors[t] for t in graph.outputs]


def inline_nested_models(model: tf.keras.Model) -> tf.keras.Model:
    """``model`` with every nested functional or Sequential model replaced by its layers (the
    same layer objects, so the same weights), or ``model`` itself when it nests none.

    The converters analyse one flat layer graph: a binary convolution inside a nested block
    (as :class:`~bitnets_tf.training.LayerwiseTrainer` assembles its result) would otherwise
    be one opaque layer to the audit and the int8 lowering.

    Raises:
        ValueError: see :func:`layer_graph`, or two of the inlined layers share a name.
    """
    graph = layer_graph(model)
    if not any(_is_graph_model(node.layer) for node in graph.nodes):
        return model
    inputs = [
        tf.keras.Input(batch_shape=shape, name=tensor.name.split(":")[0])
        for shape, tensor in zip(graph.input_shapes, model.inputs, strict=True)
    ]
    outputs = _apply_graph(graph, inputs)
    try:
        return tf.keras.Model(inputs, outputs, name=model.name)
    except ValueError as error:
        raise ValueError(
            f"Model {model.name!r} nests models whose layers share names with other layers "
            f"({str(error).splitlines()[0]}); the converters need unique layer names. Name "
            "the layers of the nested models uniquely."
        ) from None
