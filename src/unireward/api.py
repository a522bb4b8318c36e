"""The scoring API: :func:`score` for one completion, :func:`score_batch` for many."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from .completion import ParsedCompletion, parse_completion, unwrap_ground_truth
from .errors import ConfigurationError, InputError, UniRewardError
from .registry import get_scorer
from .result import RewardResult, Status, TaskOutcome
from .tasks.base import ScoreOptions, TaskScorer

__all__ = ["FIELD_ALIASES", "normalize_record", "score", "score_batch"]

#: Record fields and the other names they are accepted under (first match wins).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "completion": ("completion", "response", "solution_str"),
    "ground_truth": ("ground_truth", "answer", "solution"),
    "task": ("task", "problem_type"),
    "data_type": ("data_type",),
    "problem_id": ("problem_id",),
    "prompt": ("prompt", "problem_reserved_text"),
}
_REQUIRED = ("completion", "ground_truth", "task")
_MISSING = object()
_OPTION_NAMES = frozenset(ScoreOptions.__dataclass_fields__)


def _options(options: Mapping[str, Any]) -> ScoreOptions:
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise ConfigurationError(
            f"unknown scoring option(s) {sorted(unknown)}; known: {sorted(_OPTION_NAMES)}"
        )
    return ScoreOptions(**options)


class _Item(NamedTuple):
    completion: str
    ground_truth: Any
    task: str
    data_type: str | None
    problem_id: str | None
    prompt: str | None


def normalize_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Map a record's fields (OneThinker / EasyR1 / verl names accepted) to unireward's.

    >>> normalize_record({"problem_type": "OCR", "solution": "<answer>hi</answer>",
    ...                   "completion": "hi"})["task"]
    'OCR'
    """
    if not isinstance(record, Mapping):
        raise InputError(f"a record must be a mapping, got {type(record).__name__}")
    out: dict[str, Any] = {}
    for name, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            if alias in record and record[alias] is not None:
                out[name] = record[alias]
                break
    missing = [f for f in _REQUIRED if f not in out]
    if missing:
        names = ", ".join(f"{f!r} (or {' / '.join(FIELD_ALIASES[f][1:])})" for f in missing)
        raise InputError(f"record is missing {names}")
    if not isinstance(out["completion"], str):
        raise InputError(f"'completion' must be a string, got {type(out['completion']).__name__}")
    if not isinstance(out["task"], str):
        raise InputError(f"'task' must be a string, got {type(out['task']).__name__}")
    return out


def _item(record: Mapping[str, Any]) -> _Item:
    if type(record) is dict and "completion" in record and "ground_truth" in record and "task" in record:
        # the common case, without the alias search
        c, t = record["completion"], record["task"]
        if type(c) is str and type(t) is str and record["ground_truth"] is not None:
            dt = record.get("data_type")
            pid = record.get("problem_id")
            return _Item(
                c,
                record["ground_truth"],
                t,
                None if dt is None else str(dt),
                None if pid is None else str(pid),
                record.get("prompt", record.get("problem_reserved_text")),
            )
    r = normalize_record(record)
    dt = r.get("data_type")
    pid = r.get("problem_id")
    return _Item(
        r["completion"],
        r["ground_truth"],
        r["task"],
        None if dt is None else str(dt),
        None if pid is None else str(pid),
        r.get("prompt"),
    )


def _compose(
    parsed: ParsedCompletion, outcome: TaskOutcome, task: str, options: ScoreOptions
) -> RewardResult:
    fmt = parsed.format
    if fmt and outcome.status is Status.OK and parsed.has_answer_tags:  # the common case
        a, st = float(outcome.accuracy), float(outcome.structure)
        if math.isfinite(a) and math.isfinite(st):
            w = options.format_weight
            return RewardResult(
                (1.0 - w) * a + w * fmt + st, a, fmt, st, task, Status.OK, outcome.reason, (),
                parsed.answer, outcome.details,
            )
    accuracy = float(outcome.accuracy)
    structure = float(outcome.structure) if fmt else 0.0
    issues: list[Status] = []
    if outcome.status is not Status.OK:
        issues.append(outcome.status)
    if not (math.isfinite(accuracy) and math.isfinite(structure)):
        accuracy = accuracy if math.isfinite(accuracy) else 0.0
        structure = structure if math.isfinite(structure) else 0.0
        if Status.NON_FINITE not in issues:
            issues.append(Status.NON_FINITE)
    if not parsed.has_answer_tags:
        issues.append(Status.NO_TAGS)
    if not fmt:
        issues.append(Status.FORMAT_ERROR)
    w = options.format_weight
    total = (1.0 - w) * accuracy + w * fmt + structure
    reason = outcome.reason
    if reason is None and issues:
        reason = _DEFAULT_REASONS.get(issues[0])
    return RewardResult(
        total=total,
        accuracy=accuracy,
        format=fmt,
        structure=structure,
        task=task,
        status=RewardResult.most_important(issues) if issues else Status.OK,
        reason=reason,
        issues=tuple(issues),
        answer=parsed.answer,
        details=outcome.details,
    )


