"""CSV batch uploads: a POS export read through a column mapping (``mapping.toml``).

Two layouts: ``sales`` (one row per sale, with its total; items optional, in one encoded
cell) and ``lines`` (one row per item line; rows with the same sale id are one sale, in any
order). Every sale becomes the same :class:`~o2o_sdk.OrderEvent` a webhook would make and is
recorded through ``sdk.orders.record``, which keeps each ``(platform, order id)`` once — so
uploading the same file again records nothing new. A row without a sale id gets one derived
from its content (``csv-<hash>``), so it dedupes too. Bad rows are reported with their line
and a :class:`~o2o_pos.sales.Problem`; good rows are kept.
"""

from __future__ import annotations

import codecs
import csv
import enum
import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from o2o_sdk import InvalidInput, Money, Store

from .sales import Channel, Problem, Sale, SaleItem, SaleProblem, StoreDirectory, to_order

if TYPE_CHECKING:
    from o2o_sdk import O2O

__all__ = ["CsvMapping", "ImportReport", "Layout", "RowError", "import_csv", "import_stream", "load_mapping"]

#: Fields a column can hold, for the sale as a whole and for one item line.
SALE_FIELDS = ("sale_id", "store", "occurred_at", "total", "currency", "channel", "voucher_token", "voucher_id",
               "customer_id", "customer_email")  # fmt: skip
LINE_FIELDS = ("sku", "quantity", "unit_price", "name")
ITEM_FIELDS = LINE_FIELDS
_TOP_KEYS = ("layout", "header", "delimiter", "quote", "encoding", "decimal_separator", "thousands_separator",
             "date_format", "timezone", "currency", "channel", "columns", "items")  # fmt: skip
