"""A printable A4 check-in poster: the store's name, address, opening hours and a static QR.

Both formats are drawn from the same layout (millimetres from the top-left corner): SVG
around the QR's module matrix, and a hand-written single-page PDF with the standard
Helvetica fonts and the QR as filled rectangles — no extra dependency. PDF text uses
WinAnsiEncoding; characters outside it (e.g. Japanese) print as ``?``, SVG keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from ..hours import DAYS

if TYPE_CHECKING:
    import segno

    from ..models import Store

PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
MARGIN = 22.0
QR_SIZE = 120.0
QR_TOP = 88.0
_PT = 72 / 25.4

#: (text, size in mm, bold, y of the baseline in mm) — the layout both formats draw.
Line = tuple[str, float, bool, float]


def _day_label(first: int, last: int) -> str:
    names = [d.capitalize() for d in DAYS]
    return names[first] if first == last else f"{names[first]}-{names[last]}"


def hours_lines(store: Store) -> list[str]:
    """The store's weekly hours as short lines (``Mon-Fri 09:00-18:00``), through the public
    :class:`~o2o_sdk.hours.OpeningHours` API; ``["Opening hours unknown"]`` without hours."""
    hours: Any = store.hours
    weekly: dict[str, list[str]] | None = None
    if hours is not None and hasattr(hours, "to_dict"):
        data = hours.to_dict()
        if isinstance(data, dict) and isinstance(data.get("weekly"), dict):
            weekly = data["weekly"]
    if weekly is None:
        return ["Opening hours unknown"]
    spans = [", ".join(weekly.get(day) or []) or "closed" for day in DAYS]
    lines, start = [], 0
    for i in range(1, len(DAYS) + 1):
        if i == len(DAYS) or spans[i] != spans[start]:
            lines.append(f"{_day_label(start, i - 1)}  {spans[start]}")
            start = i
    return lines


def _layout(store: Store) -> list[Line]:
    lines: list[Line] = [("Check in here", 14.0, True, 40.0), (store.name, 8.0, True, 55.0)]
    if store.address:
        lines.append((store.address, 4.5, False, 65.0))
    y = QR_TOP + QR_SIZE + 12.0
    lines.append(("Scan with your phone's camera to check in.", 5.0, False, y))
    y += 14.0
    lines.append((f"Opening hours (local time, {store.timezone})", 4.5, True, y))
    for text in hours_lines(store):
        y += 7.0
        lines.append((text, 4.5, False, y))
    return lines


def _runs(matrix: Sequence[Sequence[int]]) -> Iterator[tuple[int, int, int]]:
    """``(row, first column, length)`` of each horizontal run of dark modules."""
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                yield r, start, c - start
            else:
                c += 1


def _matrix(qr: segno.QRCode) -> list[list[int]]:
    return [[1 if m else 0 for m in row] for row in qr.matrix_iter(border=4)]


def poster_svg(store: Store, qr: segno.QRCode) -> str:
    """The poster as an SVG document (A4, millimetre user units)."""
    matrix = _matrix(qr)
    module = QR_SIZE / len(matrix)
    x0 = (PAGE_W - QR_SIZE) / 2
    path = "".join(f"M{c},{r}h{n}v1h-{n}z" for r, c, n in _runs(matrix))
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W:g}mm" height="{PAGE_H:g}mm" viewBox="0 0 {PAGE_W:g} {PAGE_H:g}">',
        f"<title>{escape(f'Check in at {store.name}')}</title>",
        f'<rect width="{PAGE_W:g}" height="{PAGE_H:g}" fill="#fff"/>',
    ]
    for text, size, bold, y in _layout(store):
        weight = ' font-weight="bold"' if bold else ""
        out.append(
            f'<text x="{MARGIN:g}" y="{y:g}" font-family="Helvetica, Arial, sans-serif" font-size="{size:g}"{weight}>{escape(text)}</text>'
        )
    out.append(
        f'<g transform="translate({x0:g} {QR_TOP:g}) scale({module:.6f})">'
        f'<path d="{path}" fill="#000" shape-rendering="crispEdges"/></g>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _pdf_text(text: str) -> str:
    raw = text.encode("cp1252", errors="replace")
    out = []
    for b in raw:
        ch = chr(b)
        if ch in "\\()":
            out.append("\\" + ch)
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def poster_pdf(store: Store, qr: segno.QRCode) -> bytes:
    """The poster as a one-page PDF (A4), text in Helvetica, the QR as vector rectangles."""
    matrix = _matrix(qr)
    module = QR_SIZE / len(matrix) * _PT
    x0 = (PAGE_W - QR_SIZE) / 2 * _PT
    top = (PAGE_H - QR_TOP) * _PT
    ops = []
    for text, size, bold, y in _layout(store):
        font = "F2" if bold else "F1"
        ops.append(
            f"BT /{font} {size * _PT:.2f} Tf {MARGIN * _PT:.2f} {(PAGE_H - y) * _PT:.2f} Td ({_pdf_text(text)}) Tj ET"
        )
    ops.append("0 g")
    for r, c, n in _runs(matrix):
        ops.append(f"{x0 + c * module:.3f} {top - (r + 1) * module:.3f} {n * module:.3f} {module:.3f} re")
    ops.append("f")
    stream = "\n".join(ops).encode("ascii")
    w, h = PAGE_W * _PT, PAGE_H * _PT
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w:.2f} {h:.2f}] "
            "/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
