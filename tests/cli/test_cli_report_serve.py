"""The HTML report in a real headless browser, and the reward server over real HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import httpx
import pytest

from unireward.cli._serve import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rollouts.jsonl"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "unireward.cli", *args], capture_output=True, text=True, timeout=300)


def _png_rows(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and a sample of distinct scanlines of a PNG (no imaging library)."""
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
    return width, height, {raw[i * stride + 1:(i + 1) * stride] for i in range(0, height, 7)}


def test_report_html_is_escaped_and_complete(tmp_path: Path) -> None:
    src = tmp_path / "scored.jsonl"
    rows = [{"problem_type": "open-ended", "completion": "<script>alert(1)</script>", "reward": 0.2, "accuracy": 0.1,
             "format": 0.0, "structure": 0.0, "status": "format_error", "reason": "x"}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "r.html"
    assert cli("report", str(src), "-o", str(out)).returncode == 0
    page = out.read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert cli("report", str(EXAMPLE), "-o", str(out)).returncode == 2  # not scored


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
    width, height, lines = _png_rows(shot.read_bytes())
    assert (width, height) == (1200, 900)
    assert len(lines) > 20  # a blank page would have one distinct scanline


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv, thread = serve_in_thread(max_body=100_000)
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_server_protocols_and_errors(server: str) -> None:
    with httpx.Client(base_url=server, trust_env=False) as c:
        assert c.get("/health").json()["status"] == "ok"
        r = c.post("/get_reward", json={
            "query": ["Q1 <think>t</think><answer>C</answer>", "Q2 <think>t</think><answer>3</answer>"],
            "prompts": ["Q1 ", "Q2 "],
            "labels": [json.dumps({"task": "multiple choice", "ground_truth": "C"}),
                       {"task": "numerical", "ground_truth": "4"}],
        })
        assert r.status_code == 200
        body = r.json()
        assert body["rewards"] == [1.5, 0.6] and body["scores"] == body["rewards"]
        assert body["extra_logs"]["accuracy"] == [1.0, 0.0]
        s = c.post("/score", json={"records": [{"completion": "<think>t</think><answer>B</answer>",
                                                "ground_truth": "B", "task": "multiple choice"}, {"bad": 1}]})
        assert [x["status"] for x in s.json()["results"]] == ["ok", "error"]
        assert c.post("/get_reward", content=b"{nope").status_code == 400
        assert c.post("/get_reward", json={"query": ["a"], "labels": ["x"]}).status_code == 400  # no task
        assert "error" in c.post("/score", json={"records": 3}).json()
        assert c.post("/score", content=b"x" * 200_000).status_code == 413
        assert c.get("/nope").status_code == 404


@pytest.mark.integration
def test_server_load_from_another_process(server: str) -> None:
    code = f"""
import httpx, json, time
from concurrent.futures import ThreadPoolExecutor
recs = [{{"completion": "<think>t</think><answer>{{\\"boxes\\": [1, 2, 30, 40]}}</answer>",
          "ground_truth": {{"boxes": [1, 2, 30, 42]}}, "task": "spatial grounding"}}] * 16
def one(_):
    with httpx.Client(trust_env=False, timeout=30) as c:
        r = c.post("{server}/score", json={{"records": recs}})
        return r.status_code == 200 and len(r.json()["results"]) == 16
t = time.perf_counter()
with ThreadPoolExecutor(8) as ex:
    ok = list(ex.map(one, range(200)))
print(json.dumps({{"errors": ok.count(False), "seconds": time.perf_counter() - t}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0
