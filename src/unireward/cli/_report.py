"""``unireward report``: a self-contained HTML page about a scored dump.

The page has the per-task summary table, the grounding benchmark numbers where the accuracy
is the IoU (temporal grounding: R@0.3 / 0.5 / 0.7 and mIoU; spatial grounding: Acc@0.5 and
mIoU), reward histograms per task, component means (accuracy, format, structure), status
counts and examples of format failures. Charts are
inline SVG drawn here; there are no scripts, no external resources and a Content Security
Policy that forbids both. Every piece of text from the dump is HTML-escaped: model output is
hostile. The dump is read in one streaming pass (memory does not grow with its size).
"""

from __future__ import annotations

import argparse
import html
import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ._summary import Summary

__all__ = ["ReportData", "add_report_parser", "histogram_svg", "render_report", "run_report"]

BINS = 16
HI = 1.6  # rewards are binned over [0, HI): 16 bins of 0.1
MAX_EXAMPLES = 5
MAX_TEXT = 2000
COLORS = {"accuracy": "#2a9d8f", "format": "#e9c46a", "structure": "#8d6cab", "reward": "#3b7dd8"}
STATUS_COLORS = {"ok": "#2a9d8f", "format_error": "#e9c46a", "no_tags": "#f4a261",
                 "parse_error": "#e76f51", "malformed_json": "#d62828", "schema_error": "#9d0208",
                 "fallback": "#8d6cab", "deadline": "#6c757d", "non_finite": "#adb5bd",
                 "error": "#212529"}
_COMPLETION_COLUMNS = ("completion", "response", "output", "solution_str", "_raw")
_RAW_KEYS = frozenset({"_raw", "reward", "accuracy", "format", "structure", "status", "reason"})
esc = html.escape


#: Tasks whose accuracy is the IoU of the answer: their benchmark recalls follow from it.
IOU_TASKS = {"temporal grounding": ("R@0.3", "R@0.5", "R@0.7"), "spatial grounding": ("Acc@0.5",)}
_IOU_THRESHOLDS = {"R@0.3": 0.3, "R@0.5": 0.5, "R@0.7": 0.7, "Acc@0.5": 0.5}


def _canonical_task(label: str) -> str | None:
    from ..errors import UnknownTaskError
    from ..registry import get_scorer

    try:
        name = get_scorer(label).name
    except (UnknownTaskError, TypeError):
        return None
    return name if name in IOU_TASKS else None


