"""``unireward score`` driven as a subprocess: every row kept, in order, with its reward."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import unireward

from ._helpers import EXAMPLE, ROOT, cli, read_jsonl, write_jsonl

MC_OK = "<think>t</think><answer>B</answer>"


def test_example_dump_scores_every_row_in_order(tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    proc = cli("score", str(EXAMPLE), "-o", str(out), "--workers", "2", "--chunk-size", "37")
    assert proc.returncode == 0, proc.stderr
    rows_in = read_jsonl(EXAMPLE)
    rows_out = read_jsonl(out)
    assert len(rows_out) == len(rows_in) >= 200
    tasks = {r["problem_type"] for r in rows_in}
    assert {"multiple choice", "numerical", "regression", "math", "OCR", "open-ended", "captioning",
            "temporal grounding", "spatial grounding", "spatial-temporal grounding", "tracking",
            "segmentation", "polygon grounding"} <= tasks
    assert {r["data_type"] for r in rows_in if r["problem_type"] == "segmentation"} == {
        "image",
        "video",
    }
    for a, b in zip(rows_in, rows_out, strict=True):
        assert {k: b[k] for k in a} == a  # input fields kept, in input order
        assert set(b) - set(a) == {"reward", "accuracy", "format", "structure", "status", "reason"}
        expected = unireward.score(
            a["completion"], a["solution"], a["problem_type"], data_type=a["data_type"]
        )
        assert b["reward"] == pytest.approx(expected.total) and b["status"] == expected.status.value
    # the summary table names every task; a row of it checked by hand from the rows
    assert "polygon grounding" in proc.stdout and "rows/s" in proc.stdout
    mc = [r for r in rows_out if r["problem_type"] == "multiple choice"]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("multiple choice"))
    assert line.split()[2] == str(len(mc)) and float(line.split()[3]) == pytest.approx(
        sum(r["reward"] for r in mc) / len(mc), abs=5e-4)


def test_malformed_lines_are_kept_reported_and_strict_is_fatal(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"completion": "<think>t</think><answer>4</answer>", "solution": "4", '
        '"problem_type": "numerical"}\n'
        "{not json\n"
        "\n"
        '{"completion": "x", "solution": "4", "problem_type": "no such task"}\n'
        "[1, 2]\n"
        '{"completion": "x", "problem_type": "numerical"}\n'
    )
    out = tmp_path / "out.jsonl"
    proc = cli("score", str(src), "-o", str(out), "--workers", "1")
    assert proc.returncode == 1
    assert "line 2: invalid JSON" in proc.stderr and "line 5:" in proc.stderr  # real line numbers
    rows = read_jsonl(out)
    assert [r["status"] for r in rows] == [
        "ok",
        "error",
        "error",
        "error",
        "error",
    ]  # blank line: no row
    assert rows[1]["_raw"] == "{not json" and rows[1]["reward"] == 0.0
    assert rows[3]["_raw"] == "[1, 2]"
    assert "no such task" in rows[2]["reason"]
    assert "no ground_truth" in rows[4]["reason"]
    strict = cli("score", str(src), "-o", str(tmp_path / "strict.jsonl"), "--strict")
    assert strict.returncode == 2 and "line 2" in strict.stderr
    assert list(tmp_path.glob("strict*")) == []


def test_gzip_in_and_out_with_field_mapping(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl.gz"
    rows = [
        {"resp": MC_OK, "meta": {"gt": "B", "kind": "multiple choice"}},
        {
            "resp": "<think>t</think><answer>C</answer>",
            "meta": {"gt": "B", "kind": "multiple choice"},
        },
    ] * 3
    with gzip.open(src, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    out = tmp_path / "out.jsonl.gz"
    proc = cli("score", str(src), "-o", str(out), "--field", "completion=resp", "--chunk-size", "2",
               "--field", "ground_truth=meta.gt", "--field", "task=meta.kind", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # --quiet
    with gzip.open(out, "rt") as fh:  # one gzip member per chunk reads as one stream
        scored = [json.loads(line) for line in fh]
    # by hand: 0.9 * accuracy + 0.1 * format + structure (0.5 for a well-formed choice)
    assert [r["reward"] for r in scored] == pytest.approx([1.5, 0.6] * 3)
    assert [r["meta"] for r in scored] == [r["meta"] for r in rows]


def test_verl_rollout_dump_preset(tmp_path: Path) -> None:
    # the trainer's rollout_data_dir dump: input, output, gts, score, step (+ reward extra infos)
    rows = [
        {
            "input": "user: how many?",
            "output": "<think>t</think><answer>7</answer>",
            "gts": "7",
            "score": 0.0,
            "step": 3,
        },
        {
            "input": "q",
            "output": "<think>t</think><answer>8</answer>",
            "gts": "7",
            "score": 0.0,
            "step": 3,
        },
    ]
    src = write_jsonl(tmp_path / "3.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert (
        cli("score", str(src), "-o", str(out), "--preset", "verl").returncode == 1
    )  # no task in the dump
    assert "no task" in read_jsonl(out)[0]["reason"]
    assert (
        cli("score", str(src), "-o", str(out), "--preset", "verl", "--task", "numerical").returncode
        == 0
    )
    assert [r["accuracy"] for r in read_jsonl(out)] == [1.0, 0.0]
    # dataset-style rows: nested reward_model.ground_truth and extra_info.problem_type
    nested = [
        {
            "data_source": "x",
            "response": MC_OK,
            "reward_model": {"ground_truth": "B", "style": "rule"},
            "extra_info": {"problem_type": "multiple choice", "data_type": "image"},
        }
    ]
    src2 = write_jsonl(tmp_path / "nested.jsonl", nested)
    assert cli("score", str(src2), "-o", str(out), "--preset", "verl").returncode == 0
    assert read_jsonl(out)[0]["reward"] == pytest.approx(1.5)


def test_trl_preset_takes_the_assistant_message(tmp_path: Path) -> None:
    rows = [
        {
            "prompt": [{"role": "user", "content": "Which?"}],
            "completion": [{"role": "assistant", "content": MC_OK}],
            "solution": "B",
            "problem_type": "multiple choice",
        },
        {
            "prompt": "Which?",
            "completion": "<think>t</think><answer>A</answer>",
            "solution": "B",
            "problem_type": "multiple choice",
        },
    ]
    out = tmp_path / "out.jsonl"
    assert (
        cli(
            "score", str(write_jsonl(tmp_path / "t.jsonl", rows)), "-o", str(out), "--preset", "trl"
        ).returncode
        == 0
    )
    scored = read_jsonl(out)
    assert [r["accuracy"] for r in scored] == [1.0, 0.0]
    assert scored[0]["completion"] == rows[0]["completion"]  # the input row is kept as it was


def test_folder_of_shards_in_name_order(tmp_path: Path) -> None:
    rows = read_jsonl(EXAMPLE)[:30]
    shards = tmp_path / "shards"
    shards.mkdir()
    write_jsonl(shards / "part-000.jsonl", rows[:10])
    write_jsonl(shards / "part-001.jsonl", rows[10:])
    (shards / "README.txt").write_text("not a shard")
    out = tmp_path / "out.jsonl"
    assert cli("score", str(shards), "-o", str(out), "--quiet").returncode == 0
    assert [r["completion"] for r in read_jsonl(out)] == [r["completion"] for r in rows]


def test_exit_code_2_for_usage_and_input_errors(tmp_path: Path) -> None:
    o = str(tmp_path / "o.jsonl")
    assert cli("score", str(tmp_path / "missing.jsonl"), "-o", o).returncode == 2
    assert cli("score", str(EXAMPLE)).returncode == 2  # no -o
    assert cli("score", str(EXAMPLE), "-o", o, "--field", "oops").returncode == 2
    assert cli("score", str(EXAMPLE), "-o", o, "--field", "truth=x").returncode == 2
    assert cli("score", str(EXAMPLE), "-o", o, "--format-weight", "3").returncode == 2
    assert cli("score", str(EXAMPLE), "-o", o, "--reward-model-fallback", "rouge").returncode == 2
    assert (
        cli("score", str(EXAMPLE), "-o", str(EXAMPLE)).returncode == 2
    )  # would overwrite the input
    assert not Path(o).exists()


def test_help_has_examples_for_every_command() -> None:
    top = cli("--help")
    assert top.returncode == 0 and "examples:" in top.stdout
    for command in ("score", "validate", "report", "serve"):
        proc = cli(command, "--help")
        assert (
            proc.returncode == 0
            and "examples:" in proc.stdout
            and f"unireward {command}" in proc.stdout
        )


def test_progress_lines_when_not_a_terminal(tmp_path: Path) -> None:
    proc = cli("score", str(EXAMPLE), "-o", str(tmp_path / "o.jsonl"), "--workers", "1",
               "--chunk-size", "50", "--log-every", "0")
    assert proc.returncode == 0
    lines = [x for x in proc.stderr.splitlines() if x.startswith("unireward: ") and "rows/s" in x]
    assert len(lines) >= 4 and "ETA" in lines[0]  # one per chunk here, with a share read and an ETA


def test_validate(tmp_path: Path) -> None:
    ok = cli("validate", str(EXAMPLE))
    assert ok.returncode == 0 and f"{len(read_jsonl(EXAMPLE))} rows, 0 invalid" in ok.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"completion": "x", "solution": "{oops", "problem_type": "spatial grounding"}\n'
        '{"completion": "x", "solution": "B", "problem_type": "multiple choice"}\n'
        "nope\n"
        '{"completion": "x", "solution": "B", "problem_type": "juggling"}\n'
    )
    proc = cli("validate", str(bad))
    assert proc.returncode == 1 and "3 invalid" in proc.stdout
    assert "line 1: GroundTruthError" in proc.stderr and "line 3: invalid JSON" in proc.stderr
    assert "line 4: UnknownTaskError" in proc.stderr and "line 2" not in proc.stderr
    assert cli("validate", str(tmp_path / "missing.jsonl")).returncode == 2


def test_example_file_is_reproducible() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "make_rollouts.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == EXAMPLE.read_text()


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "unireward.cli", "score", str(EXAMPLE), "-o",
                             str(tmp_path / "o.jsonl"), "--workers", "1", "--chunk-size", "20"],
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not data:
            break
        seen += data
    os.close(master)
    assert proc.wait(timeout=120) == 0
    assert (
        b"rows/s" in seen and b"240 rows" in seen
    )  # rich's bar or the plain one, redrawn in place
