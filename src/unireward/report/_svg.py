"""Inline SVG charts for the report: bar histograms, horizontal bars, lines.

Every chart is one ``<svg class="chart">`` element built from numbers and escaped labels;
no script, no external resource. Labels sit in bands reserved for them, never over bars.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

__all__ = ["PALETTE", "bars_svg", "color", "histogram_svg", "lines_svg", "stack_svg"]

esc = html.escape
PALETTE = ("#3b7dd8", "#e76f51", "#2a9d8f", "#8d6cab", "#e9c46a", "#264653", "#f4a261",
           "#9d0208", "#6c757d", "#43aa8b", "#b5838d", "#577590", "#ff006e", "#8ac926",
           "#6a4c93", "#1982c4", "#c9184a", "#a0c4ff", "#606c38", "#fb8500")
_HEAD = ('<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{w}" height="{h}" '
         'role="img" aria-label="{label}">')


def color(i: int) -> str:
    """The ``i``-th series colour (cycling)."""
    return PALETTE[i % len(PALETTE)]


def _num(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def histogram_svg(counts: Sequence[int], ticks: Sequence[tuple[int, str]], *, label: str,
                  width: int = 320, height: int = 140, fill: str = "#3b7dd8") -> str:
    """Vertical bars of ``counts`` with text ``ticks`` ``(bin index, text)`` under them.

    The tallest bar's count is written in a band above the plot, so it never overlaps a bar.

    >>> svg = histogram_svg([0, 3, 1], [(0, "0"), (2, "2")], label="demo")
    >>> svg.count("<rect"), "tallest bar: 3" in svg
    (3, True)
    """
    top = max(counts, default=0) or 1
    n = max(len(counts), 1)
    band, axis = 16, 18  # label band above, tick band below
    plot_h = height - band - axis
    bw = width / n
    parts = [_HEAD.format(w=width, h=height, label=esc(label))]
    parts.append(f'<text x="{width - 2}" y="11" font-size="10" text-anchor="end" fill="#555">'
                 f'tallest bar: {max(counts, default=0):,}</text>')
    for i, c in enumerate(counts):
        h = plot_h * c / top
        parts.append(
            f'<rect x="{i * bw + 0.5:.1f}" y="{band + plot_h - h:.1f}" '
            f'width="{max(bw - 1, 0.5):.1f}" height="{h:.1f}" fill="{fill}">'
            f"<title>{c:,}</title></rect>"
        )
    parts.append(
        f'<line x1="0" y1="{band + plot_h}" x2="{width}" y2="{band + plot_h}" stroke="#444"/>'
    )
    for i, text in ticks:
        x = min(max(i * bw, 0), width - 4)
        parts.append(
            f'<text x="{x:.1f}" y="{height - 5}" font-size="10" fill="#333">{esc(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    *,
    label: str,
    width: int = 560,
    lo: float | None = None,
    hi: float | None = None,
    name_w: int = 170,
) -> str:
    """Horizontal grouped bars: one row per label, one bar per series, value written after.

    >>> svg = bars_svg([("a", [1.0, 0.5]), ("b", [0.2, 0.0])], ["x", "y"], label="demo")
    >>> svg.count("<rect") - 2  # minus the two legend swatches
    4
    >>> bars_svg([("a", [1.0])], ["x"], label="one series: no legend").count("<rect")
    1
    """
    k = max(len(series), 1)
    bar, gap, val_w = 11, 8, 56
    legend = 18 if len(series) > 1 else 2
    values = [v for _, vs in rows for v in vs if v == v]
    lo = min([0.0, *values]) if lo is None else lo
    hi = max([1e-12, *values]) if hi is None else hi
    span = (hi - lo) or 1.0
    plot_w = width - name_w - val_w
    height = legend + len(rows) * (k * bar + gap) + 4
    parts = [_HEAD.format(w=width, h=height, label=esc(label))]
    x = name_w
    for j, name in enumerate(series if len(series) > 1 else ()):
        parts.append(f'<rect x="{x}" y="3" width="10" height="10" fill="{color(j)}"/>'
                     f'<text x="{x + 13}" y="12" font-size="11">{esc(name)}</text>')
        x += 20 + 7 * len(name)
    y = float(legend)
    zero = name_w + plot_w * (0 - lo) / span
    for name, vs in rows:
        parts.append(
            f'<text x="0" y="{y + k * bar / 2 + 4:.1f}" font-size="11">{esc(name[:28])}</text>'
        )
        for j, v in enumerate(vs):
            ok = v == v
            x1 = name_w + plot_w * ((v if ok else 0) - lo) / span
            a, b = sorted((zero, x1))
            parts.append(
                f'<rect x="{a:.1f}" y="{y + j * bar:.1f}" width="{max(b - a, 0.5):.1f}" '
                f'height="{bar - 1}" fill="{color(j)}">'
                f'<title>{esc(series[j])}: {_num(v) if ok else "n/a"}</title></rect>'
                f'<text x="{width - val_w + 4}" y="{y + j * bar + bar - 2:.1f}" font-size="10">'
                f"{_num(v) if ok else 'n/a'}</text>"
            )
        y += k * bar + gap
    parts.append(
        f'<line x1="{zero:.1f}" y1="{legend}" x2="{zero:.1f}" y2="{height - 2}" '
        'stroke="#444"/></svg>'
    )
    return "".join(parts)


def lines_svg(series: Mapping[str, Sequence[tuple[float, float]]], *, label: str, x_name: str,
              width: int = 560, height: int = 220, lo: float | None = None,
              hi: float | None = None) -> str:
    """Line chart of ``{name: [(x, y), ...]}`` with a legend below the plot.

    >>> svg = lines_svg({"a": [(0, 0.0), (1, 1.0)], "b": [(0, 0.5)]}, label="demo", x_name="step")
    >>> svg.count("<polyline"), svg.count("<circle")
    (1, 1)
    """
    pts = [p for s in series.values() for p in s if p[1] == p[1]]
    xs = [p[0] for p in pts] or [0.0, 1.0]
    ys = [p[1] for p in pts] or [0.0, 1.0]
    x0, x1 = min(xs), max(xs)
    y0 = min(ys) if lo is None else lo
    y1 = max(ys) if hi is None else hi
    xspan, yspan = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    left, right, top = 44, 10, 10
    rows_legend = (len(series) + 2) // 3
    plot_h = height - top - 34 - 14 * rows_legend
    plot_w = width - left - right
    total_h = height

    def px(x: float) -> float:
        return left + plot_w * (x - x0) / xspan

    def py(y: float) -> float:
        return top + plot_h * (1 - (y - y0) / yspan)

    parts = [_HEAD.format(w=width, h=total_h, label=esc(label))]
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
                 'stroke="#ccc"/>')
    for v in (y0, (y0 + y1) / 2, y1):
        parts.append(f'<text x="{left - 4}" y="{py(v) + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{_num(v)}</text>')
    for v, anchor in ((x0, "start"), (x1, "end")) if x1 > x0 else ((x0, "start"),):
        parts.append(f'<text x="{px(v):.1f}" y="{top + plot_h + 13}" font-size="10" '
                     f'text-anchor="{anchor}">{_num(v)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 13}" font-size="10" '
                 f'text-anchor="middle" fill="#555">{esc(x_name)}</text>')
    for j, (name, s) in enumerate(series.items()):
        good = [(x, y) for x, y in s if y == y]
        c = color(j)
        if len(good) == 1:
            x, y = good[0]
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}">'
                         f"<title>{esc(name)}</title></circle>")
        elif good:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in good)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="1.6">'
                         f'<title>{esc(name)}</title></polyline>')
        lx = left + (j % 3) * (plot_w / 3)
        ly = top + plot_h + 30 + 14 * (j // 3)
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="10" height="10" fill="{c}"/>'
                     f'<text x="{lx + 13:.1f}" y="{ly}" font-size="11">{esc(name[:30])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stack_svg(
    counts: Mapping[str, int], colors: Mapping[str, str], *, label: str, width: int = 320
) -> str:
    """One horizontal bar split by share (statuses of a task)."""
    total = sum(counts.values()) or 1
    parts = [_HEAD.format(w=width, h=18, label=esc(label))]
    x = 0.0
    for name, c in sorted(counts.items(), key=lambda kv: -kv[1]):
        w = width * c / total
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="18" '
            f'fill="{colors.get(name, "#999")}">'
            f"<title>{esc(name)}: {c:,}</title></rect>"
        )
        x += w
    parts.append("</svg>")
    return "".join(parts)
