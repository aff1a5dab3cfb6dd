"""CSV uploads: both layouts through a column mapping, bad rows reported by line with a typed
problem while good rows are kept, re-uploads recording nothing twice, deterministic ids for
rows without a sale id, voucher attribution, mapping errors, and a 100,000-row file."""

from __future__ import annotations

import os
import re
import secrets
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from o2o_pos import CsvMapping, ImportReport, PosAdapter, PosSettings, Problem, import_csv, load_mapping
from pos_events import SECRET, STORES, delivery, event

from o2o_sdk import O2O, Discount, EventType, InvalidInput, Money, OrderKind

DOCS = [Path(__file__).parents[1] / "README.md", Path(__file__).parents[3] / "docs" / "adapters" / "pos.md"]

SALES: dict[str, Any] = {
    "layout": "sales", "currency": "GBP",
    "columns": {"sale_id": "Receipt", "store": "Shop", "occurred_at": "Time", "total": "Total", "items": "Items",
                "voucher_token": "Voucher", "voucher_id": "VoucherId", "customer_id": "Customer", "customer_email": "Email"},
}  # fmt: skip
SALES_HEADER = "Receipt,Shop,Time,Total,Items,Voucher,VoucherId,Customer,Email\n"

LINES: dict[str, Any] = {
    "layout": "lines", "delimiter": ";", "decimal_separator": ",", "thousands_separator": ".",
    "date_format": "%d.%m.%Y %H:%M", "currency": "EUR",
    "columns": {"sale_id": "Bon", "store": "Filiale", "occurred_at": ["Datum", "Zeit"], "sku": "Artikel",
                "quantity": "Menge", "unit_price": "Preis", "name": "Name", "customer_id": "Kunde"},
}  # fmt: skip
LINES_HEADER = "Bon;Filiale;Datum;Zeit;Artikel;Menge;Preis;Name;Kunde\n"


@pytest.fixture
def sdk(o2o_make_sdk) -> O2O:
    sdk = o2o_make_sdk()
    sdk.stores.add(STORES)
    return sdk


def run(sdk: O2O, tmp_path: Path, text: str, mapping: dict[str, Any], *, name: str = "sales.csv",
        encoding: str = "utf-8", **kwargs: Any) -> ImportReport:  # fmt: skip
    path = tmp_path / name
    path.write_text(text, encoding=encoding, newline="")
    return import_csv(sdk, path, CsvMapping.from_dict(mapping), **kwargs)


def problems(report: ImportReport) -> list[tuple[int, str]]:
    return [(e.line, e.problem.value) for e in report.errors]


def journal(sdk: O2O) -> list[Any]:
    return sdk.journal.read(types=[EventType.ORDER_IN_STORE, EventType.ORDER_ONLINE], limit=10_000)


# ------------------------------------------------------------------ the two layouts
def test_one_row_per_sale(sdk: O2O, tmp_path: Path) -> None:
    text = SALES_HEADER + (
        "R-1,T01,2026-06-15 13:05:00,9.00,flat-white:2:3.20|cardamom-bun:1:2.60,,,cust-7,ada@example.com\n"
        "R-2,T02,2026-06-15T14:00:00+02:00,3.50 GBP,,,,,\n"
        "R-3,ber-mitte,2026-06-15 15:00,12.00,bag:1,,,,\n"
    )  # fmt: skip
    report = run(sdk, tmp_path, text, SALES)
    assert report.to_dict() == {"rows": 3, "sales": 3, "recorded": 3, "duplicates": 0, "attributed": 0,
                                "unmatched_vouchers": 0, "errors": []}  # fmt: skip
    r1 = sdk.orders.get("pos", "R-1")
    assert r1.kind is OrderKind.IN_STORE and r1.store_id == "lon-soho" and r1.location_id == "T01"
    assert r1.occurred_at.isoformat() == "2026-06-15T13:05:00+01:00"  # store-local: London summer time
    assert r1.total == Money(900, "GBP") and (r1.customer_id, r1.customer_email) == ("cust-7", "ada@example.com")
    assert [(i.sku, i.quantity, i.unit_price) for i in r1.items] == [("flat-white", 2, Money(320, "GBP")),
                                                                     ("cardamom-bun", 1, Money(260, "GBP"))]  # fmt: skip
    assert r1.delivery_id is None and r1.data["source"] == "csv" and r1.data["line"] == 2 and r1.data["file"] == "sales.csv"
    assert sdk.orders.get("pos", "R-2").occurred_at.isoformat() == "2026-06-15T14:00:00+02:00"
    r3 = sdk.orders.get("pos", "R-3")
    assert r3.store_id == "ber-mitte" and r3.occurred_at.utcoffset().total_seconds() == 7200  # Berlin
    assert [(i.sku, i.quantity, i.unit_price) for i in r3.items] == [("bag", 1, None)]
    assert [e.store_id for e in journal(sdk)] == ["lon-soho", "par-marais", "ber-mitte"]


