"""Converters from Keras models to TFLite flatbuffers."""
