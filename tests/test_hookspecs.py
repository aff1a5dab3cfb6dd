"""The hook contract documents itself, is tested hook by hook, and docs/hooks.md is current."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from o2o_sdk import hookspecs
from o2o_sdk.plugins import hook_reference_markdown

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def _hooks() -> list[tuple[str, Callable[..., Any]]]:
    """Every function carrying the hookspec marker (found by marker, not by name)."""
    return [
        (name, func)
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(func, f"{hookspecs.PROJECT}_spec")
    ]


HOOKS = _hooks()
HOOK_IDS = [name for name, _ in HOOKS]


def test_the_contract_has_hooks() -> None:
    assert len(HOOKS) >= 9
    assert "o2o_after_redeem" in HOOK_IDS


@pytest.mark.parametrize(("name", "func"), HOOKS, ids=HOOK_IDS)
def test_every_hook_carries_the_project_prefix(name: str, func: Callable[..., Any]) -> None:
    assert name.startswith("o2o_")


@pytest.mark.parametrize(("name", "func"), HOOKS, ids=HOOK_IDS)
def test_every_hook_documents_each_argument_and_its_version(name: str, func: Callable[..., Any]) -> None:
    doc = inspect.getdoc(func) or ""
    assert doc.splitlines() and doc.splitlines()[0].strip(), f"{name} has no summary line"
    for param in inspect.signature(func).parameters:
        assert re.search(rf":param {param}:\s*\S", doc), f"{name} does not document {param!r}"
    assert re.search(r"\.\. versionadded:: \d+\.\d+", doc), f"{name} has no versionadded"


@pytest.mark.parametrize(("name", "func"), HOOKS, ids=HOOK_IDS)
def test_no_hook_argument_has_a_default(name: str, func: Callable[..., Any]) -> None:
    # pluggy silently skips arguments with defaults
    defaults = [p.name for p in inspect.signature(func).parameters.values() if p.default is not p.empty]
    assert defaults == []


@pytest.mark.parametrize(("name", "func"), HOOKS, ids=HOOK_IDS)
def test_first_result_hooks_say_so(name: str, func: Callable[..., Any]) -> None:
    firstresult = getattr(func, f"{hookspecs.PROJECT}_spec").get("firstresult", False)
    says_so = "first result" in (inspect.getdoc(func) or "").lower()
    assert firstresult == says_so


def test_every_hook_has_a_test_named_after_it() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("*.py"))
    missing = [name for name in HOOK_IDS if not re.search(rf"def test_hook_{name}\b", text)]
    assert missing == [], f"add a test_hook_<name> test for: {', '.join(missing)}"


def test_docs_hooks_md_is_generated_from_the_hookspecs() -> None:
    generated = hook_reference_markdown()
    assert all(f"## `{name}`" in generated for name in HOOK_IDS)
    current = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert current == generated, "docs/hooks.md is stale: run `python -m o2o_sdk.plugins --markdown > docs/hooks.md`"