_THOUSANDS = ("", ".", ",", " ", "'", "\u00a0", "\u202f")
_CURRENCY = re.compile(r"[A-Z]{3}")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_VOUCHER_ID = re.compile(r"[0-9a-f]{16}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_ID_MAX = 200


class Layout(enum.StrEnum):
    """How a POS export lays sales out."""

    #: One row per sale, with its total (items, if any, encoded in one cell).
    SALES = "sales"
    #: One row per item line; a sale id column groups lines into sales.
    LINES = "lines"


Column = str | int


def _bad_mapping(source: str, message: str) -> InvalidInput:
    return InvalidInput(f"{source}: {message}", code="bad_mapping")


@attrs.frozen
class CsvMapping:
    """Which column holds which field, and how values are written (see ``docs/adapters/pos.md``).

    Build it with :func:`load_mapping` (a TOML file) or :meth:`from_dict`; both check it
    and raise :class:`~o2o_sdk.InvalidInput` (``bad_mapping``) with a sentence.
    """

    layout: Layout
    #: ``{field: (column, …)}``: header names, or 1-based numbers when ``header`` is false.
    #: Only ``occurred_at`` may join several columns (a date and a time column).
    columns: dict[str, tuple[Column, ...]]
    header: bool = True
    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8-sig"
    decimal_separator: str = "."
    thousands_separator: str = ""
    #: ``iso`` (ISO 8601) or a :func:`~datetime.datetime.strptime` format.
    date_format: str = "iso"
    #: Zone of times written without an offset: ``store`` (each sale's store) or an IANA name.
    timezone: str = "store"
    #: Currency of amounts when there is no currency column and the cells carry no code.
    currency: str | None = None
    #: Channel of rows without a channel column (or with an empty cell).
    channel: Channel = Channel.IN_STORE
    #: ``sales`` layout with a ``columns.items`` cell: how items are encoded in it.
    item_separator: str = "|"
    item_fields: tuple[str, ...] = ("sku", "quantity", "unit_price")
    item_field_separator: str = ":"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "mapping") -> CsvMapping:
        """A mapping from parsed TOML (or any dict of the same shape)."""
        unknown = sorted(set(data) - set(_TOP_KEYS))
        if unknown:
            raise _bad_mapping(source, f"unknown key {unknown[0]!r} (known: {', '.join(_TOP_KEYS)}).")
        try:
            layout = Layout(str(data.get("layout")))
        except ValueError:
            raise _bad_mapping(source, f"layout must be \"sales\" or \"lines\", got {data.get('layout')!r}.") from None
        header = data.get("header", True)
        if not isinstance(header, bool):
            raise _bad_mapping(source, "header must be true or false.")
        values: dict[str, Any] = {"layout": layout, "header": header}
        for key in ("delimiter", "quote"):
            if key in data:
                if not isinstance(data[key], str) or len(data[key]) != 1:
                    raise _bad_mapping(source, f"{key} must be one character, got {data[key]!r}.")
                values[key] = data[key]
        if "encoding" in data:
            try:
                name = codecs.lookup(str(data["encoding"])).name
            except LookupError:
                raise _bad_mapping(source, f"unknown encoding {data['encoding']!r}.") from None
            values["encoding"] = "utf-8-sig" if name == "utf-8" else name  # skip a byte order mark
        decimal = data.get("decimal_separator", ".")
        if decimal not in (".", ","):
            raise _bad_mapping(source, f'decimal_separator must be "." or ",", got {decimal!r}.')
        thousands = data.get("thousands_separator", "")
        if thousands not in _THOUSANDS or thousands == decimal:
            raise _bad_mapping(source, f"thousands_separator must be one of {_THOUSANDS!r} and differ from the decimal separator.")
        values.update(decimal_separator=decimal, thousands_separator=thousands)
        date_format = data.get("date_format", "iso")
        if not isinstance(date_format, str) or (date_format != "iso" and "%" not in date_format):
            raise _bad_mapping(source, f'date_format must be "iso" or a strptime format like "%d/%m/%Y %H:%M", got {date_format!r}.')
        values["date_format"] = date_format
        zone = data.get("timezone", "store")
        if zone != "store":
            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError):
                raise _bad_mapping(source, f'timezone must be "store" or an IANA zone like "Europe/Paris", got {zone!r}.') from None
        values["timezone"] = zone
        if (currency := data.get("currency")) is not None:
            if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency.upper()):
                raise _bad_mapping(source, f"currency must be an ISO 4217 code like EUR, got {currency!r}.")
            values["currency"] = currency.upper()
        try:
            values["channel"] = Channel(data.get("channel", "in_store"))
        except ValueError:
            raise _bad_mapping(source, f'channel must be "in_store" or "online", got {data.get("channel")!r}.') from None
        values["columns"] = _columns(data.get("columns"), layout, header, values["channel"], source)
        items = data.get("items", {})
        if not isinstance(items, dict):
            raise _bad_mapping(source, "[items] must be a table.")
        if items and "items" not in values["columns"]:
            raise _bad_mapping(source, "[items] describes an items cell, but columns.items is not mapped.")
        for key in items:
            if key not in ("separator", "fields", "field_separator"):
                raise _bad_mapping(source, f"unknown key items.{key} (known: separator, fields, field_separator).")
        fields = items.get("fields", ["sku", "quantity", "unit_price"])
        if (not isinstance(fields, list) or not fields or "sku" not in fields or len(set(fields)) != len(fields)
                or not set(fields) <= set(ITEM_FIELDS)):  # fmt: skip
            raise _bad_mapping(source, f"items.fields must list sku and any of quantity, unit_price, name, once each; got {fields!r}.")
        sep, field_sep = items.get("separator", "|"), items.get("field_separator", ":")
        if not isinstance(sep, str) or not isinstance(field_sep, str) or not sep or not field_sep or sep == field_sep:
            raise _bad_mapping(source, "items.separator and items.field_separator must be two different, non-empty strings.")
        if "unit_price" in fields and decimal in (sep, field_sep):
            raise _bad_mapping(source, "the items separators must differ from the decimal separator.")
        values.update(item_separator=sep, item_fields=tuple(fields), item_field_separator=field_sep)
        return cls(**values)