def test_one_row_per_line_grouped_by_sale_id_in_any_order(sdk: O2O, tmp_path: Path) -> None:
    text = LINES_HEADER + (
        "B-1;T02;15.06.2026;14:05;croissant;2;1,80;Croissant;c-1\n"
        "B-2;T01;15.06.2026;14:06;flat-white;1;3,20;;\n"
        "B-1;;;;cafe-creme;1;3,50;Café crème;\n"  # sale-level cells may be left empty on later lines
        "B-1;T02;15.06.2026;14:05;gateau;1;1.234,00;Gâteau;\n"  # thousands separator
    )  # fmt: skip
    report = run(sdk, tmp_path, text, LINES)
    assert (report.rows, report.sales, report.recorded, report.errors) == (4, 2, 2, ())
    b1 = sdk.orders.get("pos", "B-1")
    assert b1.total == Money(124_110, "EUR")  # 2 x 1.80 + 3.50 + 1234.00
    assert [(i.sku, i.quantity, i.name) for i in b1.items] == [("croissant", 2, "Croissant"), ("cafe-creme", 1, "Café crème"),
                                                               ("gateau", 1, "Gâteau")]  # fmt: skip
    assert b1.store_id == "par-marais" and b1.customer_id == "c-1"
    assert b1.occurred_at.isoformat() == "2026-06-15T14:05:00+02:00"  # "store": read in Paris time
    assert sdk.orders.get("pos", "B-2").occurred_at.isoformat() == "2026-06-15T14:06:00+01:00"


def test_a_total_column_in_the_lines_layout_must_agree(sdk: O2O, tmp_path: Path) -> None:
    mapping = {**LINES, "columns": {**LINES["columns"], "total": "Summe"}}
    header = LINES_HEADER.rstrip("\n") + ";Summe\n"
    text = header + (
        "B-1;T02;15.06.2026;14:05;croissant;2;1,80;;;9,00\n"
        "B-1;T02;15.06.2026;14:05;cafe;1;5,40;;;9,00\n"
        "B-2;T02;15.06.2026;14:07;croissant;1;1,80;;;1,80\n"
        "B-2;T02;15.06.2026;14:07;cafe;1;3,50;;;5,30\n"
    )  # fmt: skip
    report = run(sdk, tmp_path, text, mapping)
    assert report.recorded == 1 and sdk.orders.get("pos", "B-1").total == Money(900, "EUR")
    [error] = report.errors
    assert (error.line, error.problem, error.sale_id) == (5, Problem.INCONSISTENT_SALE, "B-2")
    assert error.message == "total '5,30' differs from '1,80' on an earlier line of sale B-2; the sale was not imported."


def test_the_examples_in_the_docs_import_cleanly(o2o_make_sdk, tmp_path: Path) -> None:
    imported = 0
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        blocks = re.findall(r"```(toml|csv)\n(.*?)```", text, re.S)
        mapping: CsvMapping | None = None
        for kind, body in blocks:
            if kind == "toml":
                mapping = CsvMapping.from_dict(tomllib.loads(body), source=doc.name)
                continue
            sdk = o2o_make_sdk(database_url=f"sqlite:///{tmp_path / f'doc{imported}.db'}")
            sdk.stores.add(STORES)
            path = tmp_path / f"doc{imported}.csv"
            path.write_text(body, encoding="utf-8")
            assert mapping is not None
            report = import_csv(sdk, path, mapping)
            assert report.ok and report.recorded == report.sales > 0, (doc.name, report)
            imported += 1
    assert imported == 2


