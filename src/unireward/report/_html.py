"""The report pages, drawn from :meth:`ReportData.summary` data.

A page is one HTML file: inline CSS and inline SVG, a Content Security Policy that forbids
scripts and every external resource, and every piece of text from the dump HTML-escaped
(model output is hostile). Each panel is a ``<section class="panel">`` with an ``id``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from ._collect import _COMPONENTS, REWARD_BINS, REWARD_HI
from ._svg import bars_svg, histogram_svg, lines_svg, stack_svg

__all__ = ["render_comparison", "render_report"]

esc = html.escape
WRONG_SHOWN = 3  # wrong-but-well-formatted examples per task (other than the best and the worst)
STATUS_COLORS = {"ok": "#2a9d8f", "format_error": "#e9c46a", "no_tags": "#f4a261",
                 "parse_error": "#e76f51", "malformed_json": "#d62828", "schema_error": "#9d0208",
                 "fallback": "#8d6cab", "deadline": "#6c757d", "non_finite": "#adb5bd",
                 "ground_truth_error": "#495057"}
_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff;max-width:1400px}
h1{margin-top:0}table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right;font-size:13px}th{background:#eef2fb}
td:first-child,th:first-child{text-align:left}tr.all td{font-weight:600;background:#f4f6fa}
.grid{display:flex;flex-wrap:wrap;gap:14px}
.card{border:1px solid #ddd;border-radius:6px;padding:10px;background:#fafbfc}
.card h3{margin:0 0 6px 0;font-size:15px}
.panel{border-top:2px solid #3b7dd8;margin-top:28px;padding-top:4px}
.legend span{display:inline-block;margin-right:10px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:3px}
pre{white-space:pre-wrap;word-break:break-all;max-width:1100px;background:#f6f6f6;padding:6px;
max-height:180px;overflow:auto;margin:2px 0 8px 0;border-left:3px solid #bbb}
pre.truth{border-left-color:#2a9d8f}pre.bad{border-left-color:#e76f51}
.example{margin:6px 0 14px 0}
.pair{display:grid;grid-template-columns:2fr 3fr;gap:10px;max-width:1300px}
.meta{color:#555;font-size:13px}.wide{overflow-x:auto;max-width:100%}
nav a{margin-right:12px}
"""
_HEAD = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
         "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:; script-src 'none'\">"
         "<title>{title}</title><style>{css}</style></head><body>")


