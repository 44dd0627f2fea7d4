"""Shared test setup: quiet TensorFlow, bind tf.keras to tf-keras, deterministic seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf

import bitnets_tf  # noqa: F401  (binds tf.keras to tf-keras before anything else)


@pytest.fixture(autouse=True)
def _seeded():
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(0)
    np.random.seed(0)
    yield