# ------------------------------------------------------------------ bad rows
def test_bad_rows_are_reported_by_line_and_good_rows_kept(sdk: O2O, tmp_path: Path) -> None:
    text = SALES_HEADER + (
        "G-1,T01,2026-06-15 10:00,5.00,,,,,\n"                           # 2 good
        "B-1,T01,2026-06-15 10:00,5.0.0,,,,,\n"                          # 3 bad amount
        "B-2,T01,15/06/2026 10:00,5.00,,,,,\n"                           # 4 bad date
        "B-3,T99,2026-06-15 10:00,5.00,,,,,\n"                           # 5 unknown store
        "B-4,,2026-06-15 10:00,5.00,,,,,\n"                              # 6 no store
        "B-5,T01,2026-06-15 10:00,5.00,flat-white:two:3.20,,,,\n"        # 7 bad items
        "B-6,T01,2026-06-15 10:00,5.00\n"                                # 8 too few cells
        "G-1,T01,2026-06-15 11:00,6.00,,,,,\n"                           # 9 duplicate sale id
        "B-7,T01,2026-06-15 10:00,5.00,,,,,not-an-email\n"              # 10 bad email
        "B-8,T01,2026-06-15 10:00,5.001,,,,,\n"                          # 11 too many decimals
        "B-9,T01,2026-06-15 10:00,5.00 EURO,,,,,\n"                      # 12 not a currency code
        "B-10,T01,2026-06-15 10:00,5.00 EUR,flat-white:1:5.00,,,,\n"    # 13 other currency than the mapping's
        "B-11,T01,2026-06-15 10:00,-5.00,,,,,\n"                         # 14 negative total
        "B-12,T01,2026-06-15 10:00,5.00,,,xyz,,\n"                       # 15 bad voucher id
        "\n"                                                             # 16 blank: skipped
        'G-2,T01,2026-06-15 12:00,7.00,"flat-white:1:3.50|\nbun:1:3.50",,,,\n'  # 17-18 good, a cell over two lines
        "B-13,T01,2026-06-15 10:00,,,,,,\n"                              # 19 no total
        "G-3,T02,2026-06-15 12:00,1.00,,,,,\n"                           # 20 good
    )  # fmt: skip
    report = run(sdk, tmp_path, text, SALES)
    assert problems(report) == [
        (3, "bad_amount"), (4, "bad_date"), (5, "unknown_store"), (6, "missing_value"), (7, "bad_items"),
        (8, "bad_row"), (9, "duplicate_sale"), (10, "bad_value"), (11, "bad_amount"), (12, "bad_amount"),
        (13, "bad_currency"), (14, "bad_amount"), (15, "bad_value"), (19, "missing_value"),
    ]  # fmt: skip
    by_line = {e.line: e for e in report.errors}
    assert by_line[3].message == "total '5.0.0' is not a number written with '.' as decimal separator."
    assert by_line[4].message == "date '15/06/2026 10:00' does not follow ISO 8601 (2026-06-15T13:05:00)."
    assert "'T99' is neither a store id nor a store's POS code" in by_line[5].message
    assert by_line[7].message.startswith("item 1 'flat-white:two:3.20': quantity 'two' is not a number")
    assert by_line[8].message == "the row has 4 cells, expected 9."
    assert by_line[9].message == "sale G-1 is already on line 2; kept that one." and by_line[9].sale_id == "G-1"
    assert by_line[11].message == "total: 5.001 GBP has more than 2 decimal places."
    assert by_line[13].message == "total is in EUR, the sale in GBP."
    assert (report.rows, report.sales, report.recorded) == (17, 16, 3)  # the row of 4 cells is no sale
    assert sorted(o.order_id for o in sdk.orders.list("pos")) == ["G-1", "G-2", "G-3"]
    assert [i.sku for i in sdk.orders.get("pos", "G-2").items] == ["flat-white", "bun"]
    assert sdk.orders.get("pos", "G-1").total == Money(500, "GBP")  # the first G-1 was kept


