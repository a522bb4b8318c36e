"""Hostile dumps against ``score``, ``validate`` and ``report``: no row stops a run, every
line is accounted for, output is standard JSON, and the output files cannot be turned on
the input or through a symbolic link."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from ._helpers import EXAMPLE, cli, read_jsonl, read_strict, strict_json

OK = ('{"completion": "<think>t</think><answer>B</answer>", "solution": "B", '
      '"problem_type": "multiple choice"}')
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJ = (
    '{"completion": "x", "solution": '
    + "[" * 100_000
    + "]" * 100_000
    + ', "problem_type": "numerical"}'
)
# a lone surrogate escaped in JSON, in several places a row can hold one
_MC = '"solution": "B", "problem_type": "multiple choice"'
SURROGATES = [
    '{"completion": "<answer>\\ud800</answer>", ' + _MC + "}",
    '{"completion": "<answer>B</answer>", ' + _MC + ', "note": "\\udfff"}',
    '{"completion": "<answer>B</answer>", ' + _MC + ', "\\ud83d": 1}',
    '{"completion": "<answer>B</answer>", ' + _MC + ', "m": {"a": ["\\uDBFF"]}}',
    '{"completion": "x", "solution": "B", "problem_type": "\\ud800"}',
]
PAIR = ('{"completion": "<think>t</think><answer>B</answer>", ' + _MC
        + ', "note": "\\ud83d\\ude00"}')


def _dump(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_lone_surrogates_and_deep_nesting_become_error_rows(tmp_path: Path, workers: str) -> None:
    lines = [OK, *SURROGATES, DEEP, DEEP_OBJ, PAIR, OK]
    src = _dump(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    proc = cli("score", str(src), "-o", str(out), "--workers", workers, "--chunk-size", "3")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = read_strict(out)  # every line valid UTF-8 and standard JSON
    assert len(rows) == len(lines)
    assert [r["status"] for r in rows] == ["ok"] + ["error"] * 7 + ["ok", "ok"]
    for line, row in zip(lines[1:8], rows[1:8], strict=True):
        assert row["_raw"] == line  # the input, kept verbatim
        assert row["reward"] == 0.0
    assert all("lone surrogate" in r["reason"] for r in rows[1:6])
    assert "nested too deeply" in rows[6]["reason"] and "nested too deeply" in rows[7]["reason"]
    assert rows[8]["note"] == "\U0001f600"  # a proper pair is a character, kept
    # the first reasons are named on stderr with their lines, and where the rest are
    assert "7 of 10 rows have status \"error\"" in proc.stderr
    assert "line 2: invalid Unicode: a lone surrogate (\\ud800" in proc.stderr
    assert f"all of them are in {out}" in proc.stderr
    # validate and report go through the same rows without a traceback
    val = cli("validate", str(src))
    assert val.returncode == 1 and "Traceback" not in val.stderr + val.stdout
    assert "7 invalid" in val.stdout and "line 8: invalid JSON: nested too deeply" in val.stderr
    rep = cli("report", str(out), "-o", str(tmp_path / "r.html"))
    assert "Traceback" not in rep.stderr and rep.returncode in (0, 1)
    assert (tmp_path / "r.html").is_file()
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []


def test_resume_passes_a_hostile_chunk(tmp_path: Path) -> None:
    # the old failure: the chunk holding the bad row stopped every resumed run at the same place
    lines = [OK] * 5 + [SURROGATES[0], DEEP] + [OK] * 5
    src = _dump(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    first = cli("score", str(src), "-o", str(out), "--chunk-size", "4", "--workers", "1")
    again = cli(
        "score",
        str(src),
        "-o",
        str(tmp_path / "again.jsonl"),
        "--chunk-size",
        "4",
        "--resume",
        "--workers",
        "1",
    )
    assert first.returncode == again.returncode == 1
    assert out.read_bytes() == (tmp_path / "again.jsonl").read_bytes()
    assert len(read_strict(out)) == len(lines)


def test_non_finite_numbers_are_written_as_null(tmp_path: Path) -> None:
    lines = [
        '{"completion": "<think>t</think><answer>3</answer>", "solution": "3", '
        '"problem_type": "numerical", "score": NaN, "a": [Infinity, -Infinity, 1e999, 2.5]}',
        '{"completion": "<think>t</think><answer>3</answer>", "solution": NaN, '
        '"problem_type": "numerical"}',
    ]
    src = _dump(tmp_path / "in.jsonl", lines)
    for name in ("out.jsonl", "out.jsonl.gz"):
        out = tmp_path / name
        proc = cli("score", str(src), "-o", str(out), "--quiet")
        assert proc.returncode == 0, (
            proc.stderr
        )  # a NaN ground truth is scored as the reference does
        text = (
            gzip.decompress(out.read_bytes()).decode() if name.endswith(".gz") else out.read_text()
        )
        rows = [strict_json(x) for x in text.splitlines()]
        assert rows[0]["score"] is None and rows[0]["a"] == [None, None, None, 2.5]
        assert rows[0]["status"] == "ok" and rows[0]["reward"] > 1
        assert rows[1]["solution"] is None and rows[1]["status"] == "ground_truth_error"
        assert "not a finite number" in rows[1]["reason"]


def test_every_line_is_accounted_for(tmp_path: Path) -> None:
    odd = ["\x0c", "\u00a0", "\x1c", "\u3000", "\u2028", "\x85"]
    body = [
        OK.encode(),
        b"",
        b"   \t",
        b"\r",
        *(c.encode() for c in odd),
        b'{"completion": "<answer>\xff\xfe</answer>", "solution": "B", '
        b'"problem_type": "multiple choice"}',
        b"\xc3(",
        OK.encode() + b"\r",
    ]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(body))  # the last line without a newline
    out = tmp_path / "out.jsonl"
    proc = cli("score", str(src), "-o", str(out), "--workers", "1")
    assert proc.returncode == 1, proc.stderr
    rows = read_strict(out)
    # blank lines (empty, or JSON whitespace only) are skipped and counted; every other line is
    # a row
    assert len(rows) == len(body) - 3
    assert "3 blank lines skipped" in proc.stdout
    assert [r["status"] for r in rows] == ["ok"] + ["error"] * 8 + ["ok"]
    for k, c in enumerate(odd, start=5):  # named by their line numbers, input kept
        assert f"line {k}: invalid JSON" in proc.stderr
        assert rows[k - 4]["_raw"] == c
    assert "line 11: invalid UTF-8: byte 0xff at column 25" in proc.stderr
    assert rows[7]["_raw"] == ('{"completion": "<answer>\\xff\\xfe</answer>", "solution": "B", '
                               '"problem_type": "multiple choice"}')
    assert "line 12: invalid UTF-8: byte 0xc3" in proc.stderr and rows[8]["_raw"] == "\\xc3("
    # validate counts the same lines
    val = cli("validate", str(src))
    assert (
        val.returncode == 1
        and "10 rows, 8 invalid" in val.stdout
        and "line 11: invalid UTF-8" in val.stderr
    )


def test_symlinks_at_the_working_files_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    out = tmp_path / "out.jsonl"
    for name in ("out.jsonl.partial", "out.jsonl.progress"):
        link = tmp_path / name
        link.symlink_to(target)
        proc = cli("score", str(EXAMPLE), "-o", str(out), "--quiet")
        assert proc.returncode == 2 and "symbolic link" in proc.stderr, proc.stderr
        assert target.read_text() == "keep me" and not out.exists()
        resumed = cli("score", str(EXAMPLE), "-o", str(out), "--quiet", "--resume")
        assert resumed.returncode == 2 and target.read_text() == "keep me"
        link.unlink()
    assert cli("score", str(EXAMPLE), "-o", str(out), "--quiet").returncode == 0
    assert len(read_jsonl(out)) == len(read_jsonl(EXAMPLE))


def test_output_that_would_touch_the_input_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "v.jsonl.partial"
    src.write_bytes(EXAMPLE.read_bytes())
    before = src.read_bytes()
    for args in (
        ["score", str(src), "-o", str(tmp_path / "v.jsonl"), "--format", "jsonl"],
        ["score", str(src), "-o", str(tmp_path / "v.jsonl"), "--format", "jsonl", "--resume"],
        ["score", str(EXAMPLE), "-o", str(EXAMPLE)],
    ):
        proc = cli(*args)
        assert proc.returncode == 2 and "choose another output" in proc.stderr, proc.stderr
    assert src.read_bytes() == before
    linked = tmp_path / "alias.jsonl"
    linked.symlink_to(src)
    proc = cli(
        "score", str(linked), "-o", str(tmp_path / "v.jsonl")
    )  # the same file by another name
    assert proc.returncode == 2 and src.read_bytes() == before


def test_file_types_tasks_and_options_are_checked_at_start(tmp_path: Path) -> None:
    o = tmp_path / "o.jsonl"
    txt = tmp_path / "dump.txt"
    txt.write_bytes(EXAMPLE.read_bytes())
    bad_in = cli("score", str(txt), "-o", str(o))
    assert (
        bad_in.returncode == 2
        and "unknown file type" in bad_in.stderr
        and "--format" in bad_in.stderr
    )
    bad_out = cli("score", str(EXAMPLE), "-o", str(tmp_path / "o.csv"))
    assert bad_out.returncode == 2 and "o.csv: unknown file type" in bad_out.stderr
    assert not list(tmp_path.glob("o.*"))
    named = cli("score", str(txt), "-o", str(tmp_path / "o.out"), "--format", "jsonl", "--quiet")
    assert named.returncode == 0 and len(read_jsonl(tmp_path / "o.out")) == len(read_jsonl(EXAMPLE))
    assert cli("validate", str(txt)).returncode == 2
    assert cli("validate", str(txt), "--format", "jsonl").returncode == 0
    typo = cli("score", str(EXAMPLE), "-o", str(o), "--task", "multple choice")
    assert (
        typo.returncode == 2 and "did you mean 'multiple choice'?" in typo.stderr and not o.exists()
    )
    assert cli("validate", str(EXAMPLE), "--task", "nonsense-task").returncode == 2
    for opt, value in (
        ("--math-timeout", "inf"),
        ("--math-timeout", "0"),
        ("--math-timeout", "nan"),
        ("--math-timeout", "1e9"),
        ("--format-weight", "nan"),
        ("--workers", "0"),
        ("--chunk-size", "-1"),
        ("--log-every", "inf"),
    ):
        proc = cli("score", str(EXAMPLE), "-o", str(o), opt, value)
        assert proc.returncode == 2 and opt in proc.stderr, (opt, value, proc.stderr)
    assert not o.exists()


def test_task_names_in_any_case_and_separator_count_under_the_canonical_name(
    tmp_path: Path,
) -> None:
    variants = ["multiple choice", "Multiple_Choice", "MULTIPLE CHOICE", "  multiple_choice "]
    rows = [{"completion": "<think>t</think><answer>B</answer>", "solution": "B", "problem_type": v}
            for v in variants]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = cli("score", str(src), "-o", str(tmp_path / "o.jsonl"))
    assert proc.returncode == 0, proc.stderr
    table = [x for x in proc.stdout.splitlines() if "choice" in x.lower()]
    assert len(table) == 1 and table[0].split()[:3] == ["multiple", "choice", "4"]
    nameless = tmp_path / "nameless.jsonl"
    nameless.write_text(
        json.dumps({"completion": "<think>t</think><answer>B</answer>", "solution": "B"}) + "\n"
    )
    proc = cli("score", str(nameless), "-o", str(tmp_path / "n.jsonl"), "--task", "Multiple_Choice")
    assert (
        proc.returncode == 0
        and proc.stdout.startswith("task")
        and "\nmultiple choice " in proc.stdout
    )


def test_exit_1_names_the_first_errors_only(tmp_path: Path) -> None:
    rows = [
        {"completion": "x", "solution": "B", "problem_type": f"juggling {i}"} for i in range(30)
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = cli("score", str(src), "-o", str(tmp_path / "o.jsonl"), "--quiet", "--chunk-size", "7")
    assert proc.returncode == 1
    named = [x for x in proc.stderr.splitlines() if x.startswith("  line ")]
    assert [x.split(":")[0] for x in named] == [f"  line {i}" for i in range(1, 6)]
    assert "juggling 0" in named[0] and "30 of 30 rows" in proc.stderr


def test_unwritable_output_folder_does_not_suggest_resume(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    proc = cli("score", str(EXAMPLE), "-o", str(not_a_folder / "o.jsonl"))
    assert proc.returncode == 2 and "cannot write" in proc.stderr and "--resume" not in proc.stderr
    if os.geteuid() != 0:  # root writes into read-only folders
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        try:
            proc = cli("score", str(EXAMPLE), "-o", str(ro / "o.jsonl"))
        finally:
            ro.chmod(0o755)
        assert (
            proc.returncode == 2 and "cannot write" in proc.stderr and "--resume" not in proc.stderr
        )


def test_truncated_gzip_stops_without_suggesting_resume(tmp_path: Path) -> None:
    data = gzip.compress(EXAMPLE.read_bytes() * 20)
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "o.jsonl"
    proc = cli("score", str(src), "-o", str(out), "--chunk-size", "50", "--workers", "2")
    assert proc.returncode == 2 and "cannot read" in proc.stderr and "--resume" not in proc.stderr
    assert "rows before it are in" in proc.stderr and "Traceback" not in proc.stderr


def test_progress_ends_at_100_percent(tmp_path: Path) -> None:
    big = tmp_path / "in.jsonl"
    big.write_bytes(EXAMPLE.read_bytes() * 4)
    proc = cli(
        "score",
        str(big),
        "-o",
        str(tmp_path / "o.jsonl"),
        "--workers",
        "2",
        "--chunk-size",
        "40",
        "--log-every",
        "0",
    )
    assert proc.returncode == 0
    lines = [x for x in proc.stderr.splitlines() if "rows/s" in x]
    shares = [int(x.split("%")[0].split()[-1]) for x in lines if "%" in x]
    assert shares == sorted(shares) and shares[-1] == 100  # never backwards, ends at 100%
    total = f"unireward: {4 * len(read_jsonl(EXAMPLE)):,} rows"
    assert lines[-1].startswith(total) and len(shares) >= 5
    assert all(x.startswith(total) for x in lines if "100%" in x)  # 100% only once all rows are in


def test_report_creates_its_folder(tmp_path: Path) -> None:
    scored = tmp_path / "s.jsonl"
    assert cli("score", str(EXAMPLE), "-o", str(scored), "--quiet").returncode == 0
    target = tmp_path / "new" / "dir" / "x.html"
    proc = cli("report", str(scored), "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert target.read_text(encoding="utf-8").lower().startswith("<!doctype html>")
    assert [p.name for p in target.parent.iterdir()] == ["x.html"]