class IouCounts:
    """Streaming ``R@m`` / ``Acc@m`` and mIoU of one task (see :func:`unireward.metrics.recall_at`).

    >>> c = IouCounts(("R@0.5",)); [c.add(v) for v in (0.2, 0.5, 0.9)] and None
    >>> c.values()
    {'mIoU': 0.5333333333333333, 'R@0.5': 0.6666666666666666}
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.n = 0
        self.total = 0.0
        self.hits = dict.fromkeys(names, 0)

    def add(self, iou: float) -> None:
        iou = iou if iou == iou else 0.0
        self.n += 1
        self.total += iou
        for name in self.hits:
            self.hits[name] += iou >= _IOU_THRESHOLDS[name]

    def values(self) -> dict[str, float]:
        return {"mIoU": self.total / self.n, **{k: v / self.n for k, v in self.hits.items()}}


def _bin(value: float) -> int:
    return min(max(int(value / HI * BINS), 0), BINS - 1) if value == value else 0


class ReportData:
    """What the page shows, gathered row by row."""

    def __init__(self, fields: Any = None) -> None:
        from ._presets import FieldMap

        self.fields = fields if fields is not None else FieldMap()
        self.summary = Summary()
        self.hist: dict[str, list[int]] = {}
        self.status: dict[str, Counter[str]] = {}
        self.examples: dict[str, list[dict[str, str]]] = {}
        self.iou: dict[str, IouCounts] = {}  # by task label, for the IoU-scored tasks
        self._canonical: dict[str, str | None] = {}
        self.skipped = 0

    def add(self, row: dict[str, Any]) -> None:
        try:
            reward, acc, fmt, st = (float(row.get(k) or 0.0) for k in ("reward", "accuracy", "format", "structure"))
        except (TypeError, ValueError):
            self.skipped += 1
            return
        task = "(unreadable)" if row.keys() <= _RAW_KEYS else self.fields.task_label(row)
        status = str(row.get("status") or "ok")
        self.summary.add(task, reward, acc, fmt, st, status)
        self.hist.setdefault(task, [0] * BINS)[_bin(reward)] += 1
        self.status.setdefault(task, Counter())[status] += 1
        canon = self._canonical.get(task, "?")
        if canon == "?":
            canon = self._canonical[task] = _canonical_task(task)
        if canon is not None:
            counts = self.iou.get(task)
            if counts is None:
                counts = self.iou[task] = IouCounts(IOU_TASKS[canon])
            counts.add(acc)
        if fmt == 0.0:
            ex = self.examples.setdefault(task, [])
            if len(ex) < MAX_EXAMPLES:
                text = next((row[c] for c in _COMPLETION_COLUMNS if isinstance(row.get(c), str)), "")
                if len(text) > MAX_TEXT:
                    text = text[:MAX_TEXT] + " [... cut]"
                ex.append({"status": status, "reason": str(row.get("reason") or ""), "text": text,
                           "reward": f"{reward:.3f}"})


def histogram_svg(counts: list[int], *, width: int = 320, height: int = 130, color: str = "#3b7dd8") -> str:
    """An SVG bar chart of reward-bin counts (bins of ``HI / len(counts)`` from 0).

    >>> svg = histogram_svg([0, 3, 1])
    >>> svg.startswith("<svg") and svg.count("<rect") == 3
    True
    """
    top = max(counts) or 1
    n = len(counts)
    plot_h = height - 28
    bw = width / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, c in enumerate(counts):
        h = plot_h * c / top
        lo = HI * i / n
        parts.append(f'<rect x="{i * bw + 1:.1f}" y="{plot_h - h + 4:.1f}" width="{bw - 2:.1f}" '
                     f'height="{h:.1f}" fill="{color}"><title>[{lo:.1f}, {lo + HI / n:.1f}): {c}</title></rect>')
    parts.append(f'<line x1="0" y1="{plot_h + 4}" x2="{width}" y2="{plot_h + 4}" stroke="#444"/>')
    for v in (0.0, 0.5, 1.0, 1.5):
        x = v / HI * width
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" font-size="10" fill="#333">{v:g}</text>')
    parts.append(f'<text x="{width - 4}" y="12" font-size="10" text-anchor="end" fill="#555">max {top}</text></svg>')
    return "".join(parts)


def _components_svg(means: dict[str, float], width: int = 320) -> str:
    rows = list(means.items())
    height = 18 * len(rows) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, (name, v) in enumerate(rows):
        y = 18 * i + 2
        w = max(0.0, min(v / HI, 1.0)) * (width - 150)
        parts.append(f'<text x="0" y="{y + 12}" font-size="11">{esc(name)}</text>'
                     f'<rect x="70" y="{y}" width="{width - 150}" height="14" fill="#eee"/>'
                     f'<rect x="70" y="{y}" width="{w:.1f}" height="14" fill="{COLORS.get(name, "#999")}"/>'
                     f'<text x="{width - 74}" y="{y + 12}" font-size="11">{v:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _status_svg(counts: Counter[str], width: int = 320) -> str:
    total = sum(counts.values()) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="18" role="img">']
    x = 0.0
    for status, c in counts.most_common():
        w = width * c / total
        parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="18" '
                     f'fill="{STATUS_COLORS.get(status, "#999")}"><title>{esc(status)}: {c}</title></rect>')
        x += w
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{margin-top:0}table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#eef2fb}
td:first-child,th:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:16px}
.card{border:1px solid #ddd;border-radius:6px;padding:10px;background:#fafbfc}
.card h3{margin:0 0 6px 0;font-size:15px}
.legend span{display:inline-block;margin-right:10px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:3px}
pre{white-space:pre-wrap;word-break:break-all;max-width:1000px;background:#f6f6f6;padding:6px;
max-height:180px;overflow:auto;border-left:3px solid #e76f51}
.meta{color:#555;font-size:13px}
"""


