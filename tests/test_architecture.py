"""The package's layering, read from its import statements (``ast``, nothing is imported):
quantizers -> layers -> introspect -> zoo / training -> converters -> tflite files -> deploy,
with ``bitnets_tf.demo``, ``bitnets_tf.commands`` and ``bitnets_tf.cli`` as applications on
top. A new import that breaks a rule fails here, naming the file, line and rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bitnets_tf"
APPLICATIONS = ("demo", "commands", "cli")

# (area, areas it must not import, why)
RULES = [
    ("quantizers", ("zoo", "training", "converters"), "quantizers know no models or recipes"),
    ("fused_quantizers", ("zoo", "training", "converters"), "quantizers know no models"),
    ("layers", ("zoo", "training", "converters"), "layers know no models or recipes"),
    ("introspect", ("zoo", "training", "converters"), "introspection knows no models"),
    ("zoo", ("training", "converters"), "models know no recipes or converters"),
    ("converters", ("training",), "converting needs no training recipe"),
    ("tflite", ("training", "converters", "deploy", "zoo"), "files and interpreters only"),
    ("runtime", ("training", "converters", "deploy", "zoo"), "kernels only"),
    ("deploy", ("training", "converters"), "running a file needs no training or converters"),
    ("data", ("zoo", "training", "converters", "deploy"), "data knows no models"),
]


def _area(module: str) -> str | None:
    """``"zoo"`` for ``bitnets_tf.zoo.blocks``; None outside the package."""
    parts = module.split(".")
    if parts[0] != "bitnets_tf":
        return None
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``bitnets_tf`` module that ``path`` imports, at any depth (functions included),
    with its line; ``from bitnets_tf import x`` counts as importing ``bitnets_tf.x``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bitnets_tf":
                found += [(node.lineno, f"bitnets_tf.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, module) for line, module in found if _area(module) is not None]


def _files(area: str) -> list[Path]:
    single = PACKAGE / f"{area}.py"
    return [single] if single.exists() else sorted((PACKAGE / area).rglob("*.py"))


def _area_of_file(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _violations(area: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path in _files(area)
        for line, module in _imports(path)
        if _area(module) in forbidden
    ]


@pytest.mark.parametrize(("area", "forbidden", "why"), RULES, ids=[rule[0] for rule in RULES])
def test_area_respects_the_layering(area, forbidden, why):
    assert _files(area), f"no source files for {area!r}"
    assert _violations(area, forbidden) == [], f"{area} must not import {forbidden}: {why}"


def test_the_library_imports_no_application():
    library = [path for path in PACKAGE.rglob("*.py") if _area_of_file(path) not in APPLICATIONS]
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path in library
        for line, module in _imports(path)
        if _area(module) in APPLICATIONS
    ]
    assert found == [], "only bitnets_tf.demo, .commands and .cli may import the applications"


def test_the_rules_see_a_forbidden_import(tmp_path, monkeypatch):
    """The walk finds imports inside functions and ``from bitnets_tf import x`` forms."""
    zoo = tmp_path / "bitnets_tf" / "zoo"
    zoo.mkdir(parents=True)
    (zoo / "model.py").write_text(
        "def build():\n    from bitnets_tf import training\n    import bitnets_tf.converters.api\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE", tmp_path / "bitnets_tf")
    assert _violations("zoo", ("training", "converters")) == [
        "bitnets_tf/zoo/model.py:2 imports bitnets_tf.training",
        "bitnets_tf/zoo/model.py:3 imports bitnets_tf.converters.api",
    ]
