"""The ``o2o`` command line: JSON that parses, and one ``o2o: error:`` line for every user mistake."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_STORES, TEST_KEYS

from o2o_sdk import O2O, Config
from o2o_sdk.cli import main
from o2o_sdk.storage._migrations import MIGRATIONS

KEYS_ENV = ",".join(f"{k.kid}:{k.secret.decode()}" for k in TEST_KEYS)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A SQLite shop with the three demo stores, configured through the environment."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    for name in ("O2O_PLUGINS", "O2O_DISABLE_PLUGINS", "O2O_STRICT_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("O2O_DATABASE_URL", url)
    monkeypatch.setenv("O2O_SECRET_KEYS", KEYS_ENV)
    monkeypatch.setenv("O2O_BASE_URL", "https://shop.example")
    with O2O(Config.from_env()) as sdk:
        sdk.stores.add(DEMO_STORES)
    yield url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_one_error_line(code: int, out: str, err: str, *fragments: str) -> None:
    assert code != 0
    assert err.startswith("o2o: error:"), err
    assert err.count("\n") == 1, f"one line, got: {err!r}"
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


# --------------------------------------------------------------------------- the happy path, as JSON


def test_an_offer_from_creation_to_void_with_json_output(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    offer = run_json(capsys, "offers", "create", "--title", "Summer", "--amount", "5.00 EUR", "--max-total", "10",
                     "--stores", "lon-soho,tyo-shibuya", "--ends", "2030-08-31T20:00")  # fmt: skip
    assert offer["title"] == "Summer" and offer["stores"] == ["lon-soho", "tyo-shibuya"]
    assert offer["caps"]["total"] == 10 and offer["ends_at"] == "2030-08-31T20:00:00"

    [voucher] = run_json(capsys, "offers", "issue", offer["id"], "--customer", "alice")
    assert voucher["url"] == f"https://shop.example/o/{voucher['token']}"

    validation = run_json(capsys, "offers", "validate", voucher["url"], "--store", "lon-soho", "--basket", "20 EUR")
    assert validation["ok"] is True and validation["discount"]["amount"] == {"minor": 500, "currency": "EUR"}

    redemption = run_json(capsys, "offers", "redeem", voucher["token"], "--store", "lon-soho", "--basket", "20 EUR",
                          "--idempotency-key", "till-1:42")  # fmt: skip
    assert redemption["voucher_id"] == voucher["id"] and redemption["customer_id"] == "alice"
    again = run_json(capsys, "offers", "redeem", voucher["token"], "--store", "lon-soho", "--basket", "20 EUR",
                     "--idempotency-key", "till-1:42")  # fmt: skip
    assert again == redemption

    shown = run_json(capsys, "offers", "show", offer["id"])
    assert shown["usage"]["redeemed"] == 1
    shown_voucher = run_json(capsys, "offers", "show", voucher["url"])
    assert shown_voucher["voucher"]["status"] == "redeemed"

    voided = run_json(capsys, "offers", "void", redemption["id"], "--reason", "refund")
    assert voided["void_reason"] == "refund" and voided["voided_at"]
    [listed] = run_json(capsys, "offers", "list")
    assert listed["offer"]["id"] == offer["id"] and listed["usage"]["redeemed"] == 0


def test_a_refusal_is_an_answer_not_an_error(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    offer = run_json(capsys, "offers", "create", "--title", "Tokyo only", "--percent", "10", "--stores", "tyo-shibuya")
    [voucher] = run_json(capsys, "offers", "issue", offer["id"])

    code, out, err = run(capsys, "offers", "validate", voucher["token"], "--store", "lon-soho")
    assert (code, err) == (1, "")
    assert out.startswith("refused: wrong_store: ")

    code, out, err = run(capsys, "offers", "redeem", voucher["token"], "--store", "lon-soho", "--json")
    assert (code, err) == (1, "")
    body = json.loads(out)
    assert body["ok"] is False and [r["code"] for r in body["refusals"]] == ["wrong_store"]

    code, out, err = run(capsys, "offers", "redeem", voucher["token"][:-2] + "xx", "--store", "tyo-shibuya")
    assert (code, err) == (1, "")
    assert out.startswith("refused: bad_signature: ")


def test_issue_writes_csv_and_qr_files(db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    offer = run_json(capsys, "offers", "create", "--title", "Free latte", "--free-item", "latte")
    code, out, _ = run(capsys, "offers", "issue", offer["id"], "--count", "3")
    assert code == 0
    rows = out.strip().splitlines()
    assert rows[0] == "voucher_id,customer_id,expires_at,url" and len(rows) == 4
    png = tmp_path / "v.png"
    code, out, _ = run(capsys, "offers", "issue", offer["id"], "--qr", str(png))
    assert code == 0 and png.stat().st_size > 0
    assert "https://shop.example/o/" in out


def test_db_upgrade_and_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("O2O_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    code, out, _ = run(capsys, "db", "version")
    assert (code, out) == (0, f"0 (this o2o-sdk: {len(MIGRATIONS)})\n")
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and out.startswith("applied migrations 1")
    code, out, _ = run(capsys, "db", "upgrade")
    assert (code, out) == (0, f"schema already at version {len(MIGRATIONS)}\n")


@pytest.mark.postgres
def test_postgresql_needs_db_upgrade_first(pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("O2O_SECRET_KEYS", KEYS_ENV)
    assert_one_error_line(*run(capsys, "--database", pg_url, "offers", "list"), "o2o db upgrade")
    assert run(capsys, "--database", pg_url, "db", "upgrade")[0] == 0
    assert run_json(capsys, "--database", pg_url, "offers", "list") == []


# --------------------------------------------------------------------------- user mistakes: one line, no traceback


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["offers", "show", "https://shop.example/o/not-a-voucher"], ["[malformed_token]"]),
        (["offers", "show", "bAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAA"], ["[bad_signature]"]),
        (["offers", "show", "off_missing"], ["off_missing", "[not_found]"]),
        (["offers", "issue", "off_missing"], ["off_missing"]),
        (["offers", "void", "red_missing", "--reason", "refund"], ["red_missing"]),
        (["offers", "create", "--title", "X", "--percent", "10", "--ends", "2026-13-45"], ["2026-13-45"]),
        (["offers", "create", "--title", "X", "--percent", "10", "--starts", "tomorrow"], ["tomorrow"]),
        (["offers", "create", "--title", "X", "--amount", "12,50 EUR"], ["12,50", "[invalid_input]"]),
        (["offers", "create", "--title", "X", "--amount", "5 EURO"], ["5 EURO"]),
        (["offers", "create", "--title", "X", "--percent", "lots"], ["lots"]),
        (["offers", "create", "--title", "X", "--percent", "150"], ["percent"]),
        (["offers", "create", "--title", "X", "--percent", "10", "--stores", "atlantis"], ["atlantis"]),
        (["offers", "create", "--title", "X", "--percent", "10", "--max-total", "0"], ["--max-total"]),
        (["--database", "mysql://shop@db/o2o", "offers", "list"], ["mysql", "[configuration_error]"]),
        (["--database", "sqlite://relative.db", "offers", "list"], ["three slashes"]),
        (["stores", "poster", "lon-soho", "--out", "/nonexistent-o2o-dir/poster.svg"], ["/nonexistent-o2o-dir/poster.svg", "[os_error]"]),
        (["stores", "export", "--out", "/nonexistent-o2o-dir/stores.geojson"], ["/nonexistent-o2o-dir", "[os_error]"]),
        (["offers", "create", "--title", "X", "--percent", "10", "--budget", "1e999 EUR"], ["1,002-digit", "[invalid_input]"]),
        (["offers", "create", "--title", "X", "--percent", "nan"], ["percent", "[invalid_input]"]),
    ],
)
def test_a_user_mistake_prints_one_error_line(
    db: str, capsys: pytest.CaptureFixture[str], argv: list[str], fragments: list[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert_one_error_line(code, out, err, *fragments)


def test_mistakes_about_a_real_voucher_print_one_error_line(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    offer = run_json(capsys, "offers", "create", "--title", "10% off", "--percent", "10")
    [voucher] = run_json(capsys, "offers", "issue", offer["id"])
    for argv, fragment in (
        (["offers", "validate", voucher["token"], "--store", "atlantis"], "atlantis"),
        (["offers", "redeem", voucher["token"], "--store", "atlantis"], "atlantis"),
        (["offers", "validate", voucher["token"], "--store", "lon-soho", "--basket", "lots"], "lots"),
        (["offers", "redeem", voucher["token"], "--store", "lon-soho", "--idempotency-key", "k" * 256], "255"),
        (["offers", "issue", offer["id"], "--expires-in", "10x"], "10x"),
        (["offers", "issue", offer["id"], "--count", "2", "--qr", "terminal"], "one voucher"),
    ):
        assert_one_error_line(*run(capsys, *argv), fragment)


def test_a_configuration_error_is_reported_once(db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("O2O_SECRET_KEYS", "b:short")
    assert_one_error_line(*run(capsys, "offers", "list"), "shorter than 16 bytes")
    monkeypatch.setenv("O2O_SECRET_KEYS", KEYS_ENV)
    monkeypatch.setenv("O2O_BASE_URL", "shop.example")
    assert_one_error_line(*run(capsys, "offers", "list"), "O2O_BASE_URL")


@pytest.mark.parametrize("argv", [["offers", "list", "--bogus"], ["offers"], ["nonsense"], ["offers", "redeem", "tok"]])
def test_a_usage_error_prints_one_line_and_exits_2(db: str, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert_one_error_line(2, captured.out, captured.err)


# --------------------------------------------------------------------------- the installed console script


def console_script() -> str:
    beside = Path(sys.executable).with_name("o2o")
    found = str(beside) if beside.exists() else shutil.which("o2o")
    assert found, "the o2o console script is not installed"
    return found


def test_the_console_script_reports_mistakes_without_a_traceback(db: str) -> None:
    o2o = console_script()
    done = subprocess.run([o2o, "offers", "show", "off_missing"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert_one_error_line(done.returncode, done.stdout, done.stderr, "off_missing")

    listed = subprocess.run([o2o, "offers", "list", "--json"], capture_output=True, text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
