"""Install a throw-away distribution with ``o2o_sdk`` entry points, for one test.

A real ``*.dist-info`` folder on ``sys.path`` is what ``importlib.metadata`` reads, so the
SDK loads these plugins exactly as it loads installed ones. Module names are made unique
per call, so that ``sys.modules`` never hands one test another test's plugin.
"""

from __future__ import annotations

import importlib
import secrets
import textwrap
from pathlib import Path

import pytest


def unique_module(stem: str) -> str:
    return f"{stem}_{secrets.token_hex(4)}"


def install_distribution(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    name: str = "fake-plugin",
    version: str = "1.0",
    modules: dict[str, str],
    entry_points: dict[str, str],
) -> Path:
    """Write ``<name>-<version>.dist-info`` plus ``modules`` under ``root`` and put it on sys.path.

    ``entry_points`` maps entry point names to module names of ``modules``.
    """
    root.mkdir(parents=True, exist_ok=True)
    dist_info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    lines = ["[o2o_sdk]", *(f"{ep} = {target}" for ep, target in entry_points.items())]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    return dist_info
