"""Helpers shared by the tests (and the benchmarks that reuse them): models to convert,
toy training data, IDX files and per-operator LCE comparisons. ``tests/`` is on ``sys.path``
(pytest puts ``conftest.py``'s folder there), so tests import them as ``support.<module>``."""
