"""``o2o pickups list | create | accept | ready | arrived | handover | cancel | slots | sweep | pass``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEMO_STORES, TEST_KEYS

from o2o_sdk import O2O, Config
from o2o_sdk.cli import main

KEYS_ENV = ",".join(f"{k.kid}:{k.secret.decode()}" for k in TEST_KEYS)


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("O2O_PLUGINS", "O2O_DISABLE_PLUGINS", "O2O_STRICT_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("O2O_DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("O2O_SECRET_KEYS", KEYS_ENV)
    monkeypatch.setenv("O2O_BASE_URL", "https://shop.example")
    with O2O(Config.from_env()) as sdk:
        sdk.stores.add(DEMO_STORES)
    yield tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_counter_takes_a_pickup_through_every_step(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pickups", "create", "lon-soho", "SHIRT-M:2", "SOCKS", "--email", "ada@example.com", "--json")
    assert code == 0
    pickup = json.loads(out)
    assert pickup["state"] == "placed" and [i["quantity"] for i in pickup["items"]] == [2, 1]
    pid = pickup["id"]
    for step in ("accept", "ready"):
        code, out, _ = run(capsys, "pickups", step, pid)
        assert code == 0 and pid in out
    code, out, _ = run(capsys, "pickups", "arrived", pid, "--note", "bay 3", "--json")
    assert json.loads(out)["arrival_note"] == "bay 3"
    code, out, _ = run(capsys, "pickups", "list", "--state", "arrived")
    assert pid in out and "[bay 3]" in out
    code, link, _ = run(capsys, "pickups", "pass", pid)
    assert link.startswith("https://shop.example/pickup/")
    code, out, err = run(capsys, "pickups", "handover", link.strip(), "--store", "nyc-soho")
    assert code != 0 and "another store" in err and "Traceback" not in err
    code, out, _ = run(capsys, "pickups", "handover", link.strip(), "--store", "lon-soho", "--json")
    assert code == 0 and json.loads(out)["state"] == "handed_over"
    code, out, err = run(capsys, "pickups", "handover", link.strip(), "--store", "lon-soho")
    assert code != 0 and len(err.strip().splitlines()) == 1 and "handed_over" in err


def test_bad_input_is_one_line_and_nonzero(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (("pickups", "create", "lon-soho", "SKU:x"), ("pickups", "create", "mars", "SKU"),
                 ("pickups", "accept", "pku_nope"), ("pickups", "ready", "pku_nope", "--deadline", "tomorrow"),
                 ("pickups", "slots", "lon-soho", "someday"),
                 ("pickups", "create", "lon-soho", "SKU", "--slot", "2026-06-16T10:00")):  # fmt: skip
        code, _, err = run(capsys, *argv)
        assert code != 0, argv
        assert err.strip() and "Traceback" not in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_slots_and_sweep(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pickups", "slots", "lon-soho", "2026-06-16")
    assert code == 0 and "no pickup slots" in out  # the demo stores have no opening hours
    code, out, _ = run(capsys, "pickups", "create", "lon-soho", "DRESS", "--kind", "reservation", "--json")
    assert json.loads(out)["kind"] == "reservation"
    code, out, _ = run(capsys, "pickups", "sweep", "--json")
    assert code == 0 and json.loads(out) == {"released": []}
