"""The printable poster (SVG and PDF, their QR decoded by zxing) and the ``o2o checkin`` commands."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zxingcpp
from conftest import DEMO_STORES
from PIL import Image, ImageDraw

from o2o_sdk import O2O, Config, OpeningHours, Store, TrustLevel
from o2o_sdk.cli import main
from o2o_sdk.cli._checkin import add_poster_command

BERLIN = Store(
    "ber-mitte", "Kettle & Crumb Berlin \u2013 Rosenthaler Straße", "Europe/Berlin", 52.52661, 13.40127,
    "Rosenthaler Straße 40, 10178 Berlin",
    hours=OpeningHours.parse({"weekly": {"mon-fri": ["08:00-19:00"], "sat": ["09:00-18:00", "20:00-02:00"]}}),
)  # fmt: skip


def decode(image: Image.Image) -> str:
    [found] = zxingcpp.read_barcodes(image)
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return str(found.text)


def svg_qr_image(svg: str) -> Image.Image:
    """Draw the QR of a poster SVG from its path, module by module, as a scanner would see it."""
    m = re.search(r'<g transform="translate\(([\d.]+) ([\d.]+)\) scale\(([\d.]+)\)"><path d="([^"]+)"', svg)
    assert m, "the poster has a QR group"
    runs = [(int(c), int(r), int(n)) for c, r, n in re.findall(r"M(\d+),(\d+)h(\d+)v1h-\3z", m.group(4))]
    assert "".join(f"M{c},{r}h{n}v1h-{n}z" for c, r, n in runs) == m.group(4), "the path holds only module runs"
    size = max(r for _, r, _ in runs) + 1 + 4  # plus the quiet zone below
    assert float(m.group(3)) * size == pytest.approx(120, abs=0.01), "the QR is 120 mm wide"
    img = Image.new("L", (size * 10, size * 10), 255)
    draw = ImageDraw.Draw(img)
    for c, r, n in runs:
        draw.rectangle((c * 10, r * 10, (c + n) * 10 - 1, r * 10 + 9), fill=0)
    return img


def pdf_qr_image(pdf: bytes) -> Image.Image:
    """Rasterise the rectangles of a poster PDF (3 px per point), the way a printer would."""
    stream = pdf.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0].decode("ascii")
    rects = [tuple(map(float, g)) for g in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re", stream)]
    assert rects
    height = 841.89
    img = Image.new("L", (int(595.28 * 3), int(height * 3)), 255)
    draw = ImageDraw.Draw(img)
    for x, y, w, h in rects:
        draw.rectangle(
            (round(x * 3), round((height - y - h) * 3), round((x + w) * 3) - 1, round((height - y) * 3) - 1), fill=0
        )
    return img


@pytest.fixture
def shop(make_sdk: Callable[..., O2O]) -> O2O:
    sdk = make_sdk()
    sdk.stores.add([*DEMO_STORES, BERLIN])
    return sdk


def test_the_svg_poster_has_a_scannable_check_in_qr_name_and_hours(shop: O2O) -> None:
    svg = shop.checkins.poster_svg("ber-mitte")

    link = decode(svg_qr_image(svg))
    assert link.startswith("https://shop.example/p/")
    assert "Kettle &amp; Crumb Berlin \u2013 Rosenthaler Straße" in svg
    assert "Rosenthaler Straße 40, 10178 Berlin" in svg
    assert ">Mon-Fri  08:00-19:00<" in svg and ">Sat  09:00-18:00, 20:00-02:00<" in svg and ">Sun  closed<" in svg
    assert "Europe/Berlin" in svg
    result = shop.checkins.scan(link, customer_id="ada")
    assert (result.checkin.store_id, result.checkin.trust) == ("ber-mitte", TrustLevel.LOW)


def test_the_pdf_poster_is_a_valid_one_page_pdf_with_a_scannable_qr(shop: O2O) -> None:
    pdf = shop.checkins.poster_pdf("ber-mitte")

    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    assert pdf[startxref:].startswith(b"xref\n0 7\n")
    offsets = [int(line[:10]) for line in pdf[startxref:].split(b"\n")[3:9]]
    assert [pdf[o:].split(b"\n", 1)[0] for o in offsets] == [f"{n} 0 obj".encode() for n in range(1, 7)]
    length = int(re.search(rb"/Length (\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert len(pdf.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]) == length
    assert b"/Count 1" in pdf
    # Text in WinAnsi: the en dash is \226 and "ß" is \337.
    assert rb"(Kettle & Crumb Berlin \226 Rosenthaler Stra\337e) Tj" in pdf
    assert b"(Mon-Fri  08:00-19:00) Tj" in pdf
    link = decode(pdf_qr_image(pdf))
    assert shop.checkins.scan(link, customer_id="ada").checkin.store_id == "ber-mitte"


def test_a_store_without_hours_says_so_and_unprintable_names_degrade(shop: O2O) -> None:
    svg = shop.checkins.poster_svg("tyo-shibuya")
    assert ">Opening hours unknown<" in svg
    shop.stores.add(Store("tyo-2", "渋谷店 (Shibuya)", "Asia/Tokyo", 35.66, 139.70))
    assert "渋谷店" in shop.checkins.poster_svg("tyo-2")
    pdf = shop.checkins.poster_pdf("tyo-2")
    assert b"(??? \\(Shibuya\\)) Tj" in pdf
    assert decode(pdf_qr_image(pdf)).startswith("https://shop.example/p/")


def test_save_poster_picks_the_format_from_the_extension(shop: O2O, tmp_path: Path) -> None:
    assert shop.checkins.save_poster("lon-soho", tmp_path / "p.svg").read_text(encoding="utf-8").startswith("<?xml")
    assert shop.checkins.save_poster("lon-soho", tmp_path / "p.PDF").read_bytes().startswith(b"%PDF")
    from o2o_sdk import InvalidInput

    with pytest.raises(InvalidInput):
        shop.checkins.save_poster("lon-soho", tmp_path / "p.png")


def test_the_rotating_code_qr_decodes_to_its_link(shop: O2O, tmp_path: Path) -> None:
    code = shop.checkins.current_code("lon-soho")
    shop.checkins.qr(code.url).save(tmp_path / "code.png", kind="png", scale=6)
    assert decode(Image.open(tmp_path / "code.png")) == code.url


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("O2O_DATABASE_URL", "O2O_SECRET_KEYS", "O2O_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("O2O_BASE_URL", "https://shop.example")
    with O2O(Config(database_url=sqlite_url, base_url="https://shop.example", auto_migrate=True)) as sdk:
        sdk.stores.add([*DEMO_STORES, BERLIN])
    yield sqlite_url


def run(db: str, *argv: str) -> int:
    return main(["--database", db, *argv])


def test_cli_code_then_record_with_the_link(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cli_db, "checkin", "code", "lon-soho") == 0
    out = capsys.readouterr().out
    assert "▀" in out or "█" in out, "a terminal QR"
    [link] = re.findall(r"https://shop\.example/c/\S+", out)
    assert run(cli_db, "checkin", "record", "--code", link, "--customer", "ada") == 0
    assert capsys.readouterr().out.startswith("checked in: ada at lon-soho by code (trust verified)")
    assert run(cli_db, "checkin", "record", "--code", link, "--customer", "ada") == 1
    assert capsys.readouterr().err.strip().endswith("[code_reused]")


def test_cli_code_watch_renews_the_code_each_step(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from o2o_sdk.cli import _checkin

    naps: list[float] = []
    monkeypatch.setattr(_checkin.time, "sleep", naps.append)
    assert run(cli_db, "checkin", "code", "lon-soho", "--watch", "--count", "3", "--no-qr") == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"https://shop\.example/c/\S+", out)) == 3
    assert len(naps) == 2 and all(0 < n <= 30.05 for n in naps)


def test_cli_code_json(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cli_db, "checkin", "code", "tyo-shibuya", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["store_id"] == "tyo-shibuya" and data["url"].endswith(data["code"])


def test_cli_record_location_staff_and_list(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            cli_db,
            "checkin",
            "record",
            "--store",
            "lon-soho",
            "--customer",
            "ada",
            "--location",
            "51.5136",
            "-0.1365",
            "--accuracy",
            "500",
        )
        == 1
    )
    assert capsys.readouterr().err.strip().endswith("[location_too_imprecise]")
    assert (
        run(
            cli_db,
            "checkin",
            "record",
            "--store",
            "lon-soho",
            "--customer",
            "ada",
            "--location",
            "51.5136",
            "-0.1365",
            "--accuracy",
            "8",
        )
        == 0
    )
    assert "checked in" in capsys.readouterr().out
    assert run(cli_db, "checkin", "token", "bob", "--member") == 0
    member_link = capsys.readouterr().out.strip()
    assert "/m/" in member_link
    assert (
        run(
            cli_db,
            "checkin",
            "record",
            "--store",
            "nyc-soho",
            "--staff",
            "--token",
            member_link,
            "--staff-id",
            "sam",
            "--json",
        )
        == 0
    )
    recorded = json.loads(capsys.readouterr().out)
    assert recorded["created"] is True and recorded["checkin"]["trust"] == "high"
    assert run(cli_db, "checkin", "list", "--json") == 0
    assert [(c["customer_id"], c["store_id"], c["method"]) for c in json.loads(capsys.readouterr().out)] == [
        ("ada", "lon-soho", "geofence"), ("bob", "nyc-soho", "staff"),
    ]  # fmt: skip
    assert run(cli_db, "checkin", "record", "--staff", "--customer", "x") == 1
    assert "--staff needs --store" in capsys.readouterr().err


def test_cli_session_token_then_record_with_it(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cli_db, "checkin", "token", "ada", "--expires-in", "1h") == 0
    session = capsys.readouterr().out.strip()
    assert (
        run(
            cli_db,
            "checkin",
            "record",
            "--store",
            "lon-soho",
            "--session",
            session,
            "--location",
            "51.5136",
            "-0.1365",
            "--accuracy",
            "8",
        )
        == 0
    )
    assert "ada at lon-soho" in capsys.readouterr().out


def test_cli_poster(cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cli_db, "checkin", "poster", "ber-mitte", "--out", str(tmp_path / "poster.pdf")) == 0
    assert (tmp_path / "poster.pdf").read_bytes().startswith(b"%PDF")
    assert run(cli_db, "checkin", "poster", "ber-mitte", "--out", str(tmp_path / "poster.png")) == 1
    assert "name it .svg or .pdf" in capsys.readouterr().err


def test_add_poster_command_wires_into_another_command_group(cli_db: str, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="o2o stores")
    add_poster_command(parser.add_subparsers())
    args = parser.parse_args(["poster", "lon-soho", "--out", str(tmp_path / "soho.svg")])
    with O2O(Config(database_url=cli_db, base_url="https://shop.example")) as sdk:
        assert args.func(sdk, args) == 0
        assert decode(svg_qr_image((tmp_path / "soho.svg").read_text(encoding="utf-8"))).startswith(
            "https://shop.example/p/"
        )
