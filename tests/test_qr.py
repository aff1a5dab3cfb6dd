"""Voucher QR codes: rendered by segno, read back by a real decoder (zxing-cpp)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from conftest import TEST_KEYS
from PIL import Image

from o2o_sdk import O2O, Config, Discount, FrozenClock, Voucher


@pytest.fixture
def shop(sqlite_url: str, clock: FrozenClock) -> Iterator[O2O]:
    # QR codes do not depend on the database: one backend is enough.
    config = Config(database_url=sqlite_url, secret_keys=TEST_KEYS, base_url="https://vouchers.example-shop-name.com")
    with O2O(config, clock=clock) as sdk:
        yield sdk


@pytest.fixture
def voucher(shop: O2O) -> Voucher:
    return shop.offers.issue(shop.offers.create("Free coffee", Discount.free_item("coffee")), "alice")


def decode(path: Path) -> list[str]:
    with Image.open(path) as image:
        return [result.text for result in zxingcpp.read_barcodes(image)]


def test_the_png_decodes_to_the_voucher_link(shop: O2O, voucher: Voucher, tmp_path: Path) -> None:
    path = tmp_path / "voucher.png"
    qr = shop.offers.qr(voucher)
    qr.save(str(path), kind="png", scale=8, border=4)
    assert decode(path) == [shop.offers.url(voucher)]
    assert shop.offers.url(voucher) == f"https://vouchers.example-shop-name.com/o/{voucher.token}"
    assert qr.version <= 5


def test_a_qr_from_the_token_alone_is_the_same_code(shop: O2O, voucher: Voucher, tmp_path: Path) -> None:
    path = tmp_path / "from-token.png"
    shop.offers.qr(voucher.token).save(str(path), kind="png", scale=4, border=4)
    assert decode(path) == [shop.offers.url(voucher)]


def test_a_decoded_link_redeems(shop: O2O, voucher: Voucher, tmp_path: Path) -> None:
    from conftest import DEMO_STORES

    shop.stores.add(DEMO_STORES)
    path = tmp_path / "voucher.png"
    shop.offers.qr(voucher).save(str(path), kind="png", scale=8, border=4)
    [link] = decode(path)
    token = link.rsplit("/o/", 1)[1]
    assert shop.offers.redeem(token, "lon-soho").voucher_id == voucher.id


def test_the_svg_is_valid_xml_with_an_svg_root(shop: O2O, voucher: Voucher) -> None:
    out = io.BytesIO()
    shop.offers.qr(voucher).save(out, kind="svg", scale=4)
    root = ET.fromstring(out.getvalue())
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    assert list(root), "the svg draws something"


def test_the_terminal_rendering_is_not_empty(shop: O2O, voucher: Voucher) -> None:
    out = io.StringIO()
    shop.offers.qr(voucher).terminal(out=out, compact=True)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 10
    assert any(line.strip() for line in lines)