def render_report(data: ReportData, title: str = "unireward report") -> str:
    """The HTML page for the gathered data."""
    rows = data.summary.rows()
    total = data.summary.rows_total
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p class='meta'>{total:,} rows, {len(rows)} tasks"
        + (f", {data.skipped:,} rows without numeric rewards skipped" if data.skipped else "") + ".</p>",
        "<h2>Summary</h2><table><tr><th>task</th><th>rows</th><th>reward</th><th>accuracy</th>"
        "<th>format</th><th>structure</th><th>format failures</th><th>parse failures</th>"
        "<th>fallbacks</th><th>errors</th></tr>",
    ]
    for r in rows:
        parts.append(
            f"<tr><td>{esc(r['task'])}</td><td>{r['rows']:,}</td><td>{r['reward']:.3f}</td>"
            f"<td>{r['accuracy']:.3f}</td><td>{r['format']:.3f}</td><td>{r['structure']:.3f}</td>"
            f"<td>{r['format_fail']:.1%}</td><td>{r['parse']:,}</td><td>{r['fallback']:,}</td>"
            f"<td>{r['error']:,}</td></tr>")
    parts.append("</table>")
    if data.iou:
        parts.append(
            "<h2>Grounding benchmarks</h2><p class='meta'>From the accuracies, which are the IoUs "
            "of the answers (an unusable answer counts as IoU 0): the share of samples with IoU "
            "at least the threshold, and the mean IoU.</p><table><tr><th>task</th><th>samples</th>"
            "<th>mIoU</th><th>R@0.3</th><th>R@0.5 / Acc@0.5</th><th>R@0.7</th></tr>")
        for task in sorted(data.iou):
            c = data.iou[task]
            v = c.values()
            if "Acc@0.5" in v:  # one column for R@0.5 and Acc@0.5
                v["R@0.5"] = v["Acc@0.5"]
            cells = "".join(f"<td>{v[k]:.3f}</td>" if k in v else "<td></td>"
                            for k in ("mIoU", "R@0.3", "R@0.5", "R@0.7"))
            parts.append(f"<tr><td>{esc(task)}</td><td>{c.n:,}</td>{cells}</tr>")
        parts.append("</table>")
    parts.append("<h2>Rewards and components per task</h2><div class='legend'>")
    for status, color in STATUS_COLORS.items():
        parts.append(f"<span><i style='background:{color}'></i>{esc(status)}</span>")
    parts.append("</div><div class='grid'>")
    for r in rows:
        task = r["task"]
        means = {k: r[k] for k in ("reward", "accuracy", "format", "structure")}
        parts.append(
            f"<div class='card'><h3>{esc(task)}</h3>"
            f"<div class='meta'>reward distribution ({r['rows']:,} rows)</div>{histogram_svg(data.hist[task])}"
            f"<div class='meta'>component means</div>{_components_svg(means)}"
            f"<div class='meta'>statuses</div>{_status_svg(data.status[task])}</div>")
    parts.append("</div><h2>Format failures (examples)</h2>")
    if not data.examples:
        parts.append("<p>None.</p>")
    for task in sorted(data.examples):
        parts.append(f"<h3>{esc(task)}</h3>")
        for ex in data.examples[task]:
            parts.append(f"<p class='meta'>reward {esc(ex['reward'])}; status {esc(ex['status'])}; "
                         f"{esc(ex['reason'])}</p><pre>{esc(ex['text'])}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def build_report(rows: Iterable[dict[str, Any]], fields: Any = None) -> ReportData:
    """Gather the page's data from scored rows in one pass."""
    data = ReportData(fields)
    for row in rows:
        data.add(row)
    return data


def add_report_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report", help="write a self-contained HTML report of a scored dump",
        description="Summarise a scored dump (the output of `unireward score`) as one HTML file: "
        "summary table, reward histograms, component means, statuses, format-failure examples.",
        epilog="examples:\n  unireward report scored.jsonl -o report.html\n"
        "  unireward report scored.parquet -o report.html --title 'step 1200'\n\n"
        "exit codes: 0 written, 2 usage or input error (e.g. the dump is not scored)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="a scored JSONL / JSONL.gz / Parquet file, or a folder of shards")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    p.add_argument("--title", default="unireward report")
    from ._score import add_field_arguments

    add_field_arguments(p)
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ..errors import UniRewardError
    from ._io import read_rows, write_atomic

    def scored_rows() -> Iterable[dict[str, Any]]:
        for _where, row, _err in read_rows(args.input, args.format):
            if row is not None:
                if "reward" not in row:
                    raise _NotScored
                yield row

    try:
        from ._presets import FieldMap

        data = build_report(scored_rows(), FieldMap.from_preset(args.preset, args.field, args.task))
    except _NotScored:
        print("unireward: the input has rows without 'reward' (run `unireward score` first)", file=sys.stderr)
        return 2
    except UniRewardError as exc:
        print(f"unireward: {exc}", file=sys.stderr)
        return 2
    if not data.summary.rows_total:
        print("unireward: the input has no scored rows", file=sys.stderr)
        return 2
    try:  # a new folder is created; text the dump cannot encode (lone surrogates) is escaped
        write_atomic(args.output, render_report(data, args.title), errors="backslashreplace")
    except OSError as exc:
        print(f"unireward: cannot write {args.output}: {exc}", file=sys.stderr)
        return 2
    print(f"{data.summary.rows_total:,} rows -> {args.output}")
    return 0


class _NotScored(Exception):
    pass
