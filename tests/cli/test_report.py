"""``unireward report`` through the command line: escaped, self-contained pages whose numbers
are checked against independent computations, comparisons, the JSON summary, and the DOM
as a real headless browser builds it."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from ._helpers import EXAMPLE, cli, write_jsonl

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned2'\">"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHART_PANELS = ("summary", "heterogeneity", "training", "lengths", "benchmarks")


class Dom(HTMLParser):
    """Elements of a page with the id of their enclosing panel and their text."""

    VOID = {
        "meta",
        "br",
        "img",
        "input",
        "link",
        "hr",
        "col",
        "area",
        "base",
        "wbr",
        "source",
        "embed",
    }

    def __init__(self, page: str) -> None:
        super().__init__()
        self.elements: list[dict[str, Any]] = []
        self.stack: list[dict[str, Any]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        panel = next(
            (e["attrs"].get("id") for e in reversed(self.stack) if e["tag"] == "section"), None
        )
        table = next((id(e) for e in reversed(self.stack) if e["tag"] == "table"), None)
        el = {
            "tag": tag,
            "attrs": a,
            "panel": a.get("id") if tag == "section" else panel,
            "text": [],
            "table": table,
        }
        self.elements.append(el)
        if tag not in self.VOID:
            self.stack.append(el)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        for e in self.stack:
            e["text"].append(data)

    def find(self, tag: str, panel: str | None = None) -> list[dict[str, Any]]:
        return [
            e for e in self.elements if e["tag"] == tag and (panel is None or e["panel"] == panel)
        ]

    def text(self, e: dict[str, Any]) -> str:
        return "".join(e["text"])

    def table_rows(self, panel: str, index: int = 0) -> list[list[str]]:
        """The cells' text of the index-th table of a panel."""
        table = id(self.find("table", panel)[index])
        rows: list[list[str]] = []
        for e in self.elements:
            if e["table"] != table:
                continue
            if e["tag"] == "tr":
                rows.append([])
            elif e["tag"] in ("td", "th") and rows:
                rows[-1].append(self.text(e))
        return rows