_DEFAULT_REASONS = {
    Status.NO_TAGS: "no <answer>...</answer> block: the whole completion was graded",
    Status.FORMAT_ERROR: "completion does not match <think>...</think><answer>...</answer>",
    Status.NON_FINITE: "a non-finite value was replaced by 0",
}


def _error_result(task: str, exc: BaseException, answer: str | None = None) -> RewardResult:
    return RewardResult(
        total=0.0,
        accuracy=0.0,
        format=0.0,
        structure=0.0,
        task=task,
        status=Status.ERROR,
        reason=f"{type(exc).__name__}: {exc}"[:500],
        issues=(Status.ERROR,),
        answer=answer,
    )


def score(
    completion: str,
    ground_truth: Any,
    task: str,
    *,
    data_type: str | None = None,
    **options: Any,
) -> RewardResult:
    """Score one completion.

    Args:
        completion: the model's output, ideally ``<think>...</think><answer>...</answer>``.
        ground_truth: a string (optionally wrapped in ``<answer>`` tags), a JSON string, or
            an already parsed dict/list for structured tasks.
        task: the task name (``problem_type``), matched case-insensitively.
        data_type: ``"image"`` or ``"video"`` where the task depends on it (segmentation).
        **options: :class:`~unireward.tasks.base.ScoreOptions` fields (``profile``,
            ``format_weight``, ``math_timeout``, ``raise_on_error``, ``extra``).

    Returns:
        A frozen :class:`~unireward.RewardResult`. Bad model output never raises: it is
        recorded in ``status`` / ``reason``. An unknown task, a bad option or an unusable
        ground truth raises a :class:`~unireward.errors.UniRewardError`.

    >>> r = score("<think>easy</think><answer>C</answer>", "C", "multiple choice")
    >>> r.total, r.accuracy, r.format, r.structure, r.status.value
    (1.5, 1.0, 1.0, 0.5, 'ok')
    >>> score('<think>t</think><answer>{"time": [1, 3]}</answer>', '{"time": [2, 4]}',
    ...       "temporal grounding").accuracy
    0.3333333333333333
    """
    opts = _options(options)
    scorer = get_scorer(task)
    dt = None if data_type is None else str(data_type)
    truth = scorer.prepare_ground_truth(unwrap_ground_truth(ground_truth), dt)
    if not isinstance(completion, str):
        raise InputError(f"completion must be a string, got {type(completion).__name__}")
    parsed = parse_completion(completion)
    try:
        outcome = scorer.score(parsed.answer, truth, data_type=dt, options=opts)
    except UniRewardError:
        raise
    except Exception as exc:
        if opts.raise_on_error:
            raise
        return _error_result(task, exc, parsed.answer)
    return _compose(parsed, outcome, task, opts)