def test_a_bad_line_refuses_its_whole_sale(sdk: O2O, tmp_path: Path) -> None:
    text = LINES_HEADER + (
        "B-1;T02;15.06.2026;14:05;croissant;2;1,80;;\n"
        "B-1;T02;15.06.2026;14:05;cafe;0;3,50;;\n"        # 3: quantity 0
        "B-2;T02;15.06.2026;14:07;croissant;1;1,80;;\n"
        "B-2;T01;15.06.2026;14:07;cafe;1;3,50;;\n"        # 5: another store
        ";T02;15.06.2026;14:09;croissant;1;1,80;;\n"      # 6: no sale id
        "B-3;T02;15.06.2026;14:09;;1;1,80;;\n"            # 7: no sku
        "B-4;T02;15.06.2026;14:11;croissant;1;1,801;;\n"  # 8: 3 decimals in EUR
        "B-5;T02;15.06.2026;14:12;croissant;1;1,80;;\n"
    )  # fmt: skip
    report = run(sdk, tmp_path, text, LINES)
    assert problems(report) == [(3, "bad_quantity"), (5, "inconsistent_sale"), (6, "missing_value"), (7, "missing_value"),
                                (8, "bad_amount")]  # fmt: skip
    messages = {e.line: e.message for e in report.errors}
    assert messages[3] == "quantity '0' is not a whole number of at least 1; sale B-1 was not imported."
    assert messages[5] == "store 'T01' differs from 'T02' on an earlier line of sale B-2; the sale was not imported."
    assert messages[8] == "unit price: 1.801 EUR has more than 2 decimal places; sale B-4 was not imported."
    assert [o.order_id for o in sdk.orders.list("pos")] == ["B-5"]
    assert (report.sales, report.recorded) == (5, 1)


# ------------------------------------------------------------------ no duplicates
def test_uploading_the_same_file_again_records_nothing_new(sdk: O2O, tmp_path: Path) -> None:
    text = SALES_HEADER + "".join(f"R-{n},T01,2026-06-15 10:{n:02d},{n}.00,,,,,\n" for n in range(1, 21))
    first = run(sdk, tmp_path, text, SALES)
    assert (first.recorded, first.duplicates) == (20, 0)
    again = run(sdk, tmp_path, text, SALES, name="sales-again.csv")
    assert (again.sales, again.recorded, again.duplicates, again.errors) == (20, 0, 20, ())
    assert len(journal(sdk)) == 20 and len(sdk.orders.list("pos")) == 20


def test_rows_without_a_sale_id_get_a_deterministic_id(sdk: O2O, tmp_path: Path) -> None:
    rows = (",T01,2026-06-15 10:00,5.00,flat-white:1:5.00,,,,\n"
            ",T01,2026-06-15 10:00,5.00,flat-white:1:5.00,,,,\n"   # the same sale twice (two customers, same minute)
            ",T01,2026-06-15 10:01,5.00,flat-white:1:5.00,,,,\n")  # fmt: skip
    first = run(sdk, tmp_path, SALES_HEADER + rows, SALES)
    assert first.recorded == 3
    ids = sorted(o.order_id for o in sdk.orders.list("pos"))
    assert all(re.fullmatch(r"csv-[0-9a-f]{24}(-2)?", i) for i in ids) and sum(i.endswith("-2") for i in ids) == 1
    # The same rows in a longer export of the day, re-quoted: nothing twice.
    more = SALES_HEADER + rows.replace(",T01,", ',"T01",') + ",T02,2026-06-15 11:00,1.00,,,,,\n"
    again = run(sdk, tmp_path, more, SALES, name="day.csv")
    assert (again.recorded, again.duplicates) == (1, 3)
    assert len(sdk.orders.list("pos")) == 4


def test_a_sale_sent_by_webhook_and_uploaded_later_is_recorded_once(o2o_make_sdk, tmp_path: Path) -> None:
    sdk = o2o_make_sdk(plugins=[PosAdapter(PosSettings(webhook_secrets=[SECRET]))])
    sdk.stores.add(STORES)
    request = delivery(event(sale_id="R-1"))
    assert [r.recorded for r in sdk.adapters.handle_webhook("pos", request.headers, request.body)] == [True]
    report = run(sdk, tmp_path, SALES_HEADER + "R-1,T01,2026-06-15 13:05:00,9.00,,,,,\n", SALES)
    assert (report.recorded, report.duplicates) == (0, 1) and len(journal(sdk)) == 1