def _columns(raw: object, layout: Layout, header: bool, channel: Channel, source: str) -> dict[str, tuple[Column, ...]]:
    if not isinstance(raw, dict) or not raw:
        raise _bad_mapping(source, "[columns] must map fields to columns, e.g. sale_id = \"Receipt\".")
    allowed = (*SALE_FIELDS, *LINE_FIELDS, *(("items",) if layout is Layout.SALES else ()))
    out: dict[str, tuple[Column, ...]] = {}
    for field, ref in raw.items():
        if field not in allowed:
            hint = " (items is for the sales layout)" if field == "items" else ""
            raise _bad_mapping(source, f"unknown field columns.{field}{hint}; known: {', '.join(allowed)}.")
        refs = ref if isinstance(ref, list) and field == "occurred_at" else [ref]
        if not refs:
            raise _bad_mapping(source, f"columns.{field} lists no column.")
        for r in refs:
            ok = (isinstance(r, str) and r.strip() != "") if header else (isinstance(r, int) and not isinstance(r, bool) and r >= 1)
            if not ok:
                wanted = "a header name (a non-empty string)" if header else "a column number from 1 (header = false)"
                raise _bad_mapping(source, f"columns.{field} must be {wanted}, got {r!r}.")
        out[field] = tuple(refs)
    required = ["occurred_at"]
    if channel is Channel.IN_STORE:
        required.append("store")
    required += ["total"] if layout is Layout.SALES else ["sale_id", "sku"]
    if layout is Layout.LINES and "total" not in out and "unit_price" not in out:
        raise _bad_mapping(source, "the lines layout needs columns.total or columns.unit_price (to add up the total).")
    if layout is Layout.SALES and "items" in out and {"sku", "quantity", "unit_price", "name"} & set(out):
        raise _bad_mapping(source, "map either columns.items (an encoded cell) or sku/quantity/unit_price columns, not both.")
    missing = [f for f in required if f not in out]
    if missing:
        raise _bad_mapping(source, f"the {layout.value} layout needs columns.{missing[0]}.")
    return out


def load_mapping(path: str | Path) -> CsvMapping:
    """Read and check a ``mapping.toml``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"No such mapping file: {path}.", code="bad_mapping") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise InvalidInput(f"{path.name} is not a UTF-8 TOML file.", code="bad_mapping") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path.name} is not valid TOML: {exc}.", code="bad_mapping") from None
    return CsvMapping.from_dict(data, source=path.name)


# ---------------------------------------------------------------------------- report
@attrs.frozen
class RowError:
    """A row (or the sale it belongs to) that was not imported."""

    #: The line in the file (the header is line 1; a quoted cell may span lines: its first line).
    line: int
    problem: Problem
    message: str
    sale_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As JSON: ``{"line", "problem", "message", "sale_id"}``."""
        return {"line": self.line, "problem": self.problem.value, "message": self.message, "sale_id": self.sale_id}


@attrs.frozen
class ImportReport:
    """What an import did."""

    #: Data rows read (blank rows not counted).
    rows: int
    #: Sales found (recorded, duplicate or refused).
    sales: int
    #: Orders recorded now.
    recorded: int
    #: Sales recorded before (an earlier upload, or a webhook): nothing written.
    duplicates: int
    #: Recorded orders matched to one of our vouchers or offers.
    attributed: int
    #: Recorded orders that carried a voucher code matching none of ours.
    unmatched_vouchers: int
    errors: tuple[RowError, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every row was good."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"rows": self.rows, "sales": self.sales, "recorded": self.recorded, "duplicates": self.duplicates,
                "attributed": self.attributed, "unmatched_vouchers": self.unmatched_vouchers,
                "errors": [e.to_dict() for e in self.errors]}  # fmt: skip


