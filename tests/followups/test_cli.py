"""``o2o followups list | run | retry | cancel``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEST_KEYS

from o2o_sdk import O2O, Config, FollowUpPlan
from o2o_sdk.cli import main

KEYS_ENV = ",".join(f"{k.kid}:{k.secret.decode()}" for k in TEST_KEYS)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SQLite shop with three follow-ups for the console channel (writing to a file)."""
    for name in ("O2O_PLUGINS", "O2O_DISABLE_PLUGINS", "O2O_STRICT_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("O2O_DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("O2O_SECRET_KEYS", KEYS_ENV)
    monkeypatch.setenv("O2O_BASE_URL", "https://shop.example")
    out = tmp_path / "console.jsonl"
    monkeypatch.setenv("O2O_CONSOLE_PATH", str(out))
    with O2O(Config.from_env()) as sdk:
        sdk.followups.contacts.upsert("c1", email="ada@example.com")
        for key in ("a", "b", "c"):
            # transactional: the real clock may be inside quiet hours
            sdk.followups.add(FollowUpPlan("demo", "console", "thank_you" if key != "c" else "nope", "c1", key,
                                           transactional=True, data={"survey_url": "https://shop.example/s", "store_name": "Soho"}))  # fmt: skip
    yield out


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_once_delivers_and_reports_counts(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "followups", "run", "--once", "--json")
    assert code == 0
    counts = json.loads(out)
    assert (counts["sent"], counts["dead"]) == (2, 1)  # "nope" is no template
    assert "followups: " in err and "sent/s" in err
    assert len(env.read_text().splitlines()) == 2


def test_list_retry_and_cancel(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "followups", "run", "--once", "--quiet")
    code, out, _ = _run(capsys, "followups", "list", "--status", "dead", "--json")
    listing = json.loads(out)
    assert code == 0 and listing["counts"] == {"dead": 1, "sent": 2}
    [dead] = listing["followups"]
    assert "No template named 'nope'" in dead["last_error"]
    code, out, _ = _run(capsys, "followups", "list")
    assert "dead 1  sent 2" in out and dead["id"] in out
    assert _run(capsys, "followups", "retry", dead["id"])[1].strip() == "1 follow-up due again"
    assert _run(capsys, "followups", "cancel", "--customer", "c1")[1].strip() == "1 follow-up cancelled"
    code, _, err = _run(capsys, "followups", "retry")
    assert code == 1 and err.startswith("o2o: error: Give follow-up ids, or --all-dead.")