@pytest.fixture
def pg_sdk(o2o_make_sdk):
    """An SDK on PostgreSQL (a fresh schema, dropped afterwards) when O2O_TEST_POSTGRES_URL is set."""
    base = os.environ.get("O2O_TEST_POSTGRES_URL")
    if not base:
        if os.environ.get("CI"):
            raise RuntimeError("CI=true but O2O_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not configured: set O2O_TEST_POSTGRES_URL=postgresql://127.0.0.1:5432/test")
    import psycopg

    schema = f"o2o_pos_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in base else "?"
        sdk = o2o_make_sdk(database_url=f"{base}{sep}options=-csearch_path%3D{schema}",
                           plugins=[PosAdapter(PosSettings(webhook_secrets=[SECRET]))])  # fmt: skip
        sdk.stores.add(STORES)
        yield sdk
        sdk.close()
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.postgres
def test_no_duplicates_on_postgresql_either(pg_sdk: O2O, tmp_path: Path) -> None:
    assert pg_sdk.storage.dialect_name == "postgresql"
    request = delivery(event(sale_id="R-1"))
    assert [r.recorded for r in pg_sdk.adapters.handle_webhook("pos", request.headers, request.body)] == [True]
    text = SALES_HEADER + "R-1,T01,2026-06-15 13:05:00,9.00,,,,,\n,T02,2026-06-15 13:06:00,1.00,,,,,\n"
    first = run(pg_sdk, tmp_path, text, SALES)
    again = run(pg_sdk, tmp_path, text, SALES, name="again.csv")
    assert (first.recorded, first.duplicates, again.recorded, again.duplicates) == (1, 1, 0, 2)
    assert len(journal(pg_sdk)) == 2


# ------------------------------------------------------------------ attribution
def test_a_voucher_on_a_row_is_attributed(sdk: O2O, tmp_path: Path) -> None:
    offer = sdk.offers.create("20% at the till", Discount.percent_off(20))
    by_token, by_id = sdk.offers.issue(offer, "customer-42"), sdk.offers.issue(offer, "customer-43")
    text = SALES_HEADER + (
        f"V-1,T01,2026-06-15 13:05:00,7.20,flat-white:2:3.20|bun:1:2.60,{by_token.token},,pos-cust-1,\n"
        f"V-2,T02,2026-06-15 13:06:00,4.00,,,{by_id.id.upper()},,\n"
        "V-3,T01,2026-06-15 13:07:00,4.00,,kNotOurs.token,,,\n"
        "V-4,T01,2026-06-15 13:08:00,4.00,,,,,\n"
    )  # fmt: skip
    report = run(sdk, tmp_path, text, SALES)
    assert (report.recorded, report.attributed, report.unmatched_vouchers) == (4, 2, 1)
    events = {e.data["order_id"]: e for e in journal(sdk)}
    v1 = events["V-1"]
    assert v1.type == EventType.ORDER_IN_STORE and v1.store_id == "lon-soho"
    assert (v1.offer_id, v1.voucher_id, v1.customer_id) == (offer.id, by_token.id, "customer-42")
    assert v1.data["platform_customer_id"] == "pos-cust-1" and v1.data["total_minor"] == 720
    assert (events["V-2"].voucher_id, events["V-2"].customer_id, events["V-2"].store_id) == (by_id.id, "customer-43", "par-marais")
    assert events["V-3"].offer_id is None and events["V-4"].offer_id is None


# ------------------------------------------------------------------ formats
def test_no_header_numbered_columns_and_another_encoding(sdk: O2O, tmp_path: Path) -> None:
    mapping = {"layout": "sales", "header": False, "delimiter": "\t", "encoding": "cp1252", "decimal_separator": ",",
               "thousands_separator": " ", "date_format": "%d/%m/%Y %H:%M:%S", "timezone": "Europe/Paris",
               "columns": {"sale_id": 1, "store": 2, "occurred_at": 3, "total": 4, "currency": 5, "sku": 6, "name": 7,
                           "channel": 8}}  # fmt: skip
    text = ("N-1\tT02\t15/06/2026 09:30:00\t1 250,00\tEUR\tbike\tVélo\tin-store\n"
            "N-2\t\t15/06/2026 09:31:00\t20,00\teur\tlock\tAntivol\tonline\n")  # fmt: skip
    report = run(sdk, tmp_path, text, mapping, encoding="cp1252")
    assert report.ok and report.recorded == 2
    n1 = sdk.orders.get("pos", "N-1")
    assert n1.total == Money(125_000, "EUR") and n1.items[0].name == "Vélo" and n1.occurred_at.utcoffset().seconds == 7200
    n2 = sdk.orders.get("pos", "N-2")
    assert n2.kind is OrderKind.ONLINE and n2.store_id is None and n2.total == Money(2000, "EUR")