# ---------------------------------------------------------------------------- reading
class _RowProblem(Exception):
    def __init__(self, problem: Problem, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.problem, self.message, self.line = problem, message, line


@attrs.frozen
class _Line:
    """One item line as read, its price not yet tied to the sale's currency."""

    line: int
    sku: str
    quantity: int
    price: Decimal | None
    #: A currency code written in the price cell itself (``3.20 EUR``).
    price_currency: str | None
    name: str | None


@attrs.define
class _Group:
    """The row of one sale (sales layout), or the lines of one sale (lines layout)."""

    line: int
    fields: dict[str, str] = attrs.field(factory=dict)
    lines: list[_Line] = attrs.field(factory=list)
    bad: bool = False


class _Reader:
    """Reads cells into values by the mapping; every refusal is a :class:`_RowProblem`."""

    def __init__(self, mapping: CsvMapping, stores: StoreDirectory) -> None:
        self.m = mapping
        self.stores = stores
        self.zones: dict[str, ZoneInfo] = {}
        self.errors: list[RowError] = []
        self.index: dict[str, tuple[int, ...]] = {}

    # --- columns
    def bind(self, header: Sequence[str] | None) -> None:
        if header is None:
            self.index = {f: tuple(int(r) - 1 for r in refs) for f, refs in self.m.columns.items()}
            return
        names = [h.strip() for h in header]
        position: dict[str, int] = {}
        for n, name in enumerate(names):
            position.setdefault(name, n)
        for field, refs in self.m.columns.items():
            for ref in refs:
                if ref not in position:
                    shown = ", ".join(repr(n) for n in names[:12]) + (" …" if len(names) > 12 else "")
                    raise InvalidInput(f"column {ref!r} (columns.{field}) is not in the header; the header has {shown}.",
                                       code="bad_mapping")  # fmt: skip
        self.index = {f: tuple(position[str(r)] for r in refs) for f, refs in self.m.columns.items()}

    def cells(self, row: list[str]) -> dict[str, str]:
        out = {}
        for field, idx in self.index.items():
            value = row[idx[0]].strip() if len(idx) == 1 else " ".join(row[i].strip() for i in idx).strip()
            if value:
                out[field] = value
        return out

    # --- values
    def number(self, text: str, what: str, problem: Problem = Problem.BAD_AMOUNT) -> Decimal:
        sep = self.m.thousands_separator
        t = text.replace(sep, "") if sep else text
        if self.m.decimal_separator == ",":
            t = t.replace(",", ".")
        if not _NUMBER.fullmatch(t):
            raise _RowProblem(problem, f"{what} {text!r} is not a number written with {self.m.decimal_separator!r} as decimal separator.")
        return Decimal(t)

    def amount(self, text: str, what: str) -> tuple[Decimal, str | None]:
        """A number, with the currency code if the cell carries one (``12.50 EUR``, ``EUR 12.50``)."""
        parts = text.split()
        if len(parts) >= 2 and _CURRENCY.fullmatch(parts[-1].upper()):
            return self.number(" ".join(parts[:-1]), what), parts[-1].upper()
        if len(parts) >= 2 and _CURRENCY.fullmatch(parts[0].upper()):
            return self.number(" ".join(parts[1:]), what), parts[0].upper()
        return self.number(text, what), None

    def money(self, value: Decimal, code: str | None, currency: str | None, what: str) -> Money:
        if code is not None and currency is not None and code != currency:
            raise _RowProblem(Problem.BAD_CURRENCY, f"{what} is in {code}, the sale in {currency}.")
        code = code or currency
        if code is None:
            raise _RowProblem(Problem.BAD_CURRENCY, f"{what} has no currency: map a currency column, set currency in the"
                                                    " mapping, or write amounts like '12.50 EUR'.")  # fmt: skip
        try:
            return Money.of(value, code)
        except InvalidInput as exc:
            raise _RowProblem(Problem.BAD_AMOUNT, f"{what}: {exc.message.rstrip('.')}.") from None

    def quantity(self, text: str) -> int:
        value = self.number(text, "quantity", Problem.BAD_QUANTITY)
        if value != value.to_integral_value() or value < 1:
            raise _RowProblem(Problem.BAD_QUANTITY, f"quantity {text!r} is not a whole number of at least 1.")
        return int(value)

    def when(self, text: str, store: Store | None) -> datetime:
        try:
            at = datetime.fromisoformat(text) if self.m.date_format == "iso" else datetime.strptime(text, self.m.date_format)
        except ValueError:
            fmt = "ISO 8601 (2026-06-15T13:05:00)" if self.m.date_format == "iso" else f"the format {self.m.date_format!r}"
            raise _RowProblem(Problem.BAD_DATE, f"date {text!r} does not follow {fmt}.") from None
        if at.tzinfo is not None:
            return at
        name = self.m.timezone if self.m.timezone != "store" else (store.timezone if store is not None else None)
        if name is None:
            raise _RowProblem(Problem.BAD_DATE, f"date {text!r} has no UTC offset and the sale no store: set timezone in the mapping.")
        zone = self.zones.get(name)
        if zone is None:
            zone = self.zones[name] = ZoneInfo(name)
        return at.replace(tzinfo=zone)  # an ambiguous autumn time reads as its first occurrence

    def ident(self, text: str, what: str) -> str:
        if len(text) > _ID_MAX:
            raise _RowProblem(Problem.BAD_VALUE, f"{what} is longer than {_ID_MAX} characters.")
        return text

    def line_item(self, line: int, sku: str | None, quantity: str | None, price: str | None, name: str | None) -> _Line:
        if not sku:
            raise _RowProblem(Problem.MISSING_VALUE, "the line has no sku.")
        value, code = self.amount(price, "unit price") if price else (None, None)
        return _Line(line, self.ident(sku, "sku"), self.quantity(quantity) if quantity else 1, value, code, name or None)

    def encoded_items(self, line: int, text: str) -> list[_Line]:
        items = []
        fields = self.m.item_fields
        for n, chunk in enumerate(text.split(self.m.item_separator), 1):
            if not chunk.strip():
                continue
            parts = dict(zip(fields, (p.strip() for p in chunk.split(self.m.item_field_separator, len(fields) - 1)), strict=False))
            try:
                items.append(self.line_item(line, parts.get("sku"), parts.get("quantity"), parts.get("unit_price"), parts.get("name")))
            except _RowProblem as exc:
                raise _RowProblem(Problem.BAD_ITEMS, f"item {n} {chunk.strip()!r}: {exc.message}") from None
        return items

    def currency(self, cells: Mapping[str, str]) -> str | None:
        code = cells.get("currency")
        if code is None:
            return self.m.currency
        if not _CURRENCY.fullmatch(code.upper()):
            raise _RowProblem(Problem.BAD_CURRENCY, f"currency {code!r} is not an ISO 4217 code like EUR.")
        return code.upper()

    def channel(self, cells: Mapping[str, str]) -> Channel:
        raw = cells.get("channel")
        if raw is None:
            return self.m.channel
        try:
            return Channel(raw.strip().lower().replace("-", "_").replace(" ", "_"))
        except ValueError:
            raise _RowProblem(Problem.BAD_VALUE, f"channel {raw!r} is not in_store or online.") from None

    # --- a whole sale
    def sale(self, group: _Group, content_ids: dict[str, int]) -> Sale:
        f = group.fields
        channel = self.channel(f)
        store: Store | None = None
        if "store" in f:
            try:
                store = self.stores.resolve(f["store"])
            except SaleProblem as exc:
                raise _RowProblem(exc.problem, exc.message) from None
        elif channel is Channel.IN_STORE:
            raise _RowProblem(Problem.MISSING_VALUE, "an in-store sale needs its store.")
        if "occurred_at" not in f:
            raise _RowProblem(Problem.MISSING_VALUE, "the sale has no date.")
        occurred_at = self.when(f["occurred_at"], store)
        currency = self.currency(f)
        if "total" in f:
            value, code = self.amount(f["total"], "total")
            total = self.money(value, code, currency, "total")
        elif not group.lines or any(x.price is None for x in group.lines):
            raise _RowProblem(Problem.MISSING_VALUE, "the sale has no total, and not every line has a unit price to add up.")
        else:
            currency = currency or next((x.price_currency for x in group.lines if x.price_currency), None)
            total = None
        items = []
        for x in group.lines:
            try:
                price = self.money(x.price, x.price_currency, currency, "unit price") if x.price is not None else None
            except _RowProblem as exc:
                raise _RowProblem(exc.problem, exc.message, x.line) from None
            items.append(SaleItem(x.sku, x.quantity, price, x.name))
        if total is None:
            total = Money(sum(i.quantity * i.unit_price.minor for i in items if i.unit_price), items[0].unit_price.currency)  # type: ignore[union-attr]
        if total.minor < 0:
            raise _RowProblem(Problem.BAD_AMOUNT, f"the total {total} is negative: returns are not sales.")
        voucher_id = f.get("voucher_id")
        if voucher_id is not None and not _VOUCHER_ID.fullmatch(voucher_id.lower()):
            raise _RowProblem(Problem.BAD_VALUE, f"voucher id {voucher_id!r} is not 16 hex digits.")
        email = f.get("customer_email")
        if email is not None and (len(email) > 320 or not _EMAIL.fullmatch(email)):
            raise _RowProblem(Problem.BAD_VALUE, f"customer email {email!r} is not an email address.")
        sale = Sale(
            sale_id=self.ident(f["sale_id"], "sale id") if "sale_id" in f else "",
            occurred_at=occurred_at, total=total, store=f.get("store"), channel=channel, items=tuple(items),
            voucher_token=f.get("voucher_token"), voucher_id=voucher_id.lower() if voucher_id else None,
            customer_id=self.ident(f["customer_id"], "customer id") if "customer_id" in f else None,
            customer_email=email,
        )  # fmt: skip
        if not sale.sale_id:
            sale = attrs.evolve(sale, sale_id=_content_id(sale, content_ids))
        return sale


def _content_id(sale: Sale, seen: dict[str, int]) -> str:
    """A sale id from what the row says: the same row always gets the same id, and the n-th
    identical row of a file gets ``-n`` appended (two identical sales are two sales)."""
    canonical = json.dumps([
        sale.store, sale.channel.value, sale.occurred_at.astimezone(UTC).isoformat(),
        sale.total.minor, sale.total.currency,
        [[i.sku, i.quantity, i.unit_price.minor if i.unit_price else None, i.name] for i in sale.items],
        sale.voucher_token, sale.voucher_id, sale.customer_id, sale.customer_email,
    ], separators=(",", ":"))  # fmt: skip
    digest = "csv-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]
    n = seen.get(digest, 0) + 1
    seen[digest] = n
    return digest if n == 1 else f"{digest}-{n}"


def _rows(stream: TextIO, mapping: CsvMapping) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(stream, delimiter=mapping.delimiter, quotechar=mapping.quote, strict=False)
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            yield start, row
    except csv.Error as exc:
        raise InvalidInput(f"line {last + 1}: the file is not readable as CSV ({exc}).", code="bad_csv") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"line {last + 1}: the file is not {mapping.encoding} text; set encoding in the mapping.",
                           code="bad_csv") from None  # fmt: skip


