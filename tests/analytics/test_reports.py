"""Report output: table, JSON, CSV, SVG and PNG charts, the CLI, the web page data, and the
events measurement writes itself (voucher viewed, store searched, follow-up clicked)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from o2o_sdk import O2O, Discount, InvalidInput, NotFound
from o2o_sdk.analytics import STORE_SEARCHED, VOUCHER_VIEWED, chart_png, chart_svg
from o2o_sdk.cli import main

from .synth import STEPS, build

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def small(sdk: O2O):  # type: ignore[no-untyped-def]
    return sdk, build(sdk, customers=300, seed=3)


def test_svg_is_valid_and_bars_are_proportional(small) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = small
    report = sdk.analytics.funnel()
    root = ET.fromstring(chart_svg(report))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    funnel = {b.get("data-label"): float(b.get("width", "0")) for b in bars[: len(STEPS)]}
    top = funnel["Voucher issued"]
    for step in report.steps:
        assert funnel[step.label] == pytest.approx(top * step.customers / truth.counts[0], abs=0.01)
    per_store = [b for b in bars[len(STEPS):] if not b.get("data-label", "").startswith("legend")]
    assert len(per_store) == 3 * len(truth.by_store)
    widths = {b.get("data-label"): float(b.get("width", "0")) for b in per_store}
    most = max(max(c[3], c[4], c[7]) for c in truth.by_store.values())
    assert widths["lon-soho Checked in"] / widths["nyc-soho Checked in"] == pytest.approx(
        truth.by_store["lon-soho"][3] / truth.by_store["nyc-soho"][3], rel=1e-3)
    assert max(widths.values()) == pytest.approx(top, abs=0.01) and most > 0


def test_png_opens_with_size_and_coloured_bars(small) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    sdk, _ = small
    data = chart_png(sdk.analytics.funnel(), scale=1)
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG" and img.size[0] == 760 and img.size[1] > 300
    # the first funnel bar (issued, full width) starts at x=170, y=34
    assert img.getpixel((175, 40)) == (0x25, 0x63, 0xEB)
    assert img.getpixel((5, 5)) == (255, 255, 255)


def test_table_json_csv_and_web_page_data(small) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = small
    page = sdk.analytics.report_page()
    assert page.svg.startswith("<svg") and page.table == page.report.table()
    assert [s["customers"] for s in page.data["steps"]] == truth.counts
    json.dumps(page.data)
    rows = list(csv.DictReader(io.StringIO(page.report.to_csv())))
    assert [int(r["customers"]) for r in rows] == truth.counts
    table = sdk.analytics.funnel_table()
    assert "Voucher issued" in table and f"{truth.counts[0]:,}" in table and "Attributed orders" in table


def test_cli_report_funnel(small, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    sdk, truth = small
    db = ["--database", sdk.config.database_url]
    assert main([*db, "report", "funnel", "--json", "--chart", str(tmp_path / "f.svg"), "--chart", str(tmp_path / "f.png")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["customers"] for s in data["steps"]] == truth.counts
    assert (tmp_path / "f.svg").read_text().startswith("<svg") and (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert main([*db, "report", "funnel", "--csv", "--offer", "spring"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("issued,Voucher issued,")
    assert main([*db, "report", "funnel", "--store", "lon-soho", "--since", "2026-05-01"]) == 0
    assert "store lon-soho" in capsys.readouterr().out
    assert main([*db, "report", "funnel", "--chart", str(tmp_path / "f.gif")]) == 1
    assert ".svg or .png" in capsys.readouterr().err
    assert main([*db, "report", "attribute"]) == 0
    assert capsys.readouterr().out == "attributed 0 orders\n"


def test_cli_customers_forget_and_purge(sdk: O2O, capsys) -> None:
    db = ["--database", sdk.config.database_url]
    sdk.journal.append("issued", customer_id="cust-9", data={"customer_email": "nine@example.com"})
    assert main([*db, "customers", "forget", "cust-9"]) == 0
    assert "forgot cust-9: now anon_" in capsys.readouterr().out
    assert main([*db, "customers", "purge"]) == 1
    assert "O2O_RETENTION" in capsys.readouterr().err
    assert main([*db, "customers", "purge", "--older-than", "1d"]) == 0


def test_record_view_search_and_click(sdk: O2O) -> None:
    offer = sdk.offers.create("Spring", Discount.percent_off(10))
    v = sdk.offers.issue(offer, "c1")
    viewed = sdk.analytics.record_view(sdk.offers.url(v) if hasattr(sdk.offers, "url") else v.token)
    assert (viewed.type, viewed.offer_id, viewed.voucher_id, viewed.customer_id) == (VOUCHER_VIEWED, offer.id, v.id, "c1")
    assert sdk.analytics.record_view(v.id).voucher_id == v.id
    with pytest.raises(NotFound):
        sdk.analytics.record_view("not-a-token")
    sdk.stores.near(51.5, -0.13, k=2)
    sdk.stores.near(51.5, -0.13, k=2, customer_id="c1", services="pickup")
    anon, mine = sdk.journal.read(types=[STORE_SEARCHED])
    assert anon.customer_id is None and anon.data == {"results": 2}
    assert mine.customer_id == "c1" and mine.data == {"results": 2, "services": ["pickup"]}
    assert "51.5" not in json.dumps([anon.data, mine.data])
    sdk.journal.append(sdk.analytics.events.followup_delivered, customer_id="c1", offer_id=offer.id, data={"followup_id": "fu-1"})
    click = sdk.analytics.record_click("fu-1", link="https://shop.example/x")
    assert (click.type, click.customer_id, click.offer_id, click.data) == (
        "followup_clicked", "c1", offer.id, {"followup_id": "fu-1", "link": "https://shop.example/x"})
    assert sdk.analytics.record_click("fu-unknown").customer_id is None
    with pytest.raises(InvalidInput):
        sdk.analytics.record_click("")
    report = sdk.analytics.funnel()
    assert [s.customers for s in report.steps][:3] == [1, 1, 1]
