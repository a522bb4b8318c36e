"""The HTML report: escaped, self-contained, and drawn by a real headless browser."""

from __future__ import annotations

import shutil
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ._helpers import EXAMPLE, cli, write_jsonl

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _png(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct scanlines of a PNG (decoded with zlib only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(chunk[:4], "big"), int.from_bytes(chunk[4:8], "big")
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = len(raw) // height
    # the filter byte starts each scanline; filtered bytes still differ between different lines
    return width, height, {raw[i * stride:(i + 1) * stride] for i in range(height)}


def _tags(page: str) -> list[tuple[str, list[str]]]:
    """Every start tag of the page with its attribute names (the stdlib HTML parser)."""
    found: list[tuple[str, list[str]]] = []

    class P(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, [a for a, _ in attrs]))

    P().feed(page)
    return found


def test_report_is_escaped_and_self_contained(tmp_path: Path) -> None:
    rows = [{"problem_type": f"open-ended{HOSTILE}", "completion": HOSTILE, "reward": 0.2, "accuracy": 0.1,
             "format": 0.0, "structure": 0.0, "status": "format_error", "reason": f"why {HOSTILE}"},
            {"problem_type": "numerical", "completion": "<answer>3</answer>", "reward": 1.5, "accuracy": 1.0,
             "format": 1.0, "structure": 0.5, "status": "ok", "reason": None},
            {"_raw": "{broken", "reward": 0.0, "accuracy": 0.0, "format": 0.0, "structure": 0.0,
             "status": "error", "reason": "invalid JSON"}]
    src = write_jsonl(tmp_path / "scored.jsonl", rows)
    out = tmp_path / "r.html"
    proc = cli("report", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    tags = _tags(page)
    names = {t for t, _ in tags}
    assert not names & {"script", "img", "link", "iframe", "object", "embed"}
    attrs = {a for _, attrs in tags for a in attrs}
    assert not {a for a in attrs if a.startswith("on") or a in ("src", "href")}
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # task name, example text, reason
    assert "(unreadable)" in page and "{broken" in page
    # the summary row of "numerical", by hand: 1 row, reward 1.500
    assert "<tr><td>numerical</td><td>1</td><td>1.500</td>" in page
    assert cli("report", str(EXAMPLE), "-o", str(tmp_path / "x.html")).returncode == 2  # not scored
    assert cli("report", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "x.html")).returncode == 2


def test_report_has_the_grounding_benchmarks(tmp_path: Path) -> None:
    """Score a dump with the CLI, report it, and read R@m / Acc@0.5 / mIoU off the page:
    they equal unireward.metrics on the IoUs recomputed from the answers and truths."""
    import json
    import random
    import re

    from unireward.geometry import box_iou, interval_iou
    from unireward.metrics import recall_at, referring_accuracy

    rng = random.Random(3)
    rows, t_ious, s_pred, s_true = [], [], [], []
    for _ in range(60):
        s = rng.uniform(0, 50)
        gt, ans = [s, s + rng.uniform(1, 20)], [s + rng.gauss(0, 4), s + rng.uniform(1, 20)]
        ans = sorted(ans)
        rows.append({"problem_type": "Temporal Grounding", "response": f"<think>t</think><answer>{json.dumps({'time': ans})}</answer>",
                     "solution": json.dumps({"time": gt})})
        t_ious.append(float(interval_iou([ans], [gt])[0]))
    for k in range(40):
        x, y = rng.uniform(0, 500), rng.uniform(0, 500)
        gt = [x, y, x + rng.uniform(20, 300), y + rng.uniform(20, 300)]
        ans = [v + rng.gauss(0, 25) for v in gt]
        text = json.dumps({"boxes": ans}) if k % 10 else "{'boxes': oops}"  # some unusable: IoU 0
        rows.append({"problem_type": "spatial grounding", "response": f"<think>t</think><answer>{text}</answer>",
                     "solution": json.dumps({"boxes": gt})})
        s_pred.append(ans if k % 10 else [0.0, 0.0, 0.0, 0.0])
        s_true.append(gt)
    src = write_jsonl(tmp_path / "dump.jsonl", rows)
    scored, page_path = tmp_path / "scored.jsonl", tmp_path / "r.html"
    assert cli("score", str(src), "-o", str(scored)).returncode == 0
    assert cli("report", str(scored), "-o", str(page_path)).returncode == 0
    page = page_path.read_text()
    assert "<h2>Grounding benchmarks</h2>" in page

    def cells(task: str) -> list[str]:
        m = re.search(rf"<tr><td>{task}</td><td>(\d+)</td>((?:<td>[^<]*</td>)+)</tr>", page.split("Grounding benchmarks")[1])
        assert m, task
        return [m.group(1), *re.findall(r"<td>([^<]*)</td>", m.group(2))]

    r = recall_at(t_ious)
    assert cells("Temporal Grounding") == ["60", f"{sum(t_ious) / 60:.3f}", f"{r['R@0.3']:.3f}", f"{r['R@0.5']:.3f}", f"{r['R@0.7']:.3f}"]
    s_ious = [float(v) for v in box_iou(s_pred, s_true)]
    acc = referring_accuracy(s_pred, s_true)
    got = cells("spatial grounding")
    assert got == ["40", f"{sum(s_ious) / 40:.3f}", "", f"{acc:.3f}", ""]


@pytest.mark.integration
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed")
    scored = tmp_path / "scored.jsonl"
    assert cli("score", str(EXAMPLE), "-o", str(scored), "--quiet").returncode == 0
    page = tmp_path / "report.html"
    assert cli("report", str(scored), "-o", str(page)).returncode == 0
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
                    "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,900",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    data = shot.read_bytes()
    width, height, lines = _png(data)
    assert (width, height) == (1200, 900)
    assert len(data) > 20_000  # a blank page compresses to a few KB
    assert len(lines) > 100  # a blank page has one distinct scanline; text, tables and charts many
