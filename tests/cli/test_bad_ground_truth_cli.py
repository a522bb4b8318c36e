"""The command line with bad ground truths: scored and counted by `score`, listed by `validate`."""

from __future__ import annotations

import json
from pathlib import Path

from ._helpers import cli, read_jsonl, write_jsonl

GOOD = {
    "completion": "<think>t</think><answer>B</answer>",
    "solution": "B",
    "problem_type": "multiple choice",
}
BAD = {
    "completion": "<think>t</think><answer>229</answer>",
    "solution": "229 meters",
    "problem_type": "regression",
}


def test_score_scores_and_counts_bad_truths(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [GOOD, BAD, GOOD, BAD, BAD])
    out = tmp_path / "out.jsonl"
    proc = cli("score", str(src), "-o", str(out), "--workers", "1")
    assert proc.returncode == 0, proc.stderr  # scored rows: not errors
    rows = read_jsonl(out)
    assert [r["status"] for r in rows] == [
        "ok",
        "ground_truth_error",
        "ok",
        "ground_truth_error",
        "ground_truth_error",
    ]
    assert [round(r["reward"], 12) for r in rows] == [1.5, 0.6, 1.5, 0.6, 0.6]
    assert "'229 meters' is not a finite number" in rows[1]["reason"]
    table = proc.stdout.splitlines()
    assert "bad gt" in table[0]
    regression = next(line for line in table if line.startswith("regression"))
    assert regression.split()[1] == "3" and regression.split()[-1] == "3"  # rows ... bad gt
    chosen = next(line for line in table if line.startswith("multiple choice"))
    assert chosen.split()[-1] == "0"
    # the HTML report counts them apart, in its error section, out of the task statistics
    page_path, numbers = tmp_path / "report.html", tmp_path / "report.json"
    assert (
        cli("report", str(out), "-o", str(page_path), "--summary-json", str(numbers)).returncode
        == 0
    )
    summary = json.loads(numbers.read_text(encoding="utf-8"))
    assert summary["errors"]["rows"] == 3 and summary["errors"]["by_task"] == {"regression": 3}
    assert "regression" not in summary["tasks"]
    page = page_path.read_text(encoding="utf-8")
    assert "229 meters" in page.split("id='errors'")[1]


def test_validate_lists_every_bad_truth(tmp_path: Path) -> None:
    rows = [GOOD] + [{**BAD, "solution": f"{i} meters"} for i in range(30)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    proc = cli("validate", str(src))
    assert proc.returncode == 1 and "31 rows, 30 invalid" in proc.stdout
    listed = [line for line in proc.stderr.splitlines() if "GroundTruthError" in line]
    assert len(listed) == 30
    assert [line.split(":")[0] for line in listed] == [f"line {i}" for i in range(2, 32)]
    assert "'29 meters'" in listed[-1]
    capped = cli("validate", str(src), "--max-errors", "5")
    assert sum("GroundTruthError" in line for line in capped.stderr.splitlines()) == 5
    assert "... and 25 more" in capped.stderr