@pytest.mark.parametrize(("mapping", "needle"), [
    ({**SALES, "layuot": "sales"}, "unknown key 'layuot'"),
    ({**SALES, "layout": "rows"}, 'layout must be "sales" or "lines"'),
    ({**SALES, "columns": {**SALES["columns"], "totl": "Total"}}, "unknown field columns.totl"),
    ({**SALES, "columns": {k: v for k, v in SALES["columns"].items() if k != "total"}}, "the sales layout needs columns.total"),
    ({**LINES, "columns": {k: v for k, v in LINES["columns"].items() if k != "sale_id"}}, "the lines layout needs columns.sale_id"),
    ({**LINES, "columns": {k: v for k, v in LINES["columns"].items() if k != "unit_price"}}, "needs columns.total or columns.unit_price"),
    ({**LINES, "columns": {**LINES["columns"], "items": "X"}}, "items is for the sales layout"),
    ({**SALES, "columns": {**SALES["columns"], "sku": "Sku"}}, "not both"),
    ({**SALES, "timezone": "Mars/Olympus"}, "IANA zone"),
    ({**SALES, "decimal_separator": ";"}, "decimal_separator"),
    ({**LINES, "thousands_separator": ","}, "differ from the decimal separator"),
    ({**SALES, "date_format": "dd/mm/yyyy"}, "strptime format"),
    ({**SALES, "delimiter": ";;"}, "delimiter must be one character"),
    ({**SALES, "encoding": "klingon"}, "unknown encoding"),
    ({**SALES, "currency": "euro"}, "ISO 4217"),
    ({**SALES, "header": False}, "a column number from 1"),
    ({**SALES, "items": {"fields": ["quantity"]}}, "items.fields must list sku"),
    ({**SALES, "items": {"separator": ":"}}, "two different"),
    ({**SALES, "columns": {}}, "[columns] must map fields"),
])  # fmt: skip
def test_a_bad_mapping_is_one_clear_error(mapping: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        CsvMapping.from_dict(mapping, source="mapping.toml")
    assert caught.value.code == "bad_mapping" and needle in caught.value.message
    assert caught.value.message.startswith("mapping.toml: ")


def test_file_level_problems_stop_before_anything_is_written(sdk: O2O, tmp_path: Path) -> None:
    mapping = CsvMapping.from_dict(SALES)
    (tmp_path / "other.csv").write_text("Receipt,Shop,When,Total\nR-1,T01,2026-06-15 10:00,1.00\n")
    with pytest.raises(InvalidInput, match=r"column 'Time' \(columns.occurred_at\) is not in the header") as caught:
        import_csv(sdk, tmp_path / "other.csv", mapping)
    assert caught.value.code == "bad_mapping"
    with pytest.raises(InvalidInput, match="No such file") as caught:
        import_csv(sdk, tmp_path / "missing.csv", mapping)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InvalidInput, match="no header row"):
        import_csv(sdk, tmp_path / "empty.csv", mapping)
    (tmp_path / "latin.csv").write_bytes(SALES_HEADER.encode() + "R-1,T01,2026-06-15 10:00,1.00,,,,Zoë,\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="not utf-8-sig text"):
        import_csv(sdk, tmp_path / "latin.csv", mapping)
    toml = tmp_path / "mapping.toml"
    toml.write_text('layout = "sales"\n[columns\n')
    with pytest.raises(InvalidInput, match=r"mapping\.toml is not valid TOML"):
        load_mapping(toml)
    assert sdk.orders.list("pos") == []


# ------------------------------------------------------------------ size
def test_a_100k_row_file_imports(sdk: O2O, tmp_path: Path) -> None:
    n = 100_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(SALES_HEADER)
        for i in range(n):
            store = ("T01", "T02", "ber-mitte")[i % 3]
            out.write(f"S-{i:06d},{store},2026-06-{1 + i % 14:02d} {8 + i % 11:02d}:{i % 60:02d}:00,{1 + i % 50}.{i % 100:02d},"
                      f"sku-{i % 97}:{1 + i % 3}:1.00|sku-{i % 89}:1:0.{i % 100:02d},,,c-{i % 5000},\n")  # fmt: skip
    seen: list[tuple[int, int]] = []
    started = time.perf_counter()
    report = import_csv(sdk, path, CsvMapping.from_dict(SALES), progress=lambda done, total: seen.append((done, total)))
    seconds = time.perf_counter() - started
    assert (report.rows, report.sales, report.recorded, report.errors) == (n, n, n, ())
    assert seen[-1] == (n, n) and len(seen) == n
    assert sdk.journal.counts()[EventType.ORDER_IN_STORE] == n
    last = sdk.orders.get("pos", f"S-{n - 1:06d}")
    assert last.store_id == "lon-soho" and len(last.items) == 2
    print(f"\n100k-row CSV import: {seconds:.1f} s, {n / seconds:,.0f} rows/s")