def score_batch(
    records: Iterable[Mapping[str, Any]],
    *,
    reward_model: Any = None,
    normalize_by_problem_id: bool = True,
    reward_model_fallback: str | None = None,
    errors: Literal["raise", "record"] = "raise",
    **options: Any,
) -> list[RewardResult]:
    """Score many records; one result per record, in order.

    A record is a mapping with ``completion``, ``ground_truth`` and ``task`` and optionally
    ``data_type``, ``problem_id`` and ``prompt``; OneThinker's names (``problem_type``,
    ``answer`` or ``solution``, ``problem_reserved_text``) are accepted too. Items of one
    task are scored together (structured tasks in vectorised array operations).

    Args:
        records: the records.
        reward_model: a :class:`~unireward.remote.PolarClient`; when given, open-ended
            and captioning answers are scored by it in one go (prompt, reference and the
            tagged answer text are sent; see docs/remote.md).
        normalize_by_problem_id: map reward-model scores per ``problem_id`` (z-score then
            min-max) instead of clipping them to [0, 1].
        reward_model_fallback: ``None`` (a failing server raises) or ``"rouge"`` (the
            affected items get their ROUGE score and ``status == "fallback"``).
        errors: ``"raise"`` (default): a bad record or ground truth raises;
            ``"record"``: it yields a result with ``status == "error"`` and the reason.
        **options: as for :func:`score`.

    >>> rs = score_batch([
    ...     {"completion": "<think>t</think><answer>B</answer>", "ground_truth": "B",
    ...      "task": "multiple choice"},
    ...     {"response": "<answer>3.14</answer>", "solution": "3.14", "problem_type": "numerical"},
    ... ])
    >>> [r.total for r in rs]
    [1.5, 0.9]
    """
    if errors not in ("raise", "record"):
        raise ConfigurationError(f"errors must be 'raise' or 'record', got {errors!r}")
    if reward_model_fallback not in (None, "rouge"):
        raise ConfigurationError(
            f"reward_model_fallback must be None or 'rouge', got {reward_model_fallback!r}"
        )
    opts = _options(options)
    record_errors = errors == "record"
    records = list(records)
    n = len(records)
    results: list[RewardResult | None] = [None] * n

    # 1. read records, find scorers, prepare ground truths (per item, errors isolated)
    groups: dict[int, tuple[TaskScorer, list[int]]] = {}
    items: list[_Item | None] = [None] * n
    truths: list[Any] = [None] * n
    scorers: dict[str, TaskScorer] = {}
    gt_cache: dict[tuple[int, str, str | None], Any] = {}
    for i, record in enumerate(records):
        try:
            it: _Item | None = _item(record)
            assert it is not None
            scorer = scorers.get(it.task)  # type: ignore[assignment]
            if scorer is None:
                scorer = scorers[it.task] = get_scorer(it.task)
            gt = it.ground_truth
            if type(gt) is str:  # rollouts of one prompt share their ground truth
                key = (id(scorer), gt, it.data_type)
                prepared = gt_cache.get(key, _MISSING)
                if prepared is _MISSING:
                    prepared = gt_cache[key] = scorer.prepare_ground_truth(
                        unwrap_ground_truth(gt), it.data_type
                    )
                truths[i] = prepared
            else:
                truths[i] = scorer.prepare_ground_truth(unwrap_ground_truth(gt), it.data_type)
        except UniRewardError as exc:
            if not record_errors:
                raise type(exc)(f"record {i}: {exc}") from exc
            task = record.get("task") or record.get("problem_type") if isinstance(record, Mapping) else None
            results[i] = _error_result(str(task or ""), exc)
            continue
        items[i] = it
        groups.setdefault(id(scorer), (scorer, []))[1].append(i)

    # 2. parse completions once
    parsed: list[ParsedCompletion | None] = [None] * n
    for i, it in enumerate(items):
        if it is not None:
            parsed[i] = parse_completion(it.completion)

    # 3. score each task's items together
    from .tasks.text import OpenEndedScorer

    rm_indices: list[int] = []
    for scorer, idx in groups.values():
        if reward_model is not None and isinstance(scorer, OpenEndedScorer):
            rm_indices.extend(idx)
            continue
        outcomes = _score_group(scorer, idx, parsed, truths, items, opts)
        for i, out in zip(idx, outcomes, strict=True):
            it = items[i]
            assert it is not None
            p = parsed[i]
            if isinstance(out, BaseException):
                results[i] = _error_result(it.task, out, p.answer if p is not None else None)
            else:
                results[i] = _compose(parsed[i], out, it.task, opts)  # type: ignore[arg-type]

    if rm_indices:
        _score_with_reward_model(
            rm_indices, parsed, truths, items, results, opts,
            reward_model, normalize_by_problem_id, reward_model_fallback,
        )
    return results  # type: ignore[return-value]


def _score_group(
    scorer: TaskScorer,
    idx: Sequence[int],
    parsed: Sequence[ParsedCompletion | None],
    truths: Sequence[Any],
    items: Sequence[_Item | None],
    opts: ScoreOptions,
) -> list[TaskOutcome | BaseException]:
    answers = [parsed[i].answer for i in idx]  # type: ignore[union-attr]
    group_truths = [truths[i] for i in idx]
    dts = [items[i].data_type for i in idx]  # type: ignore[union-attr]
    try:
        return list(scorer.score_many(answers, group_truths, dts, opts))
    except UniRewardError:
        raise
    except Exception:
        if opts.raise_on_error:
            raise
    # isolate the failing item(s)
    out: list[TaskOutcome | BaseException] = []
    for a, t, d in zip(answers, group_truths, dts, strict=True):
        try:
            out.append(scorer.score(a, t, data_type=d, options=opts))
        except Exception as exc:
            out.append(exc)
    return out


def _score_with_reward_model(
    idx: list[int],
    parsed: list[ParsedCompletion | None],
    truths: list[Any],
    items: list[_Item | None],
    results: list[RewardResult | None],
    opts: ScoreOptions,
    client: Any,
    normalize_by_problem_id: bool,
    fallback: str | None,
) -> None:
    from .remote import reward_model_accuracies
    from .tasks.text import rouge_accuracy

    prompts = [items[i].prompt or "" for i in idx]  # type: ignore[union-attr]
    references = [str(truths[i]) for i in idx]
    outputs = [parsed[i].tagged_answer for i in idx]  # type: ignore[union-attr]
    pids = [items[i].problem_id for i in idx]  # type: ignore[union-attr]
    fallback_scores = (
        [rouge_accuracy(parsed[i].tagged_answer, str(truths[i])) for i in idx]  # type: ignore[union-attr]
        if fallback == "rouge"
        else None
    )
    scored = reward_model_accuracies(
        client,
        prompts=prompts,
        references=references,
        outputs=outputs,
        problem_ids=pids,
        normalize_by_problem_id=normalize_by_problem_id,
        fallback=fallback,
        fallback_scores=fallback_scores,
    )
    for i, (acc, status, reason) in zip(idx, scored, strict=True):
        outcome = TaskOutcome(float(acc), 0.5, status, reason)
        it = items[i]
        assert it is not None
        results[i] = _compose(parsed[i], outcome, it.task, opts)  # type: ignore[arg-type]
