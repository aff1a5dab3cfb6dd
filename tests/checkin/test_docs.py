"""docs/checkin.md's example runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "checkin.md"


def test_the_checkin_guide_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("O2O_DATABASE_URL", "O2O_SECRET_KEYS", "O2O_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    example = re.findall(r"## The example\n\n```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)[0]
    namespace: dict[str, object] = {}
    exec(compile(example, str(DOC), "exec"), namespace)
    assert capsys.readouterr().out == "True verified ada@example.com\n"
    namespace["sdk"].close()  # type: ignore[attr-defined]
