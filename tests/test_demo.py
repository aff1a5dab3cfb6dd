"""`o2o demo` tells the online → offline story, and runs again cleanly."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from o2o_sdk import O2O, Config
from o2o_sdk.cli import main
from o2o_sdk.cli._demo import story_start


def test_demo_tells_the_story_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("O2O_DATABASE_URL", "O2O_SECRET_KEYS", "O2O_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "demo"
    outputs = []
    for _ in range(2):
        assert main(["demo", "--dir", str(folder)]) == 0
        outputs.append(capsys.readouterr().out)
    for out in outputs:
        assert "QR version 5, error correction M" in out or "QR version 4, error correction M" in out
        assert "refused: checkin_required" in out
        assert re.search(r"checked in at .+ Covent Garden, trust 'verified'", out)
        assert "refused: code_expired" in out  # a photo of the rotating code stops working
        assert "refused: wrong_store" in out
        assert "refused: already_redeemed" in out
        assert "offer usage: 1/500 redemptions, 1.26 GBP" in out
        assert "█" in out or "▀" in out  # the QR in the terminal
        assert "Subject: Thanks for visiting Kettle & Crumb Covent Garden" in out
        assert "Subject: A little something for your next visit" in out
        assert "the loop is closed" in out
        assert re.search(r"Follow-up delivered\s+1\s+100\.0%", out)
        assert re.search(r"Returned\s+1\s+100\.0%", out)
        # order online, collect in store: the pass is sent, the pass is scanned once
        assert "Subject: Your order is ready for pickup at Kettle & Crumb Covent Garden" in out
        assert "a barista scans the pass and hands the order over: handed_over" in out
        assert "a second barista scans the same pass: refused: already_handed_over" in out
    # the nearest open store with seating is chosen, not the closer one that opens later
    assert "290 m  Kettle & Crumb Covent Garden" in outputs[0]
    assert "Kettle & Crumb Soho at 194 m, opens only at 10:00" in outputs[0]

    # the journal holds exactly one redemption although the till retried
    with O2O(Config(database_url=f"sqlite:///{folder / 'demo.db'}")) as sdk:
        counts = sdk.journal.counts()
        assert counts["redeemed"] == 2  # the offer once (despite the retry), then the next-visit reward
        assert counts["followup_sent"] == 3  # thanks, next-visit offer, pickup pass
        assert counts["pickup_handed_over"] == 1
        assert len(sdk.storage.list_redemptions()) == 2

    import zxingcpp
    from PIL import Image

    [decoded] = zxingcpp.read_barcodes(Image.open(folder / "voucher.png"))
    assert decoded.text.startswith("https://kettle-and-crumb.example/o/")
    assert decoded.text in outputs[1]
    assert (folder / "voucher.svg").read_text().lstrip().startswith("<?xml")


def test_demo_refuses_to_wipe_a_folder_that_is_not_its_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", "--dir", str(tmp_path), "--no-qr"]) == 1
    assert (tmp_path / "precious.txt").exists()
    assert capsys.readouterr().err.startswith("o2o: error:")


@pytest.mark.parametrize("now", [datetime(2026, 11, 23, 2, 0, tzinfo=UTC), datetime(2026, 3, 28, 23, 30, tzinfo=UTC)])
def test_story_time_is_the_coming_saturday_morning_in_london(now: datetime) -> None:
    from zoneinfo import ZoneInfo

    start = story_start(now).astimezone(ZoneInfo("Europe/London"))
    assert start > now and start.weekday() == 5 and (start.hour, start.minute) == (9, 0)
