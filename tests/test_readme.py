"""The README's ten-line example runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("O2O_DATABASE_URL", "O2O_SECRET_KEYS", "O2O_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    [block] = _python_blocks()
    code_lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert len(code_lines) <= 11, "the README promises about ten lines"
    namespace: dict[str, object] = {}
    exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"https://shop\.example/o/[0-9A-Za-z][A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{20}", out[0])
    assert out[1] == "6.30 GBP"
    assert (tmp_path / "voucher.png").stat().st_size > 0
    from o2o_sdk import Redemption

    redemption = namespace["redemption"]
    assert isinstance(redemption, Redemption) and redemption.store_id == "soho"