def _plural(n: int, word: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 rows``.

    >>> _plural(1, "row"), _plural(0, "row"), _plural(1200, "group")
    ('1 row', '0 rows', '1,200 groups')
    """
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _f(v: Any, fmt: str = ".3f") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, int) and fmt == ".3f":
        return f"{v:,}"
    return format(v, fmt)


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _delta(a: Any, b: Any, fmt: str = "+.3f") -> str:
    """``b - a`` formatted with its sign; a difference that rounds to zero shows as zero.

    >>> _delta(0.5, 0.75), _delta(0.5, 0.5000001), _delta(None, 1.0)
    ('+0.250', '0.000', 'n/a')
    """
    if a is None or b is None:
        return "n/a"
    text = format(b - a, fmt)
    if not any(c in "123456789" for c in text):
        text = format(0.0, fmt.lstrip("+"))
    return text


def _section(pid: str, title: str, body: Sequence[str], intro: str = "") -> str:
    head = f"<section class='panel' id='{pid}'><h2>{esc(title)}</h2>"
    return head + (f"<p class='meta'>{intro}</p>" if intro else "") + "".join(body) + "</section>"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]],
           all_row: Sequence[str] | None = None) -> str:
    out = ["<table><tr>", *(f"<th>{esc(h)}</th>" for h in head), "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>")
    if all_row is not None:
        out.append("<tr class='all'>" + "".join(f"<td>{c}</td>" for c in all_row) + "</tr>")
    out.append("</table>")
    return "".join(out)


# -- panels of one run ---------------------------------------------------------------------

_SUMMARY_HEAD = ("task", "rows", "reward", "reward std", "accuracy", "format", "structure",
                 "format failures", "parse failures", "fallbacks")


def _summary_cells(t: Mapping[str, Any]) -> list[str]:
    return [f"{t['rows']:,}", _f(t["reward_mean"]), _f(t["reward_std"]), _f(t["accuracy_mean"]),
            _f(t["format_mean"]), _f(t["structure_mean"]), _pct(t["format_failure_share"]),
            f"{t['parse_failures']:,}", f"{t['fallbacks']:,}"]


def _reward_ticks() -> list[tuple[int, str]]:
    return [(int(v / REWARD_HI * REWARD_BINS), f"{v:g}") for v in (0.0, 0.5, 1.0, 1.5)]


def _panel_summary(s: Mapping[str, Any]) -> str:
    body = [_summary_table(s), "<div class='legend'>"]
    body += [f"<span><i style='background:{c}'></i>{esc(k)}</span>"
             for k, c in STATUS_COLORS.items()]
    body.append("</div><div class='grid'>")
    for label, t in s["tasks"].items():
        means = [(k, [t[f"{k}_mean"]]) for k in _COMPONENTS]
        body.append(
            f"<div class='card'><h3>{esc(label)}</h3><div class='meta'>reward distribution "
            f"({_plural(t['rows'], 'row')}, bins of 0.1)</div>"
            + histogram_svg(t["reward_histogram"], _reward_ticks(), label=f"rewards of {label}")
            + "<div class='meta'>component means (bar scale 0-1.5)</div>"
            + bars_svg(means, ["mean"], label=f"component means of {label}", width=320, lo=0.0,
                       hi=1.5, name_w=70)
            + "<div class='meta'>statuses</div>"
            + stack_svg(t["statuses"], STATUS_COLORS, label=f"statuses of {label}") + "</div>")
    body.append("</div>")
    return _section("summary", "Summary", body,
                    "Per task: mean reward and its standard deviation, mean components, the share "
                    "of answers that fail the format, parse failures and reward-model fallbacks. "
                    "Error rows are not in these numbers (see Errors).")


def _summary_table(s: Mapping[str, Any]) -> str:
    """One run's per-task table, with the all-tasks row."""
    rows = [[esc(label), *_summary_cells(t)] for label, t in s["tasks"].items()]
    return _table(_SUMMARY_HEAD, rows, ["all tasks", *_summary_cells(s["all_tasks"])])


def _panel_heterogeneity(s: Mapping[str, Any]) -> str:
    g = s["groups"]
    rows = [_group_cells(esc(label), t, g["tasks"].get(label)) for label, t in s["tasks"].items()]
    body = [_table(_GROUP_HEAD, rows, _group_cells("all tasks", s["all_tasks"], g["all_tasks"]))]
    if not g["column"]:
        body.append("<p class='meta'>No prompt-group column (problem_id, uid or prompt; see "
                    "<code>--field problem_id=COLUMN</code>): every row is a group of one, so "
                    "there are no group statistics and every advantage is 0.</p>")
    body.append("<div class='meta'>share of the total |advantage| per task: which tasks dominate "
                "the gradient, under GRPO and under EMA-GRPO</div>")
    body.append(bars_svg(_shares(g, ("advantage_share_grpo", "advantage_share_ema_grpo")),
                         ["GRPO", "EMA-GRPO"], label="share of |advantage| per task", lo=0.0))
    body.append("<div class='meta'>share of prompt groups with no learning signal (every rollout "
                "got the same reward), all right, all wrong</div>")
    body.append(bars_svg(_shares(g, ("zero_std_share", "all_right_share", "all_wrong_share")),
                         ["zero std", "all right", "all wrong"], label="group shares per task",
                         lo=0.0, hi=1.0))
    split = (f" {_plural(g['steps_split'], 'step')} longer than the replay limit were replayed "
             "in parts." if g["steps_split"] else "")
    order = (f" {_plural(g['steps_out_of_order'], 'step')} came back after later ones: the replay "
             "follows file order." if g["steps_out_of_order"] else "")
    return _section(
        "heterogeneity", "Reward heterogeneity and prompt groups", body,
        "A prompt group is the rollouts of one prompt in one step (grouped by problem_id, else "
        "uid, else the prompt text). Zero std: every rollout got the same reward, so GRPO has "
        "nothing to learn from. All right: every accuracy is 1; all wrong: every accuracy is 0. "
        "Mean |A|: the mean absolute advantage when the dump is replayed step by step "
        f"({_plural(g['steps'], 'step')}) through unireward.advantage.grpo and ema_grpo (default "
        "constants)." + split + order)


_GROUP_HEAD = ("task", "rows", "reward", "reward std", "groups", "no signal (zero std)",
               "all right", "all wrong", "mean |A| GRPO", "mean |A| EMA-GRPO", "share of |A| GRPO",
               "share of |A| EMA-GRPO")


def _group_cells(label: str, t: Mapping[str, Any], gt: Mapping[str, Any] | None) -> list[str]:
    gt = gt or {}
    return [label, f"{t['rows']:,}", _f(t["reward_mean"]), _f(t["reward_std"]),
            _f(gt.get("groups")), _pct(gt.get("zero_std_share")), _pct(gt.get("all_right_share")),
            _pct(gt.get("all_wrong_share")), _f(gt.get("mean_abs_advantage_grpo")),
            _f(gt.get("mean_abs_advantage_ema_grpo")), _pct(gt.get("advantage_share_grpo")),
            _pct(gt.get("advantage_share_ema_grpo"))]


def _shares(g: Mapping[str, Any], keys: Sequence[str]) -> list[tuple[str, list[float]]]:
    """Per task, the group statistics ``keys`` (0 where there are none), for a bar chart."""
    return [(label, [gt.get(k) or 0.0 for k in keys]) for label, gt in g["tasks"].items()]


def _panel_training(s: Mapping[str, Any]) -> str:
    tr = s["trend"]
    if tr["by"] == "step":
        x_name = "step" if tr["column"] == "step" else f"step ({tr['column']})"
        intro = f"By training step (column <code>{esc(str(tr['column']))}</code>)."
    else:
        x_name = "row of the dump (bin start)"
        intro = ("The dump has no step column: rows are binned in file order "
                 f"({_plural(tr['bin_rows'], 'row')} per bin), and the advantage replay cuts it "
                 "into batches at prompt-group boundaries.")
    tasks = tr["tasks"]
    ema_x = tr["ema_std"]["x"]
    body = [
        "<div class='meta'>mean reward per task</div>",
        lines_svg({label: list(zip(t["x"], t["reward"], strict=True))
                   for label, t in tasks.items()},
                  label="reward over training", x_name=x_name),
        "<div class='meta'>mean accuracy per task</div>",
        lines_svg({label: list(zip(t["x"], t["accuracy"], strict=True))
                   for label, t in tasks.items()},
                  label="accuracy over training", x_name=x_name, lo=0.0, hi=1.0),
        "<div class='meta'>EMA-GRPO's per-task reward std (sigma of the task key) after each "
        "replayed step</div>",
        lines_svg({k: [(x, v) for x, v in zip(ema_x, vs, strict=True) if v is not None]
                   for k, vs in tr["ema_std"]["keys"].items()},
                  label="EMA std per task over training",
                  x_name=x_name if tr["by"] == "step" else "row of the dump"),
    ]
    final = tr["ema_final"]
    if final:
        body.append(_table(["task key", "EMA mean m1", "EMA second moment m2", "EMA std",
                            "steps seen"],
                           [[esc(k), _f(v["m1"], ".4f"), _f(v["m2"], ".4f"), _f(v["std"], ".4f"),
                             f"{v['steps']:,}"] for k, v in sorted(final.items())]))
    return _section("training", "Over training", body, intro)


def _length_ticks() -> list[tuple[int, str]]:
    return [(1, "1"), (7, "10"), (14, "100"), (20, "1k"), (27, "10k"), (34, "100k")]


def _panel_lengths(s: Mapping[str, Any]) -> str:
    token_col = s["lengths"]["token_column"]
    body = ["<div class='grid'>"]
    for label, t in s["tasks"].items():
        card = [f"<div class='card'><h3>{esc(label)}</h3><div class='meta'>characters: mean "
                f"{t['chars_mean']:,.0f}, max {t['chars_max']:,}</div>",
                histogram_svg(t["chars_histogram"], _length_ticks(),
                              label=f"completion characters of {label}", fill="#2a9d8f")]
        if t["tokens_histogram"] is not None:
            card += [f"<div class='meta'>tokens ({esc(str(token_col))}): "
                     f"mean {t['tokens_mean']:,.0f}</div>",
                     histogram_svg(t["tokens_histogram"], _length_ticks(),
                                   label=f"completion tokens of {label}", fill="#8d6cab")]
        body.append("".join(card) + "</div>")
    body.append("</div>")
    tokens = (f"tokens from the column <code>{esc(str(token_col))}</code>" if token_col
              else "no token-count column (completion_tokens, response_length, ...), so "
              "characters only")
    return _section("lengths", "Completion lengths", body,
                    "Histograms of completion length per task on a logarithmic axis (bins of half "
                    f"an octave); {tokens}.")


def _panel_benchmarks(s: Mapping[str, Any]) -> str:
    bench = s["benchmarks"]
    if not bench:
        return _section("benchmarks", "Grounding benchmarks",
                        ["<p>No grounding task in this dump.</p>"])
    from ._benchmarks import FAMILIES

    body = []
    for family, per_label in bench.items():
        cols = FAMILIES[family]
        body.append(f"<h3>{esc(family)}</h3>")
        body.append(_table(["task", "samples", *cols],
                           [[esc(label), f"{v['samples']:,}", *(_f(v.get(c)) for c in cols)]
                            for label, v in per_label.items()]))
        body.append(bars_svg([(label, [v.get(c, float("nan")) for c in cols])
                              for label, v in per_label.items()],
                             list(cols), label=f"{family} benchmark", lo=0.0, hi=1.0))
    return _section(
        "benchmarks", "Grounding benchmarks", body,
        "Computed with unireward.metrics over the scored rows (error rows excluded; an unusable "
        "answer counts as IoU 0). Temporal: R@m is the share of answers with tIoU &ge; m. "
        "Spatial: Acc@0.5. Spatio-temporal: vIoU of the answer's tube over the truth's annotated "
        "frames. Tracking: AO and SR@t over the per-frame IoUs of all sequences pooled (SR counts "
        "IoU &gt; t). Segmentation: gIoU and cIoU where rows carry mask pixel counts "
        "(mask_intersection, mask_union).")


def _example(kind: str, ex: Mapping[str, Any]) -> str:
    step = "" if ex.get("step") is None else f", step {ex['step']:g}"
    reason = f"; reason: {esc(ex['reason'])}" if ex.get("reason") else ""
    return (f"<div class='example'><div class='meta'><b>{esc(kind)}</b> "
            f"(row {ex['row']:,}{step}): reward {ex['reward']:.3f} = accuracy "
            f"{ex['accuracy']:.3f}, format {ex['format']:g}, structure {ex['structure']:.3f}; "
            f"status {esc(ex['status'])}{reason}</div>"
            "<div class='pair'><div><div class='meta'>ground truth</div>"
            f"<pre class='truth'>{esc(ex['truth'])}</pre></div>"
            "<div><div class='meta'>completion</div>"
            f"<pre class='bad'>{esc(ex['completion'])}</pre></div></div></div>")


def _panel_examples(s: Mapping[str, Any]) -> str:
    body = []
    for label, ex in s["examples"].items():
        body.append(f"<h3>{esc(label)}</h3>")
        shown = {ex["best"]["row"], ex["worst"]["row"]}
        body.append(_example("best (highest reward)", ex["best"]))
        if ex["worst"]["row"] != ex["best"]["row"]:
            body.append(_example("worst (lowest reward)", ex["worst"]))
        wrong = [e for e in ex["wrong_formatted"] if e["row"] not in shown][:WRONG_SHOWN]
        body += [_example("wrong but well formatted", e) for e in wrong]
        body += [_example("format failure", e) for e in ex["format_failures"]]
    return _section("examples", "Examples", body or ["<p>No scored rows.</p>"],
                    "Per task: the answer with the highest reward, the one with the lowest, the "
                    "first answers that pass the format but have accuracy below 0.5, and the first "
                    "format failures; each with its ground truth (completions cut at 2,000 "
                    "characters).")


def _panel_errors(s: Mapping[str, Any]) -> str:
    e, sk = s["errors"], s["skipped"]
    if not e["rows"] and not sk["rows"]:
        return _section("errors", "Errors", ["<p>No error rows.</p>"])
    body = []
    if e["rows"]:
        body.append(_table(["task", "error rows"],
                           [[esc(k), f"{v:,}"] for k, v in e["by_task"].items()]))
        body.append(_table(["reason (first 80 characters)", "rows"],
                           [[esc(k), f"{v:,}"] for k, v in e["by_reason"].items()]))
        for ex in e["examples"]:
            body.append("<div class='example'><div class='meta'>"
                        f"row {ex['row']:,}, task {esc(ex['task'])}: {esc(ex['reason'])}</div>"
                        "<div class='meta'>ground truth</div>"
                        f"<pre class='truth'>{esc(ex['truth'])}</pre>"
                        "<div class='meta'>completion / raw line</div>"
                        f"<pre class='bad'>{esc(ex['completion'])}</pre></div>")
    if sk["rows"]:
        body.append(f"<p>{_plural(sk['rows'], 'row')} without numeric rewards skipped; "
                    "first ones:</p>")
        body.append(_table(["row", "task", "values"],
                           [[f"{x['row']:,}", esc(x["task"]), esc(str(x["values"]))]
                            for x in sk["examples"]]))
    return _section("errors", "Errors", body,
                    f"{_plural(e['rows'], 'row')} with status <code>error</code> (unknown task, "
                    "unusable ground truth, missing field, unreadable line): counted here and left "
                    "out of every other panel.")


def _page(title: str, meta: str, panels: Sequence[str]) -> str:
    nav = "".join(f"<a href='#{pid}'>{name}</a>" for pid, name in _NAV
                  if any(f"id='{pid}'" in p for p in panels))
    return "\n".join([_HEAD.format(title=esc(title), css=_CSS), f"<h1>{esc(title)}</h1>",
                      f"<p class='meta'>{meta}</p><nav>{nav}</nav>", *panels, "</body></html>"])


_NAV = (("compare", "Compare"), ("summary", "Summary"), ("heterogeneity", "Heterogeneity"),
        ("training", "Over training"), ("lengths", "Lengths"), ("benchmarks", "Benchmarks"),
        ("examples", "Examples"), ("errors", "Errors"))


def _meta(s: Mapping[str, Any]) -> str:
    parts = [f"{_plural(s['rows_read'], 'row')} read: {s['scored_rows']:,} scored in "
             f"{_plural(len(s['tasks']), 'task')}", f"{_plural(s['error_rows'], 'error row')}"]
    if s["skipped_rows"]:
        parts.append(f"{_plural(s['skipped_rows'], 'row')} without numeric rewards skipped")
    return ", ".join(parts) + "."


def render_report(summary: Mapping[str, Any]) -> str:
    """The HTML page of one run's summary (see :meth:`ReportData.summary`)."""
    panels = [_panel_errors(summary)]
    if summary["scored_rows"]:
        panels = [_panel_summary(summary), _panel_heterogeneity(summary),
                  _panel_training(summary), _panel_lengths(summary), _panel_benchmarks(summary),
                  _panel_examples(summary), *panels]
    return _page(summary["title"], _meta(summary), panels)


# -- two runs side by side -------------------------------------------------------------------

def compare_numbers(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Per-task and per-benchmark values of two summaries and their differences (B - A)."""
    def task_values(s: Mapping[str, Any], label: str) -> dict[str, Any]:
        t = s["tasks"].get(label) if label != "all tasks" else s["all_tasks"]
        g = s["groups"]["tasks"].get(label) if label != "all tasks" else s["groups"]["all_tasks"]
        if t is None:
            return {}
        g = g or {}
        return {"rows": t["rows"], "reward": t["reward_mean"], "reward_std": t["reward_std"],
                "accuracy": t["accuracy_mean"], "format_failure_share": t["format_failure_share"],
                "zero_std_share": g.get("zero_std_share"),
                "mean_abs_advantage_ema_grpo": g.get("mean_abs_advantage_ema_grpo"),
                "chars_mean": t["chars_mean"]}

    labels = sorted(set(a["tasks"]) | set(b["tasks"])) + ["all tasks"]
    tasks = {label: _side_by_side(task_values(a, label), task_values(b, label))
             for label in labels}
    bench: dict[str, Any] = {}
    for family in list(dict.fromkeys([*a["benchmarks"], *b["benchmarks"]])):
        fa, fb = a["benchmarks"].get(family, {}), b["benchmarks"].get(family, {})
        for label in sorted(set(fa) | set(fb)):
            bench.setdefault(family, {})[label] = _side_by_side(fa.get(label, {}),
                                                                fb.get(label, {}))
    return {"tasks": tasks, "benchmarks": bench,
            "error_rows": {"a": a["error_rows"], "b": b["error_rows"]}}


def _side_by_side(va: Mapping[str, Any], vb: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """For each key of either run: its value in A, in B, and B - A (None unless both have it)."""
    return {k: {"a": va.get(k), "b": vb.get(k),
                "delta": None if va.get(k) is None or vb.get(k) is None else vb[k] - va[k]}
            for k in dict.fromkeys([*va, *vb])}


_COMPARE_COLS = (("rows", "rows", ".0f"), ("reward", "reward", ".3f"),
                 ("accuracy", "accuracy", ".3f"),
                 ("format_failure_share", "format failures", ".1%"),
                 ("zero_std_share", "zero-std groups", ".1%"),
                 ("mean_abs_advantage_ema_grpo", "mean |A| EMA-GRPO", ".3f"),
                 ("chars_mean", "mean characters", ".0f"))


def render_comparison(a: Mapping[str, Any], b: Mapping[str, Any], *,
                      names: tuple[str, str] = ("A", "B"),
                      title: str = "unireward comparison") -> str:
    """Two runs side by side: per task A, B and B - A, then each run's summary table."""
    cmp = compare_numbers(a, b)
    na, nb = (esc(n) for n in names)
    body = [*_compare_tasks(cmp["tasks"], names)]
    for family, per_label in cmp["benchmarks"].items():
        body += [f"<h3>{esc(family)}</h3>", _compare_benchmark(family, per_label, names)]
    meta = (f"{na}: {esc(', '.join(a['inputs']))} ({_meta(a)}) "
            f"{nb}: {esc(', '.join(b['inputs']))} ({_meta(b)}) Δ is B minus A.")
    panels = [_section("compare", "Compare", body,
                       "Per task, both runs and the difference (second minus first).")]
    for s, name in ((a, names[0]), (b, names[1])):
        if s["scored_rows"]:
            panels.append(_section(f"summary-{'ab'[s is b]}", f"Summary of {name}",
                                   [_summary_table(s)]))
    return _page(title, meta, panels)


def _compare_tasks(tasks: Mapping[str, Any], names: tuple[str, str]) -> list[str]:
    """The per-task table of two runs (A, B and the difference per column) and the chart of
    their mean rewards."""
    head = ["task"]
    for _, name, _ in _COMPARE_COLS:
        head += [f"{name} {names[0]}", f"{name} {names[1]}", "Δ"]
    rows, all_row = [], None
    for label, vals in tasks.items():
        cells = [esc(label) if label != "all tasks" else label]
        for key, _, fmt in _COMPARE_COLS:
            v = vals.get(key, {"a": None, "b": None})
            cells += [_f(v["a"], fmt), _f(v["b"], fmt), _delta(v["a"], v["b"], "+" + fmt)]
        if label == "all tasks":
            all_row = cells
        else:
            rows.append(cells)

    def reward(v: Mapping[str, Any], side: str) -> float:
        value = v.get("reward", {}).get(side)
        return float("nan") if value is None else value

    chart = bars_svg([(label, [reward(v, "a"), reward(v, "b")]) for label, v in tasks.items()],
                     list(names), label="mean reward per task, both runs", lo=0.0, hi=1.5)
    return ["<div class='wide'>", _table(head, rows, all_row),
            "</div><div class='meta'>mean reward per task</div>", chart]


def _compare_benchmark(family: str, per_label: Mapping[str, Any],
                       names: tuple[str, str]) -> str:
    """One benchmark family's table of two runs: per metric A, B and the difference."""
    from ._benchmarks import FAMILIES

    cols = FAMILIES[family]
    head = ["task"] + [h for c in cols for h in (f"{c} {names[0]}", f"{c} {names[1]}", "Δ")]
    rows = []
    for label, v in per_label.items():
        cells = [esc(label)]
        for col in cols:
            pair = v.get(col, {})
            cells += [_f(pair.get("a")), _f(pair.get("b")), _delta(pair.get("a"), pair.get("b"))]
        rows.append(cells)
    return _table(head, rows)

