"""``o2o pos import | sign | check`` through the CLI's main(), on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from o2o_pos import sign
from pos_events import SECRET, STORES, body_of, event

from o2o_sdk import O2O, Config
from o2o_sdk.cli import main

MAPPING = """\
layout = "sales"
currency = "GBP"

[columns]
sale_id = "Receipt"
store = "Shop"
occurred_at = "Time"
total = "Total"
items = "Items"
"""
GOOD = """\
Receipt,Shop,Time,Total,Items
R-1,T01,2026-06-15 13:05:00,9.00,flat-white:2:3.20|cardamom-bun:1:2.60
R-2,T02,2026-06-15 13:06:00,3.20,flat-white:1:3.20
R-3,ber-mitte,2026-06-15 13:07:00,2.60,cardamom-bun:1:2.60
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("O2O_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("O2O_SECRET_KEYS", "a:cli-test-secret-0123456789")
    monkeypatch.delenv("O2O_POS_WEBHOOK_SECRETS", raising=False)
    monkeypatch.chdir(tmp_path)
    return db


@pytest.fixture
def shop(env: Path, tmp_path: Path) -> Path:
    with O2O(Config.from_env()) as sdk:
        sdk.stores.add(STORES)
    (tmp_path / "mapping.toml").write_text(MAPPING)
    (tmp_path / "sales.csv").write_text(GOOD)
    return tmp_path


def recorded() -> list[str]:
    with O2O(Config.from_env()) as sdk:
        return sorted(o.order_id for o in sdk.orders.list("pos"))


def one_line_error(err: str, needle: str) -> None:
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("o2o: error: ") and needle in err


def test_import_records_the_sales_with_a_progress_bar(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pos", "import", "sales.csv", "--mapping", "mapping.toml"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("sales.csv: 3 row(s), 3 sale(s): 3 recorded, 0 already recorded, 0 bad row(s); 0 attributed to vouchers")
    assert "importing sales.csv [" in err and "3/3 100.0%" in err  # stderr is no terminal here: plain lines
    assert recorded() == ["R-1", "R-2", "R-3"]
    assert main(["pos", "import", "sales.csv", "--mapping", "mapping.toml", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "0 recorded, 3 already recorded" in out and err == ""
    assert recorded() == ["R-1", "R-2", "R-3"]


def test_import_json_report(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (shop / "sales.csv").write_text(GOOD + "R-4,T01,2026-06-15 13:08:00,1.0.0,\nR-5,T77,2026-06-15 13:09:00,1.00,\n")
    assert main(["pos", "import", "sales.csv", "--mapping", "mapping.toml", "--json"]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert {k: report[k] for k in ("file", "rows", "sales", "recorded", "duplicates")} == \
        {"file": "sales.csv", "rows": 5, "sales": 5, "recorded": 3, "duplicates": 0}  # fmt: skip
    assert [(e["line"], e["problem"], e["sale_id"]) for e in report["errors"]] == [(5, "bad_amount", "R-4"), (6, "unknown_store", "R-5")]


def test_bad_rows_exit_1_and_are_listed_by_line(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = "".join(f"B-{n},T01,2026-06-15 14:00:00,x{n},\n" for n in range(60))
    (shop / "sales.csv").write_text(GOOD + bad)
    assert main(["pos", "import", "sales.csv", "--mapping", "mapping.toml", "--no-progress"]) == 1
    out, err = capsys.readouterr()
    assert "3 recorded, 0 already recorded, 60 bad row(s)" in out
    lines = err.strip().splitlines()
    assert lines[0] == "sales.csv:5: [bad_amount] total 'x0' is not a number written with '.' as decimal separator."
    assert len(lines) == 51 and lines[-1] == "sales.csv: … and 10 more bad row(s) (see --json)"
    assert recorded() == ["R-1", "R-2", "R-3"]  # the good rows are kept


def test_a_missing_file_is_one_line(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pos", "import", "nope.csv", "--mapping", "mapping.toml"]) == 1
    one_line_error(capsys.readouterr().err, "No such file: nope.csv. [file_not_found]")


@pytest.mark.parametrize(("toml", "needle"), [
    ('layout = "sales"\n[columns]\nsale_id = "Receipt"\n', "the sales layout needs columns.occurred_at"),
    ("layout = \n", "mapping.toml is not valid TOML"),
    (MAPPING.replace('"Time"', '"When"'), "column 'When' (columns.occurred_at) is not in the header"),
])  # fmt: skip
def test_a_bad_mapping_is_one_line(shop: Path, capsys: pytest.CaptureFixture[str], toml: str, needle: str) -> None:
    (shop / "mapping.toml").write_text(toml)
    assert main(["pos", "import", "sales.csv", "--mapping", "mapping.toml"]) == 1
    one_line_error(capsys.readouterr().err, needle)
    assert recorded() == []


def test_a_missing_mapping_file_and_option(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pos", "import", "sales.csv", "--mapping", "other.toml"]) == 1
    one_line_error(capsys.readouterr().err, "No such mapping file: other.toml. [bad_mapping]")
    with pytest.raises(SystemExit) as exited:  # a usage error: argparse exits 2 with one line
        main(["pos", "import", "sales.csv"])
    assert exited.value.code == 2 and "--mapping" in capsys.readouterr().err


def test_sign_prints_the_header_without_opening_a_database(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    body = body_of(event())
    (tmp_path / "event.json").write_bytes(body)
    assert main(["pos", "sign", "event.json", "--secret", SECRET, "--timestamp", "1781525100"]) == 0
    assert capsys.readouterr().out == f"O2O-Signature: {sign(body, SECRET, 1781525100)}\n"
    monkeypatch.setenv("O2O_POS_WEBHOOK_SECRETS", f"{SECRET},older-secret-0123456789")
    assert main(["pos", "sign", "event.json", "--timestamp", "1781525100"]) == 0
    assert capsys.readouterr().out == f"O2O-Signature: {sign(body, SECRET, 1781525100)}\n"
    assert not env.exists(), "signing needs no database"
    monkeypatch.delenv("O2O_POS_WEBHOOK_SECRETS")
    assert main(["pos", "sign", "event.json"]) == 1
    one_line_error(capsys.readouterr().err, "Give --secret or set O2O_POS_WEBHOOK_SECRETS.")


def test_check_reports_every_problem(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "good.json").write_bytes(body_of(event()))
    assert main(["pos", "check", "good.json"]) == 0
    assert capsys.readouterr().out == "good.json: a valid sale event\n"
    (tmp_path / "bad.json").write_bytes(body_of(event(store=None, total={"amount": "1", "currency": "euro"})))
    assert main(["pos", "check", "bad.json"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "bad.json: store: is required for an in-store sale (an SDK store id or the POS's store code)",
        'bad.json: total.currency: must be an ISO 4217 code like EUR, got "euro"',
    ]
    (tmp_path / "broken.json").write_text("{")
    assert main(["pos", "check", "broken.json"]) == 1
    assert capsys.readouterr().err.startswith("broken.json: not JSON:")
    assert main(["pos", "check", "missing.json"]) == 1
    one_line_error(capsys.readouterr().err, "No such file: missing.json.")
    assert not env.exists()
