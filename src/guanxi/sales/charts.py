"""Server-side SVG charts: bar, stacked bar, line and funnel. No JavaScript, no CDN.

Every chart is a self-contained `<svg>` string. All text that reaches the SVG
(labels, titles, legend names, formatted values) passes through `escape()`, so a
customer called `<script>` stays text; numbers are formatted by the caller's `fmt`.
The result is marked safe only after that escaping, like `format_html` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777",
           "#65a30d", "#ea580c", "#475569")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def fmt_number(value: float) -> str:
    """12,345 (no decimals); amounts in 元 read best like this on a dashboard."""
    return f"{value:,.0f}"


def fmt_compact(value: float) -> str:
    """Short axis labels: 1.2M, 35k, 900."""
    v = abs(value)
    if v >= 1e9:
        return f"{value / 1e9:.1f}B"
    if v >= 1e6:
        return f"{value / 1e6:.1f}M"
    if v >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:,.0f}"


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _truncate(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    t = escape(title)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
            f'aria-label="{t}" {FONT}><title>{t}</title>')
    return mark_safe(head + "".join(body) + "</svg>")  # every piece escaped above


def _empty(width: int, title: str, message: str) -> SafeString:
    return _svg(width, 40, title, [f'<text x="8" y="24" fill="#64748b">{escape(message)}</text>'])


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def bar_chart(items: Sequence[tuple[str, float]], *, title: str = "",
              fmt: Callable[[float], str] = fmt_number, width: int = 640,
              empty: str = "No data") -> SafeString:
    """Horizontal bars, one per (label, value), labels on the left (long Chinese names fit)."""
    if not items:
        return _empty(width, title, empty)
    row, label_w, value_w = 22, 150, 90
    height = row * len(items) + 8
    top = max((v for _l, v in items), default=0) or 1
    plot = width - label_w - value_w
    body = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = max(0.0, value) / top * plot
        body.append(
            f'<g><title>{escape(label)}: {escape(fmt(value))}</title>'
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">'
            f'{escape(_truncate(label, 14))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{_color(0)}" rx="2"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" fill="#334155">'
            f'{escape(fmt(value))}</text></g>')
    return _svg(width, height, title, body)


def stacked_bar_chart(categories: Sequence[str], series: Sequence[Series], *, title: str = "",
                      fmt: Callable[[float], str] = fmt_number, width: int = 640,
                      height: int = 240, empty: str = "No data") -> SafeString:
    """Vertical columns per category, stacked by series, with a legend underneath."""
    totals = [sum(max(0.0, s.values[i]) for s in series) for i in range(len(categories))]
    if not categories or not series or not any(totals):
        return _empty(width, title, empty)
    left, bottom, top_pad = 48, 22, 10
    legend_rows = (len(series) + 3) // 4
    full_h = height + legend_rows * 18 + 6
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max(totals) or 1
    slot = plot_w / len(categories)
    bar_w = max(4.0, slot * 0.7)
    body = [_axis(left, top_pad, plot_w, plot_h, top, fmt)]
    for i, cat in enumerate(categories):
        x = left + i * slot + (slot - bar_w) / 2
        y = top_pad + plot_h
        parts = []
        for j, s in enumerate(series):
            v = max(0.0, s.values[i])
            if not v:
                continue
            h = v / top * plot_h
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{_color(j)}"><title>{escape(cat)} · {escape(s.name)}: '
                         f'{escape(fmt(v))}</title></rect>')
        body.append("<g>" + "".join(parts) + "</g>")
        body.append(f'<text x="{x + bar_w / 2:.1f}" y="{top_pad + plot_h + 15}" '
                    f'text-anchor="middle" font-size="10">{escape(_truncate(cat, 8))}</text>')
    body.append(_legend([s.name for s in series], height + 4, width))
    return _svg(width, full_h, title, body)


def line_chart(categories: Sequence[str], series: Sequence[Series], *, title: str = "",
               fmt: Callable[[float], str] = fmt_number, width: int = 640, height: int = 220,
               empty: str = "No data") -> SafeString:
    """One polyline per series over the categories (e.g. weeks)."""
    values = [v for s in series for v in s.values]
    if not categories or not values:
        return _empty(width, title, empty)
    left, bottom, top_pad = 48, 22, 10
    legend_rows = (len(series) + 3) // 4
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max(max(values), 0) or 1
    step = plot_w / max(1, len(categories) - 1)
    body = [_axis(left, top_pad, plot_w, plot_h, top, fmt)]
    for j, s in enumerate(series):
        points = " ".join(f"{left + i * step:.1f},{top_pad + plot_h - max(0.0, v) / top * plot_h:.1f}"
                          for i, v in enumerate(s.values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{_color(j)}" '
                    f'stroke-width="2"><title>{escape(s.name)}</title></polyline>')
    for i, cat in enumerate(categories):
        body.append(f'<text x="{left + i * step:.1f}" y="{top_pad + plot_h + 15}" '
                    f'text-anchor="middle" font-size="10">{escape(_truncate(cat, 8))}</text>')
    body.append(_legend([s.name for s in series], height + 4, width))
    return _svg(width, height + legend_rows * 18 + 6, title, body)


def funnel_chart(items: Sequence[tuple[str, float]], *, title: str = "",
                 fmt: Callable[[float], str] = fmt_number, width: int = 640,
                 empty: str = "No data") -> SafeString:
    """Centred bars narrowing with the value: stages of a pipeline, top to bottom."""
    if not items or not any(v for _l, v in items):
        return _empty(width, title, empty)
    row, label_w = 26, 130
    plot = width - label_w - 10
    top = max(v for _l, v in items) or 1
    body = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = max(2.0, max(0.0, value) / top * plot)
        x = label_w + (plot - w) / 2
        body.append(
            f'<g><title>{escape(label)}: {escape(fmt(value))}</title>'
            f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end">'
            f'{escape(_truncate(label, 12))}</text>'
            f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row - 4}" '
            f'fill="{_color(i)}" rx="3"/>'
            f'<text x="{label_w + plot / 2:.1f}" y="{y + 17}" text-anchor="middle" '
            f'fill="#0f172a">{escape(fmt(value))}</text></g>')
    return _svg(width, row * len(items) + 8, title, body)


def _axis(left: int, top_pad: int, plot_w: float, plot_h: float, top: float,
          fmt: Callable[[float], str]) -> str:
    """Baseline and three horizontal grid lines with their values."""
    out = []
    for k in range(4):
        value = top * k / 3
        y = top_pad + plot_h - plot_h * k / 3
        out.append(f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e2e8f0"/><text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                   f'font-size="10" fill="#64748b">{escape(fmt_compact(value))}</text>')
    return "".join(out)


def _legend(names: Sequence[str], y: float, width: int) -> str:
    col = width / 4
    out = []
    for i, name in enumerate(names):
        x, yy = 8 + (i % 4) * col, y + (i // 4) * 18
        out.append(f'<rect x="{x:.1f}" y="{yy:.1f}" width="10" height="10" fill="{_color(i)}"/>'
                   f'<text x="{x + 14:.1f}" y="{yy + 9:.1f}" font-size="11">'
                   f'{escape(_truncate(name, 18))}</text>')
    return "".join(out)
