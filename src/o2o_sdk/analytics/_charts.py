"""Charts of a funnel report: hand-written SVG (no dependency), PNG with Pillow (extra ``charts``).

Both draw the same two panels: the funnel (one horizontal bar per step, length proportional to
its customers) and, per store, bars of customers who visited, redeemed and returned.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

import attrs

from ..errors import ConfigurationError, InvalidInput
from ._report import FunnelReport

__all__ = ["chart_png", "chart_svg", "write_chart"]

WIDTH = 760
BAR_H = 26
GAP = 8
LABEL_W = 170
COLOURS = ("#2563eb", "#16a34a", "#f59e0b")
FUNNEL_COLOUR = "#2563eb"


@attrs.frozen
class _Bar:
    x: float
    y: float
    w: float
    h: float
    colour: str
    label: str = ""
    value: str = ""


@attrs.frozen
class _Layout:
    width: int
    height: int
    bars: tuple[_Bar, ...]
    texts: tuple[tuple[float, float, str, str, int], ...]  # x, y, text, anchor, size


def _store_series(report: FunnelReport) -> tuple[list[str], list[tuple[str, list[int]]]]:
    names = [s.name for s in report.steps]
    wanted = [n for n in ("checked_in", "redeemed", "returned") if n in names]
    idx = [names.index(n) for n in wanted]
    stores = [g.key for g in report.by_store]
    series = [(report.steps[i].label, [g.counts[i] for g in report.by_store]) for i in idx]
    return stores, series


def layout(report: FunnelReport) -> _Layout:
    """Where every bar and label goes (shared by SVG and PNG)."""
    bars: list[_Bar] = []
    texts: list[tuple[float, float, str, str, int]] = []
    plot_w = WIDTH - LABEL_W - 90
    y = 34.0
    texts.append((16, 22, "Funnel", "start", 15))
    top = max((s.customers for s in report.steps), default=0) or 1
    for s in report.steps:
        w = plot_w * s.customers / top
        rate = f" ({s.rate_from_start:.0%})" if s.rate_from_start is not None else ""
        bars.append(_Bar(LABEL_W, y, w, BAR_H, FUNNEL_COLOUR, s.label, f"{s.customers:,}{rate}"))
        texts.append((LABEL_W - 8, y + BAR_H * 0.68, s.label, "end", 12))
        texts.append((LABEL_W + w + 6, y + BAR_H * 0.68, f"{s.customers:,}{rate}", "start", 12))
        y += BAR_H + GAP
    stores, series = _store_series(report)
    if stores and series:
        y += 20
        texts.append((16, y, "Per store", "start", 15))
        y += 12
        top = max((v for _, values in series for v in values), default=0) or 1
        sub_h = 14.0
        for si, store in enumerate(stores):
            texts.append((LABEL_W - 8, y + sub_h * len(series) / 2 + 4, store, "end", 12))
            for ci, (label, values) in enumerate(series):
                w = plot_w * values[si] / top
                bars.append(_Bar(LABEL_W, y, w, sub_h - 2, COLOURS[ci % len(COLOURS)], f"{store} {label}", str(values[si])))
                texts.append((LABEL_W + w + 6, y + sub_h - 4, f"{values[si]:,}", "start", 10))
                y += sub_h
            y += GAP
        x = LABEL_W
        for ci, (label, _) in enumerate(series):  # legend
            bars.append(_Bar(x, y + 4, 12, 12, COLOURS[ci % len(COLOURS)], f"legend {label}"))
            texts.append((x + 16, y + 14, label, "start", 11))
            x += 24 + 7 * len(label)
        y += 24
    return _Layout(WIDTH, int(y + 10), tuple(bars), tuple(texts))


def chart_svg(report: FunnelReport) -> str:
    """The report's charts as a standalone SVG document."""
    lay = layout(report)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width}" height="{lay.height}"'
        f' viewBox="0 0 {lay.width} {lay.height}" font-family="sans-serif" role="img">',
        "<title>O2O2O funnel</title>",
        f'<rect width="{lay.width}" height="{lay.height}" fill="#ffffff"/>',
    ]
    for b in lay.bars:
        out.append(
            f'<rect class="bar" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.2f}" height="{b.h:.1f}" fill="{b.colour}"'
            f' data-label="{escape(b.label, {chr(34): "&quot;"})}" data-value="{escape(b.value, {chr(34): "&quot;"})}"/>'
        )
    for x, y, text, anchor, size in lay.texts:
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="#111827">{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def chart_png(report: FunnelReport, scale: int = 2) -> bytes:
    """The report's charts as PNG bytes (needs Pillow: ``pip install 'o2o-sdk[charts]'``)."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise ConfigurationError("PNG charts need Pillow: pip install 'o2o-sdk[charts]' (or write .svg).") from None
    lay = layout(report)
    img = Image.new("RGB", (lay.width * scale, lay.height * scale), "white")
    draw = ImageDraw.Draw(img)
    for b in lay.bars:
        if b.w > 0:
            draw.rectangle([b.x * scale, b.y * scale, (b.x + b.w) * scale - 1, (b.y + b.h) * scale - 1], fill=b.colour)
    for x, y, text, anchor, size in lay.texts:
        font = ImageFont.load_default(size * scale)
        draw.text((x * scale, y * scale), text, fill="#111827", font=font, anchor="rs" if anchor == "end" else "ls")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_chart(report: FunnelReport, path: str | Path) -> Path:
    """Write the charts to ``path``: ``.svg`` or ``.png`` by its suffix."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".svg":
        target.write_text(chart_svg(report), encoding="utf-8")
    elif suffix == ".png":
        target.write_bytes(chart_png(report))
    else:
        raise InvalidInput(f"{target.name!r}: write the chart to a .svg or .png file.")
    return target