def _scored_dump(tmp_path: Path, rows: list[dict[str, Any]], name: str = "scored.jsonl") -> Path:
    src = write_jsonl(tmp_path / f"raw-{name}", rows)
    out = tmp_path / name
    proc = cli("score", str(src), "-o", str(out), "--quiet")
    assert proc.returncode in (0, 1), proc.stderr  # 1: some rows are errors, on purpose
    return out


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    proc = cli("report", *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_report_is_escaped_and_self_contained(tmp_path: Path) -> None:
    rows = [{"problem_type": f"open-ended{HOSTILE}", "completion": HOSTILE, "reward": 0.2,
             "accuracy": 0.1, "format": 0.0, "structure": 0.0, "status": "format_error",
             "reason": f"why {HOSTILE}", "solution": f"truth {HOSTILE}"},
            {"problem_type": "numerical", "completion": "<answer>3</answer>", "reward": 1.5,
             "accuracy": 1.0, "format": 1.0, "structure": 0.5, "status": "ok", "reason": None},
            {"_raw": "{broken", "reward": 0.0, "accuracy": 0.0, "format": 0.0, "structure": 0.0,
             "status": "error", "reason": "invalid JSON"}]
    src = write_jsonl(tmp_path / "scored.jsonl", rows)
    out = tmp_path / "r.html"
    _report(str(src), "-o", str(out))
    page = out.read_text()
    dom = Dom(page)
    names = {e["tag"] for e in dom.elements}
    assert not names & {"script", "img", "link", "iframe", "object", "embed", "form"}
    attrs = {a for e in dom.elements for a in e["attrs"]}
    assert not {a for a in attrs if a.startswith("on") or a in ("src", "action")}
    assert all(e["attrs"]["href"].startswith("#") for e in dom.find("a"))
    assert "default-src 'none'" in page
    # task name, completion, reason and truth, each escaped
    assert page.count("&lt;script&gt;document.title=") >= 4
    # the broken line is an error row: in Errors, not in the tables
    assert [r[0] for r in dom.table_rows("summary")[1:]] == ["numerical", f"open-ended{HOSTILE}",
                                                              "all tasks"]
    assert "{broken" in "".join(dom.text(e) for e in dom.find("pre", "errors"))
    assert "3 rows read: 2 scored in 2 tasks, 1 error row." in page
    page_out = str(tmp_path / "x.html")
    assert cli("report", str(EXAMPLE), "-o", page_out).returncode == 2  # not scored
    assert cli("report", str(tmp_path / "missing.jsonl"), "-o", page_out).returncode == 2
    assert cli("report", str(src), str(src), str(src), "-o", page_out).returncode == 2
    assert cli("report", str(src)).returncode == 2  # nothing to write


def test_one_row_and_histogram_labels(tmp_path: Path) -> None:
    """"1 row" (not "1 rows"), and the tallest-bar label sits above every bar."""
    src = write_jsonl(
        tmp_path / "one.jsonl",
        [
            {
                "task": "ocr",
                "completion": "x",
                "reward": 1.5,
                "accuracy": 1.0,
                "format": 1.0,
                "structure": 0.5,
                "status": "ok",
            }
        ],
    )
    out = tmp_path / "r.html"
    _report(str(src), "-o", str(out))
    page = out.read_text()
    assert "1 row read: 1 scored in 1 task, 0 error rows." in page and "1 rows" not in page
    assert "(1 row, bins of 0.1)" in page
    svg = re.search(r"<svg[^>]*aria-label=\"rewards of ocr\".*?</svg>", page, re.S)
    assert svg is not None
    label = re.search(r'<text x="[\d.]+" y="([\d.]+)"[^>]*>tallest bar: 1</text>', svg.group(0))
    assert label is not None
    tops = [float(y) for y in re.findall(r'<rect x="[\d.]+" y="([\d.]+)"', svg.group(0))]
    assert (
        min(tops) > float(label.group(1)) + 2
    )  # the label's baseline is above the tallest bar's top


def _grounding_rows(rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of the four grounding families with known answers, and the answers/truths."""
    rows: list[dict[str, Any]] = []
    want: dict[str, Any] = {"t_ious": [], "s_ious": [], "vious": [], "trk_pred": [],
                            "trk_true": []}
    _temporal_and_spatial_rows(rng, rows, want)
    _video_rows(rng, rows, want)
    # error rows: a bad ground truth and an unknown task; they must not enter any benchmark
    rows.append({"problem_type": "temporal grounding", "solution": "{\"time\": \"soon\"}",
                 "response": "<think>t</think><answer>{\"time\": [1, 2]}</answer>"})
    rows.append({"problem_type": "juggling", "solution": "3",
                 "response": "<think>t</think><answer>3</answer>"})
    return rows, want


def _random_box(rng: random.Random) -> list[float]:
    x, y = rng.uniform(0, 500), rng.uniform(0, 500)
    return [x, y, x + rng.uniform(20, 300), y + rng.uniform(20, 300)]


def _temporal_and_spatial_rows(rng: random.Random, rows: list[dict[str, Any]],
                               want: dict[str, Any]) -> None:
    from unireward.geometry import box_iou, interval_iou

    for k in range(60):
        s = rng.uniform(0, 50)
        gt = [s, s + rng.uniform(1, 20)]
        ans = sorted([s + rng.gauss(0, 4), s + rng.uniform(1, 20)])
        rows.append({"problem_type": "Temporal Grounding", "problem_id": f"t{k // 4}",
                     "solution": json.dumps({"time": gt}),
                     "response": f"<think>t</think><answer>{json.dumps({'time': ans})}</answer>"})
        want["t_ious"].append(float(interval_iou([ans], [gt])[0]))
    for k in range(40):
        gt = _random_box(rng)
        ans = [v + rng.gauss(0, 25) for v in gt]
        text = json.dumps({"boxes": ans}) if k % 10 else "{'boxes': oops}"  # some unusable: IoU 0
        rows.append({"problem_type": "spatial grounding", "problem_id": f"s{k // 4}",
                     "solution": json.dumps({"boxes": gt}),
                     "response": f"<think>t</think><answer>{text}</answer>"})
        want["s_ious"].append(float(box_iou([ans], [gt])[0]) if k % 10 else 0.0)


def _video_rows(rng: random.Random, rows: list[dict[str, Any]], want: dict[str, Any]) -> None:
    from unireward.metrics import video_iou

    nan4 = [float("nan")] * 4
    for k in range(24):
        t0 = rng.randint(0, 4)
        span = [t0, t0 + rng.randint(3, 8)]
        frames = list(range(span[0], span[1] + 1))
        gt_boxes = {str(f): _random_box(rng) for f in frames}
        p0 = t0 + rng.choice([-1, 0, 1])
        pspan = [p0, p0 + rng.randint(2, 9)]
        pboxes = {f: [v + rng.gauss(0, 20) for v in b] for f, b in gt_boxes.items()
                  if rng.random() < 0.8}
        usable = k % 6 != 0
        ans = json.dumps({"time": pspan, "boxes": pboxes}) if usable else "not json"
        rows.append({"problem_type": "spatio-temporal grounding", "problem_id": f"v{k // 4}",
                     "solution": json.dumps({"time": span, "boxes": gt_boxes}),
                     "response": f"<think>t</think><answer>{ans}</answer>"})
        want["vious"].append(video_iou(frames, pspan, span,
                                       [pboxes.get(str(f), nan4) for f in frames],
                                       [gt_boxes[str(f)] for f in frames]) if usable else 0.0)
    for k in range(20):
        gt_boxes = {str(f): _random_box(rng) for f in range(1, rng.randint(3, 9))}
        pboxes = {f: [v + rng.gauss(0, 30) for v in b] for f, b in gt_boxes.items()
                  if rng.random() < 0.85}
        usable = k % 5 != 0
        ans = json.dumps({"boxes": pboxes}) if usable else "{}"
        rows.append({"problem_type": "tracking", "problem_id": f"k{k // 4}",
                     "solution": json.dumps({"boxes": gt_boxes}),
                     "response": f"<think>t</think><answer>{ans}</answer>"})
        keys = list(gt_boxes)
        want["trk_pred"].append([pboxes.get(f, nan4) if usable else nan4 for f in keys])
        want["trk_true"].append([gt_boxes[f] for f in keys])


def test_report_has_every_grounding_benchmark(tmp_path: Path) -> None:
    """Score a dump with the CLI, report it, and read each family's numbers off the page and
    the JSON: they equal unireward.metrics over the whole set, computed from the known
    answers; the two error rows are counted apart and enter no benchmark."""
    from unireward.metrics import recall_at, spatio_temporal_metrics, tracking_metrics

    rows, want = _grounding_rows(random.Random(3))
    scored = _scored_dump(tmp_path, rows)
    page_path, json_path = tmp_path / "r.html", tmp_path / "r.json"
    _report(str(scored), "-o", str(page_path), "--summary-json", str(json_path))
    dom = Dom(page_path.read_text())
    summary = json.loads(json_path.read_text())
    assert summary["error_rows"] == 2
    assert set(summary["errors"]["by_task"]) == {"temporal grounding", "juggling"}
    t = want["t_ious"]
    r = recall_at(t)
    st = spatio_temporal_metrics(want["vious"])
    trk = tracking_metrics(want["trk_pred"], want["trk_true"])
    s = want["s_ious"]
    expected = {
        ("Temporal Grounding", "temporal grounding"): [
            "60", f"{r['R@0.3']:.3f}", f"{r['R@0.5']:.3f}", f"{r['R@0.7']:.3f}",
            f"{sum(t) / 60:.3f}"],
        ("spatial grounding", "spatial grounding"): [
            "40", f"{sum(v >= 0.5 for v in s) / 40:.3f}", f"{sum(s) / 40:.3f}"],
        ("spatio-temporal grounding", "spatio-temporal grounding"): [
            "24", f"{st['m_vIoU']:.3f}", f"{st['vIoU@0.3']:.3f}", f"{st['vIoU@0.5']:.3f}"],
        ("tracking", "tracking"): [
            "20", f"{trk['AO']:.3f}", f"{trk['SR@0.5']:.3f}", f"{trk['SR@0.75']:.3f}"],
    }
    tables = dom.find("table", "benchmarks")
    # one table and one chart per family
    assert len(tables) == 4 and len(dom.find("svg", "benchmarks")) == 4
    found = {}
    for i in range(len(tables)):
        head, *body = dom.table_rows("benchmarks", i)
        assert "" not in [c for row in body for c in row]  # no blank cells
        for row in body:
            found[row[0]] = row[1:]
    for (label, family), cells in expected.items():
        assert found[label] == cells, label
        numbers = summary["benchmarks"][family][label]
        assert f"{numbers['samples']}" == cells[0]
    stg = summary["benchmarks"]["spatio-temporal grounding"]["spatio-temporal grounding"]
    assert stg["m_vIoU"] == pytest.approx(st["m_vIoU"])
    assert summary["benchmarks"]["tracking"]["tracking"]["AO"] == pytest.approx(trk["AO"])


def test_summary_table_is_the_json(tmp_path: Path) -> None:
    """Every cell of the summary table is the JSON number, formatted; the all-tasks row is
    the mean over all scored rows (recomputed here from the scored file)."""
    scored = tmp_path / "scored.jsonl"
    assert cli("score", str(EXAMPLE), "-o", str(scored), "--quiet").returncode == 0
    page_path, json_path = tmp_path / "r.html", tmp_path / "r.json"
    _report(str(scored), "-o", str(page_path), "--summary-json", str(json_path))
    s = json.loads(json_path.read_text())
    rows = Dom(page_path.read_text()).table_rows("summary")
    assert rows[0][:4] == ["task", "rows", "reward", "reward std"]
    for cells in rows[1:]:
        t = s["all_tasks"] if cells[0] == "all tasks" else s["tasks"][cells[0]]
        assert cells[1:5] == [f"{t['rows']:,}", f"{t['reward_mean']:.3f}", f"{t['reward_std']:.3f}",
                              f"{t['accuracy_mean']:.3f}"]
    data = [json.loads(line) for line in scored.read_text().splitlines()]
    assert s["all_tasks"]["reward_mean"] == pytest.approx(
        sum(d["reward"] for d in data) / len(data)
    )
    assert len(rows) == 1 + len({d["problem_type"] for d in data}) + 1


def test_compare_two_dumps(tmp_path: Path) -> None:
    def dump(name: str, rewards: dict[str, list[float]]) -> Path:
        rows = [
            {
                "task": task,
                "problem_id": f"{task}{i // 2}",
                "completion": "<think>t</think><answer>a</answer>",
                "reward": r,
                "accuracy": min(r, 1.0),
                "format": 1.0,
                "structure": 0.5,
                "status": "ok",
            }
            for task, rs in rewards.items()
            for i, r in enumerate(rs)
        ]
        return write_jsonl(tmp_path / name, rows)

    a = dump("a.jsonl", {"ocr": [1.0, 0.5, 0.5, 0.5], "numerical": [1.5, 0.6]})
    b = dump("b.jsonl", {"ocr": [1.0, 1.0, 1.0, 0.4], "math": [0.6, 0.6]})
    page_path, json_path = tmp_path / "c.html", tmp_path / "c.json"
    _report(str(a), str(b), "-o", str(page_path), "--summary-json", str(json_path))
    dom = Dom(page_path.read_text())
    head, *body = dom.table_rows("compare")
    assert head[:7] == [
        "task",
        "rows a.jsonl",
        "rows b.jsonl",
        "Δ",
        "reward a.jsonl",
        "reward b.jsonl",
        "Δ",
    ]
    by_task = {r[0]: r for r in body}
    assert list(by_task) == ["math", "numerical", "ocr", "all tasks"]
    assert by_task["ocr"][4:7] == ["0.625", "0.850", "+0.225"]
    assert by_task["numerical"][4:7] == ["1.050", "n/a", "n/a"]
    assert by_task["all tasks"][4:7] == [f"{4.6 / 6:.3f}", f"{4.6 / 6:.3f}", "0.000"]
    # zero-std groups: A's ocr has (1.0, 0.5) and (0.5, 0.5): 50%;
    # B's (1.0, 1.0) and (1.0, 0.4): 50%
    j = json.loads(json_path.read_text())
    assert j["compare"]["tasks"]["ocr"]["reward"] == {
        "a": 0.625,
        "b": 0.85,
        "delta": pytest.approx(0.225),
    }
    assert j["compare"]["tasks"]["ocr"]["zero_std_share"]["delta"] == 0.0
    assert j["a"]["inputs"] == [str(a)] and j["b"]["tasks"]["math"]["rows"] == 2
    assert len(dom.find("svg", "compare")) == 1


def _browser() -> str:
    found = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if found is None:
        if IN_CI:
            pytest.fail(
                "no chromium on PATH: CI must install it (scripts/test.sh does, with apt-get)"
            )
        pytest.skip("chromium is not installed")
    return found


def _dump_dom(browser: str, page: Path, profile: Path) -> str:
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-quic",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=3000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.integration
def test_report_dom_in_headless_chromium(tmp_path: Path) -> None:
    """The DOM Chromium builds from the page: each task's row in the summary table, the
    charts of each panel, hostile model text as text (no element made of it, no script
    run: the title stays), no script element at all, nothing fetched from a network."""
    browser = _browser()
    # positive control: the same harness sees a script run when a page has one
    control = tmp_path / "control.html"
    control.write_text("<!doctype html><html><head><title>before</title></head><body>"
                       "<script>document.title='ran'</script></body></html>")
    assert "<title>ran</title>" in _dump_dom(browser, control, tmp_path / "p0")

    rows, _ = _grounding_rows(random.Random(9))
    rows += [json.loads(line) for line in EXAMPLE.read_text().splitlines()]
    for i, r in enumerate(rows):
        r["step"] = i % 3
    rows[0]["response"] = HOSTILE
    rows[1]["problem_type"] = "Temporal Grounding"
    rows[1]["response"] = f"<think>{HOSTILE}</think><answer>{{\"time\": [1, 2]}}</answer>"
    scored = _scored_dump(tmp_path, rows)
    page = tmp_path / "report.html"
    _report(str(scored), "-o", str(page), "--summary-json", str(tmp_path / "s.json"))
    summary = json.loads((tmp_path / "s.json").read_text())
    dom = Dom(_dump_dom(browser, page, tmp_path / "p1"))

    assert dom.text(dom.find("title")[0]) == "unireward report"  # no hostile script ran
    assert not dom.find("script") and not dom.find("img") and not dom.find("iframe")
    assert not [e for e in dom.elements if any(k.startswith("on") for k in e["attrs"])]
    assert not [
        e
        for e in dom.elements
        if any(
            str(v).startswith(("http:", "https:", "//"))
            for k, v in e["attrs"].items()
            if k in ("src", "href", "xlink:href")
        )
    ]
    pres = [dom.text(e) for e in dom.find("pre")]
    assert any(HOSTILE in t for t in pres)  # shown as text, verbatim
    # the summary table: one row per task, in order, then all tasks
    rows_text = dom.table_rows("summary")
    assert [r[0] for r in rows_text[1:]] == [*summary["tasks"], "all tasks"]
    assert (
        len(summary["tasks"]) == 15
    )  # the example's 13, and two spelt differently by the grounding rows
    # charts: every panel that draws has its charts; the counts follow the data
    charts = {
        p: len([e for e in dom.find("svg", p) if e["attrs"].get("class") == "chart"])
        for p in CHART_PANELS
    }
    n_tasks = len(summary["tasks"])
    assert charts["summary"] == 3 * n_tasks  # reward histogram, component bars, status bar
    assert charts["heterogeneity"] == 2 and charts["training"] == 3
    assert charts["lengths"] == n_tasks and charts["benchmarks"] == len(summary["benchmarks"]) == 4
    # the trend is by step: three steps on the x axis of the reward chart
    assert summary["trend"]["by"] == "step" and summary["trend"]["tasks"]["OCR"]["x"] == [0, 1, 2]
    # heterogeneity rows per task, examples per task, the error rows apart
    assert [r[0] for r in dom.table_rows("heterogeneity")[1:]] == [*summary["tasks"], "all tasks"]
    assert {dom.text(h) for h in dom.find("h3", "examples")} == set(summary["tasks"])
    assert summary["error_rows"] == 2 and len([e for e in dom.find("pre", "errors")]) == 4


@pytest.mark.integration
def test_comparison_dom_in_headless_chromium(tmp_path: Path) -> None:
    browser = _browser()
    scored = tmp_path / "scored.jsonl"
    assert cli("score", str(EXAMPLE), "-o", str(scored), "--quiet").returncode == 0
    half = tmp_path / "half.jsonl"
    half.write_text("".join(scored.read_text().splitlines(keepends=True)[:120]))
    page = tmp_path / "compare.html"
    _report(str(scored), str(half), "-o", str(page))
    dom = Dom(_dump_dom(browser, page, tmp_path / "p"))
    assert not dom.find("script")
    body = dom.table_rows("compare")[1:]
    tasks_a = {json.loads(line)["problem_type"] for line in scored.read_text().splitlines()}
    assert [r[0] for r in body] == [*sorted(tasks_a), "all tasks"]
    assert len(dom.find("svg", "compare")) == 1
    assert {e["attrs"]["id"] for e in dom.find("section")} == {"compare", "summary-a", "summary-b"}


def test_folder_of_step_shards_is_read_in_step_order(tmp_path: Path) -> None:
    """verl writes one file per step (1.jsonl, 2.jsonl, 10.jsonl): the replay goes 1, 2, 10."""
    folder = tmp_path / "rollouts"
    folder.mkdir()
    for step in (1, 2, 10):
        write_jsonl(
            folder / f"{step}.jsonl",
            [
                {
                    "task": "ocr",
                    "problem_id": f"p{i // 2}",
                    "step": step,
                    "completion": "<answer>a</answer>",
                    "reward": 0.5 * (i % 2) + step / 10,
                    "accuracy": i % 2,
                    "format": 1.0,
                    "structure": 0.5,
                    "status": "ok",
                }
                for i in range(4)
            ],
        )
    _report(str(folder), "--summary-json", str(tmp_path / "s.json"))
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["trend"]["ema_std"]["x"] == [1, 2, 10] and s["groups"]["steps_out_of_order"] == 0
    assert s["trend"]["tasks"]["ocr"]["reward"] == pytest.approx([0.35, 0.45, 1.25])