def _read(stream: TextIO, mapping: CsvMapping, reader: _Reader) -> tuple[int, list[tuple[_Group, Sale | None]]]:
    """Every sale in the file (``None`` for a refused one) with its group, and the row count."""
    rows = _rows(stream, mapping)
    header: list[str] | None = None
    if mapping.header:
        first = next(rows, None)
        if first is None:
            raise InvalidInput("The file is empty: it has no header row.", code="bad_csv")
        header = first[1]
    reader.bind(header)
    width = len(header) if header is not None else max(i for idx in reader.index.values() for i in idx) + 1
    sales_layout = mapping.layout is Layout.SALES
    groups: dict[str, _Group] = {}
    singles: list[_Group] = []
    counted = 0
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        counted += 1
        if (len(row) != width) if header is not None else (len(row) < width):
            reader.errors.append(RowError(line, Problem.BAD_ROW, f"the row has {len(row)} cells, expected {width}."))
            continue
        cells = reader.cells(row)
        try:
            if "items" in cells:
                lines = reader.encoded_items(line, cells["items"])
            elif "sku" in cells or not sales_layout:
                lines = [reader.line_item(line, cells.get("sku"), cells.get("quantity"), cells.get("unit_price"), cells.get("name"))]
            else:
                lines = []
        except _RowProblem as exc:
            if sales_layout or "sale_id" not in cells:
                reader.errors.append(RowError(line, exc.problem, exc.message, cells.get("sale_id")))
                if sales_layout:  # still a sale found, one refused
                    singles.append(_Group(line, bad=True))
                continue
            bad_id = cells["sale_id"]
            reader.errors.append(RowError(line, exc.problem, f"{exc.message.rstrip('.')}; sale {bad_id} was not imported.", bad_id))
            group = groups.get(bad_id)
            if group is None:
                group = groups[bad_id] = _Group(line)
            group.bad = True
            continue
        if sales_layout:
            singles.append(_Group(line, {k: v for k, v in cells.items() if k in SALE_FIELDS}, lines))
            continue
        sale_id = cells.get("sale_id")
        if sale_id is None:
            reader.errors.append(RowError(line, Problem.MISSING_VALUE, "the line has no sale id."))
            continue
        group = groups.get(sale_id)
        if group is None:
            group = groups[sale_id] = _Group(line)
        group.lines.extend(lines)
        for field in SALE_FIELDS:
            value = cells.get(field)
            if value is None:
                continue
            known = group.fields.setdefault(field, value)
            if known != value:
                group.bad = True
                reader.errors.append(RowError(line, Problem.INCONSISTENT_SALE, f"{field} {value!r} differs from {known!r} on an"
                                              f" earlier line of sale {sale_id}; the sale was not imported.", sale_id))  # fmt: skip
    out: list[tuple[_Group, Sale | None]] = []
    content_ids: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for group in singles if sales_layout else groups.values():
        if group.bad:
            out.append((group, None))
            continue
        try:
            sale = reader.sale(group, content_ids)
        except _RowProblem as exc:
            known_id = group.fields.get("sale_id")
            message = exc.message if sales_layout else f"{exc.message.rstrip('.')}; sale {known_id} was not imported."
            reader.errors.append(RowError(exc.line or group.line, exc.problem, message, known_id))
            out.append((group, None))
            continue
        if sales_layout and "sale_id" in group.fields:
            if sale.sale_id in first_line:
                reader.errors.append(RowError(group.line, Problem.DUPLICATE_SALE, f"sale {sale.sale_id} is already on line"
                                              f" {first_line[sale.sale_id]}; kept that one.", sale.sale_id))  # fmt: skip
                out.append((group, None))
                continue
            first_line[sale.sale_id] = group.line
        out.append((group, sale))
    return counted, out


