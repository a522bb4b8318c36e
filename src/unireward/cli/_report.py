"""``unireward report``: a self-contained HTML page about a scored dump.

Reward histograms per task (inline SVG), component means, the summary table and examples
of format failures (HTML-escaped: model output is hostile). No dependencies, no network.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections import defaultdict
from typing import Any

from ._io import read_rows

__all__ = ["add_report_parser", "render_report"]

BINS = 15
MAX_EXAMPLES = 5


def _histogram_svg(values: list[float], lo: float = 0.0, hi: float = 1.5, width: int = 300, height: int = 120) -> str:
    counts = [0] * BINS
    for v in values:
        i = int((min(max(v, lo), hi) - lo) / (hi - lo) * BINS)
        counts[min(i, BINS - 1)] += 1
    top = max(counts) or 1
    bw = width / BINS
    bars = []
    for i, c in enumerate(counts):
        h = (height - 20) * c / top
        bars.append(f'<rect x="{i * bw + 1:.1f}" y="{height - 15 - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" fill="#3b7dd8"><title>{c}</title></rect>')
    axis = (f'<line x1="0" y1="{height - 15}" x2="{width}" y2="{height - 15}" stroke="#444"/>'
            f'<text x="0" y="{height - 2}" font-size="10">{lo:g}</text>'
            f'<text x="{width - 16}" y="{height - 2}" font-size="10">{hi:g}</text>')
    return f'<svg width="{width}" height="{height}" role="img">{"".join(bars)}{axis}</svg>'


def _bar(value: float, color: str) -> str:
    w = max(0.0, min(1.0, value)) * 120
    return f'<svg width="124" height="12"><rect width="{w:.1f}" height="12" fill="{color}"/></svg> {value:.3f}'


def render_report(rows: list[dict[str, Any]], title: str = "unireward report") -> str:
    """The HTML page for scored rows (each with ``reward``, ``accuracy``, ``format``, ...)."""
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_task[str(r.get("problem_type") or r.get("task") or "(unknown)")].append(r)
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:12px 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#eef}"
        "td:first-child{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:16px}"
        ".card{border:1px solid #ddd;border-radius:6px;padding:8px}pre{white-space:pre-wrap;max-width:900px;"
        "background:#f6f6f6;padding:6px;max-height:160px;overflow:auto}</style></head><body>",
        f"<h1>{esc(title)}</h1><p>{len(rows)} rows, {len(by_task)} tasks.</p>",
        "<h2>Summary</h2><table><tr><th>task</th><th>rows</th><th>reward</th><th>accuracy</th><th>format</th>"
        "<th>structure</th><th>format failures</th><th>parse failures</th><th>fallbacks</th><th>errors</th></tr>",
    ]
    for task in sorted(by_task):
        rs = by_task[task]
        n = len(rs)
        def mean(k: str, rs: list[dict[str, Any]] = rs) -> float:
            return sum(float(r.get(k) or 0.0) for r in rs) / len(rs)

        status = [r.get("status") for r in rs]
        parse = sum(s in ("parse_error", "malformed_json", "schema_error") for s in status)
        parts.append(
            f"<tr><td>{esc(task)}</td><td>{n}</td><td>{mean('reward'):.3f}</td><td>{_bar(mean('accuracy'), '#2a9d8f')}</td>"
            f"<td>{_bar(mean('format'), '#e9c46a')}</td><td>{mean('structure'):.3f}</td>"
            f"<td>{sum(float(r.get('format') or 0) == 0 for r in rs) / n:.1%}</td><td>{parse}</td>"
            f"<td>{status.count('fallback')}</td><td>{status.count('error')}</td></tr>"
        )
    parts.append("</table><h2>Reward distributions</h2><div class='grid'>")
    for task in sorted(by_task):
        vals = [float(r.get("reward") or 0.0) for r in by_task[task]]
        parts.append(f"<div class='card'><b>{esc(task)}</b><br>{_histogram_svg(vals)}</div>")
    parts.append("</div><h2>Format failures (examples)</h2>")
    for task in sorted(by_task):
        bad = [r for r in by_task[task] if float(r.get("format") or 0) == 0][:MAX_EXAMPLES]
        if not bad:
            continue
        parts.append(f"<h3>{esc(task)}</h3>")
        for r in bad:
            text = str(r.get("completion") or r.get("response") or r.get("_raw") or "")
            if len(text) > 2000:
                text = text[:2000] + " [...]"
            parts.append(f"<p>status: {esc(str(r.get('status')))}; reason: {esc(str(r.get('reason')))}</p><pre>{esc(text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def add_report_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report of a scored dump",
        epilog="examples:\n  unireward report scored.jsonl -o report.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--title", default="unireward report")
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ..errors import InputError

    rows = []
    try:
        for _lineno, row, err in read_rows(args.input):
            if err is None and row is not None:
                rows.append(row)
    except InputError as exc:
        print(f"unireward: {exc}", file=sys.stderr)
        return 2
    if not rows or "reward" not in rows[0]:
        print("unireward: the input has no scored rows (run `unireward score` first)", file=sys.stderr)
        return 2
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(render_report(rows, args.title))
    print(json.dumps({"rows": len(rows), "output": args.output}))
    return 0
