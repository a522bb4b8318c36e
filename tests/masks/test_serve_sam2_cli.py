"""``unireward serve --sam2``: the SAM2 scoring service behind the reward server's command."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from ._sam2_helpers import free_port, require


def _serve(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "unireward.cli", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_serve_sam2_starts_the_sam2_service_and_scores() -> None:
    require("sam2")
    require("uvicorn")
    port = free_port()
    proc = _serve(
        "--port",
        str(port),
        "--sam2",
        "configs/sam2.1/sam2.1_hiera_t.yaml",
        "--allow-random-init",
        "--api-key",
        "sesame",
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the SAM2 service did not start"
                time.sleep(0.5)
        assert r.status_code == 200
        # the SAM2 service's own request checking answers, not the rule-based reward server's
        url = f"http://127.0.0.1:{port}/segmentation"
        assert (
            httpx.post(url, json={"items": []}, timeout=30).status_code == 401
        )  # the key is required
        bad = httpx.post(url, json={"items": [{"answer": 1}]}, timeout=30,
                         headers={"Authorization": "Bearer sesame"})
        assert bad.status_code == 400 and "items[0]" in bad.json()["error"]
    finally:
        proc.terminate()
        proc.wait(60)
    assert proc.returncode == 0


def test_serve_sam2_without_a_checkpoint_is_a_one_line_start_up_error() -> None:
    require("sam2")
    require("uvicorn")
    proc = _serve("--port", str(free_port()), "--sam2", "configs/sam2.1/sam2.1_hiera_t.yaml")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("unireward")
