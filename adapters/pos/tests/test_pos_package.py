"""The distribution: its public names, shipped files, entry point, and docs that list every
mapping key and problem code."""

from __future__ import annotations

import inspect
from importlib import metadata, resources
from pathlib import Path

import o2o_pos
from o2o_pos.csv_import import _TOP_KEYS, ITEM_FIELDS, SALE_FIELDS

DOC = Path(__file__).parents[3] / "docs" / "adapters" / "pos.md"


def test_every_public_name_exists_and_is_documented() -> None:
    for name in o2o_pos.__all__:
        value = getattr(o2o_pos, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"o2o_pos.{name} has no docstring"
    exported = {n for n, v in vars(o2o_pos).items() if not n.startswith("_") and not inspect.ismodule(v)}
    assert exported == set(o2o_pos.__all__)


def test_the_schema_and_the_type_marker_ship_in_the_package() -> None:
    files = resources.files("o2o_pos")
    assert files.joinpath("py.typed").is_file() and files.joinpath("sale_event.schema.json").is_file()
    assert o2o_pos.schema()["$id"] == "urn:o2o-sdk:pos:sale-event:1"


def test_the_entry_point_is_the_thin_plugin_module() -> None:
    [entry] = [e for e in metadata.entry_points(group="o2o_sdk") if e.value.startswith("o2o_pos")]
    assert entry.name == "inhouse_pos"  # not "pos": a name plugins of a shop's own are likely to take
    assert entry.value == "o2o_pos.plugin" and entry.dist is not None and entry.dist.name == "o2o-pos"


def test_the_docs_list_every_mapping_key_column_field_and_problem() -> None:
    text = DOC.read_text(encoding="utf-8")
    for key in _TOP_KEYS:
        assert f"| `{key}` |" in text or f"| `[{key}]` |" in text, f"mapping key {key} is not documented"
    for field in (*SALE_FIELDS, *ITEM_FIELDS, "items"):
        assert f"`{field}`" in text, f"column field {field} is not documented"
    for problem in o2o_pos.Problem:
        assert f"| `{problem.value}` |" in text, f"problem {problem.value} is not documented"