# ---------------------------------------------------------------------------- importing
def import_stream(sdk: O2O, stream: TextIO, mapping: CsvMapping, *, name: str = "upload",
                  progress: Callable[[int, int], None] | None = None) -> ImportReport:  # fmt: skip
    """Import sales from an open text stream (see :func:`import_csv`)."""
    stores = StoreDirectory(sdk.stores.list())
    reader = _Reader(mapping, stores)
    rows, found = _read(stream, mapping, reader)
    todo = [(g, s) for g, s in found if s is not None]
    recorded = duplicates = attributed = unmatched = 0
    for done, (group, sale) in enumerate(todo, 1):
        try:
            result = sdk.orders.record(to_order(sale, stores, source="csv", data={"file": name, "line": group.line}))
        except SaleProblem as exc:
            reader.errors.append(RowError(group.line, exc.problem, exc.message, sale.sale_id))
        except InvalidInput as exc:  # the order refused; a failing database (StorageError) stops the import
            reader.errors.append(RowError(group.line, Problem.NOT_RECORDED, exc.message, sale.sale_id))
        else:
            if not result.recorded:
                duplicates += 1
            else:
                recorded += 1
                if result.order.voucher_id or result.order.offer_id:
                    attributed += 1
                elif result.order.discount_codes:
                    unmatched += 1
        if progress is not None:
            progress(done, len(todo))
    errors = tuple(sorted(reader.errors, key=lambda e: e.line))
    return ImportReport(rows, len(found), recorded, duplicates, attributed, unmatched, errors)


def import_csv(sdk: O2O, path: str | Path, mapping: CsvMapping, *,
               progress: Callable[[int, int], None] | None = None) -> ImportReport:  # fmt: skip
    """Import the sales in a CSV file through ``mapping``; record them with ``sdk.orders.record``.

    Good sales are recorded (once: a re-upload finds them recorded and counts them as
    duplicates); bad rows are reported in :attr:`ImportReport.errors` with their line and a
    :class:`~o2o_pos.sales.Problem`. A file that cannot be read at all, or whose header lacks a
    mapped column, raises :class:`~o2o_sdk.InvalidInput` (``bad_csv`` / ``bad_mapping``).
    ``progress(done, total)`` is called as sales are recorded.
    """
    path = Path(path)
    try:
        with path.open(encoding=mapping.encoding, newline="") as stream:
            return import_stream(sdk, stream, mapping, name=path.name, progress=progress)
    except FileNotFoundError:
        raise InvalidInput(f"No such file: {path}.", code="file_not_found") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a folder, not a CSV file.", code="file_not_found") from None
