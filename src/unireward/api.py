"""The scoring API: :func:`score` for one completion, :func:`score_batch` for many."""

from __future__ import annotations

import gc
import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from .completion import _scan_common, _scan_full, scan_completion, unwrap_ground_truth
from .errors import ConfigurationError, GroundTruthError, InputError, UniRewardError
from .registry import get_scorer
from .result import RewardResult, Status, TaskOutcome
from .tasks.base import Columns, ScoreOptions, TaskScorer

__all__ = ["FIELD_ALIASES", "ascore_batch", "normalize_record", "score", "score_batch"]

logger = logging.getLogger("unireward.api")

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
    opts = ScoreOptions(**options)
    mask_model = opts.extra.get("mask_model") if opts.extra else None
    if mask_model is not None and not (isinstance(mask_model, TaskScorer) and mask_model.name == "segmentation"):
        raise ConfigurationError(
            "extra['mask_model'] must be a unireward.masks.Sam2MaskReward or Sam2Client, "
            f"got {type(mask_model).__name__}"
        )
    return opts


def _scorer(task: str, opts: ScoreOptions) -> TaskScorer:
    """The scorer of a task: ``extra["mask_model"]`` scores segmentation when given."""
    scorer = get_scorer(task)
    if opts.extra and scorer.name == "segmentation":
        return opts.extra.get("mask_model") or scorer
    return scorer


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


#: What composition needs of a parsed completion (see :func:`~unireward.completion.scan_completion`):
#: ``(format, answer, has_answer_tags, tagged_answer)``.
_Scan = tuple[float, str, bool, str]
_OK = Status.OK
_new_result = tuple.__new__  # RewardResult(...) without the keyword handling, for the hot loop


def _compose(parsed: _Scan, outcome: TaskOutcome, task: str, options: ScoreOptions) -> RewardResult:
    fmt, answer, has_tags = parsed[0], parsed[1], parsed[2]
    if fmt and outcome.status is Status.OK and has_tags:  # the common case
        a, st = float(outcome.accuracy), float(outcome.structure)
        if math.isfinite(a) and math.isfinite(st):
            w = options.format_weight
            return RewardResult(
                (1.0 - w) * a + w * fmt + st, a, fmt, st, task, Status.OK, outcome.reason, (),
                answer, outcome.details,
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
    if not has_tags:
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
        answer=answer,
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


class _BadTruthLog:
    """Logs each distinct refused ground truth once per process (a bounded memory of the
    ones already logged; thread-safe)."""

    MAX_REMEMBERED = 10_000

    def __init__(self) -> None:
        self._seen: set[tuple[str, str | None, str]] = set()
        self._lock = threading.Lock()

    def __call__(self, scorer: TaskScorer, ground_truth: Any, data_type: str | None, exc: BaseException) -> None:
        key = (scorer.name, data_type, _truth_text(ground_truth))
        with self._lock:
            if key in self._seen:
                return
            if len(self._seen) >= self.MAX_REMEMBERED:
                self._seen.clear()
            self._seen.add(key)
        logger.warning(
            "unusable ground truth for task %r (%s): rows with it are scored with accuracy 0 "
            "and status 'ground_truth_error' (logged once per distinct truth): %s",
            scorer.name, exc, key[2],
        )


def _truth_text(ground_truth: Any) -> str:
    text = ground_truth if isinstance(ground_truth, str) else repr(ground_truth)
    return text if len(text) <= 300 else f"{text[:300]}... ({len(text)} characters)"


_log_bad_truth = _BadTruthLog()


def _bad_truth_outcome(
    scorer: TaskScorer, answer: str, ground_truth: Any, data_type: str | None, exc: BaseException,
    opts: ScoreOptions,
) -> TaskOutcome:
    """What the reference gives a row whose ground truth the scorer refused: accuracy 0,
    the answer's structure reward (see :meth:`TaskScorer.stand_in_truth`), and the reason."""
    _log_bad_truth(scorer, ground_truth, data_type, exc)
    structure = 0.0 if scorer.structured else 0.5
    try:
        stand_in = scorer.stand_in_truth(ground_truth, data_type)
        if stand_in is not None:
            structure = float(scorer.score(answer, stand_in, data_type=data_type, options=opts).structure)
    except Exception:  # the structure of a row that cannot be scored is 0
        structure = 0.0
    if not math.isfinite(structure):
        structure = 0.0
    return TaskOutcome(0.0, structure, Status.GROUND_TRUTH_ERROR, f"{type(exc).__name__}: {exc}"[:500])


def score(
    completion: str,
    ground_truth: Any,
    task: str,
    *,
    data_type: str | None = None,
    errors: Literal["raise", "record"] = "record",
    **options: Any,
) -> RewardResult:
    """Score one completion.

    Args:
        completion: the model's output, ideally ``<think>...</think><answer>...</answer>``.
        ground_truth: a string (optionally wrapped in ``<answer>`` tags), a JSON string, or
            an already parsed dict/list for structured tasks.
        task: the task name (``problem_type``), matched case-insensitively.
        data_type: ``"image"`` or ``"video"`` where the task depends on it (segmentation).
        errors: ``"record"`` (default): a ground truth the task cannot use is scored as the
            reference scores it (accuracy 0, format and structure as usual) with status
            ``ground_truth_error`` and the reason, and logged once per distinct truth;
            ``"raise"``: it raises :class:`~unireward.errors.GroundTruthError`.
        **options: :class:`~unireward.tasks.base.ScoreOptions` fields (``profile``,
            ``format_weight``, ``math_timeout``, ``raise_on_error``, ``extra``).
            ``extra={"mask_model": m}`` scores segmentation by SAM2 masks, ``m`` a
            :class:`~unireward.masks.Sam2MaskReward` or :class:`~unireward.masks.Sam2Client`
            (docs/segmentation-eval.md).

    Returns:
        A frozen :class:`~unireward.RewardResult`. Bad model output never raises: it is
        recorded in ``status`` / ``reason``. An unknown task or a bad option raises a
        :class:`~unireward.errors.UniRewardError`.

    >>> r = score("<think>easy</think><answer>C</answer>", "C", "multiple choice")
    >>> r.total, r.accuracy, r.format, r.structure, r.status.value
    (1.5, 1.0, 1.0, 0.5, 'ok')
    >>> score('<think>t</think><answer>{"time": [1, 3]}</answer>', '{"time": [2, 4]}',
    ...       "temporal grounding").accuracy
    0.3333333333333333
    >>> r = score("<think>t</think><answer>229</answer>", "229 meters", "regression")
    >>> r.total, r.accuracy, r.structure, r.status.value
    (0.6, 0.0, 0.5, 'ground_truth_error')
    >>> r.reason
    "GroundTruthError: regression ground truth '229 meters' is not a finite number"
    """
    _check_errors(errors)
    opts = _options(options)
    scorer = _scorer(task, opts)
    dt = None if data_type is None else str(data_type)
    if not isinstance(completion, str):
        raise InputError(f"completion must be a string, got {type(completion).__name__}")
    gt = unwrap_ground_truth(ground_truth)
    try:
        truth = scorer.prepare_ground_truth(gt, dt)
    except GroundTruthError as exc:
        if errors == "raise":
            raise
        parsed = scan_completion(completion)
        return _compose(parsed, _bad_truth_outcome(scorer, parsed[1], gt, dt, exc, opts), task, opts)
    parsed = scan_completion(completion)
    try:
        outcome = scorer.score(parsed[1], truth, data_type=dt, options=opts)
    except UniRewardError:
        raise
    except Exception as exc:
        if opts.raise_on_error:
            raise
        return _error_result(task, exc, parsed[1])
    return _compose(parsed, outcome, task, opts)


def score_batch(
    records: Iterable[Mapping[str, Any]],
    *,
    reward_model: Any = None,
    normalize_by_problem_id: bool = True,
    reward_model_fallback: str | None = None,
    errors: Literal["raise", "record"] = "record",
    **options: Any,
) -> list[RewardResult]:
    """Score many records; one result per record, in order.

    A record is a mapping with ``completion``, ``ground_truth`` and ``task`` and optionally
    ``data_type``, ``problem_id`` and ``prompt``; OneThinker's names (``problem_type``,
    ``answer`` or ``solution``, ``problem_reserved_text``) are accepted too. Items of one
    task are scored together (structured tasks in vectorised array operations); the results
    equal :func:`score` called per record. While a batch of 512 or more records is scored
    the cyclic garbage collector is paused (then restored as it was; see docs/api.md).

    Args:
        records: the records.
        reward_model: a :class:`~unireward.remote.PolarClient`; when given, open-ended
            and captioning answers are scored by it in one go (prompt, reference and the
            tagged answer text are sent; see docs/remote.md).
        normalize_by_problem_id: map reward-model scores per ``problem_id`` (z-score then
            min-max) instead of clipping them to [0, 1].
        reward_model_fallback: ``None`` (a failing server raises) or ``"rouge"`` (the
            affected items get their ROUGE score and ``status == "fallback"``).
        errors: ``"record"`` (default): a ground truth the task cannot use is scored as
            the reference scores it (accuracy 0, format and structure as usual) with
            ``status == "ground_truth_error"`` and the reason (each distinct one logged
            once), and a record that cannot be read or names an unknown task yields a
            result with ``status == "error"``, all components 0; ``"raise"``: either raises
            (the message names the record's index).
        **options: as for :func:`score`.

    >>> rs = score_batch([
    ...     {"completion": "<think>t</think><answer>B</answer>", "ground_truth": "B",
    ...      "task": "multiple choice"},
    ...     {"response": "<answer>3.14</answer>", "solution": "3.14", "problem_type": "numerical"},
    ... ])
    >>> [r.total for r in rs]
    [1.5, 0.9]
    """
    _check_batch_args(errors, reward_model, reward_model_fallback, asynchronous=False)
    opts = _options(options)
    records = list(records)
    results, pending = _score_rules(records, opts, errors == "record", reward_model is not None)
    if pending:
        from .remote import reward_model_accuracies

        for work in pending:
            work.finish(
                reward_model_accuracies(
                    reward_model, **work.request(normalize_by_problem_id, reward_model_fallback)
                ),
                results,
                opts,
            )
    return results  # type: ignore[return-value]


async def ascore_batch(
    records: Iterable[Mapping[str, Any]],
    *,
    reward_model: Any = None,
    normalize_by_problem_id: bool = True,
    reward_model_fallback: str | None = None,
    errors: Literal["raise", "record"] = "record",
    **options: Any,
) -> list[RewardResult]:
    """:func:`score_batch` for asyncio code: same arguments, same results.

    The rule-based scoring runs in a worker thread, so the event loop stays free while a
    big batch is scored. Open-ended and captioning answers go to ``reward_model``: an
    :class:`~unireward.remote.AsyncPolarClient` (its batches in flight together, up to its
    ``max_concurrency``; the task groups of the batch at the same time) or a
    :class:`~unireward.remote.PolarClient` (called in a worker thread).

    >>> import asyncio
    >>> rs = asyncio.run(ascore_batch([
    ...     {"completion": "<think>t</think><answer>B</answer>", "ground_truth": "B",
    ...      "task": "multiple choice"}]))
    >>> rs[0].total
    1.5
    """
    import asyncio

    _check_batch_args(errors, reward_model, reward_model_fallback, asynchronous=True)
    opts = _options(options)
    records = list(records)
    results, pending = await asyncio.to_thread(
        _score_rules, records, opts, errors == "record", reward_model is not None
    )
    if pending:
        from .remote import AsyncPolarClient, areward_model_accuracies, reward_model_accuracies

        requests = [w.request(normalize_by_problem_id, reward_model_fallback) for w in pending]
        if isinstance(reward_model, AsyncPolarClient):
            scored = await asyncio.gather(
                *(areward_model_accuracies(reward_model, **r) for r in requests)
            )
        else:
            scored = await asyncio.to_thread(
                lambda: [reward_model_accuracies(reward_model, **r) for r in requests]
            )
        for work, rows in zip(pending, scored, strict=True):
            work.finish(rows, results, opts)
    return results  # type: ignore[return-value]


def _check_errors(errors: str) -> None:
    if errors not in ("raise", "record"):
        raise ConfigurationError(f"errors must be 'raise' or 'record', got {errors!r}")


def _check_batch_args(errors: str, reward_model: Any, fallback: str | None, *, asynchronous: bool) -> None:
    _check_errors(errors)
    if fallback not in (None, "rouge"):
        raise ConfigurationError(
            f"reward_model_fallback must be None or 'rouge', got {fallback!r}"
        )
    if reward_model is None:
        return
    from .remote import AsyncPolarClient, PolarClient

    allowed = (PolarClient, AsyncPolarClient) if asynchronous else (PolarClient,)
    if not isinstance(reward_model, allowed):
        hint = " (an AsyncPolarClient goes with ascore_batch)" if isinstance(reward_model, AsyncPolarClient) else ""
        raise ConfigurationError(
            f"reward_model must be a {' or '.join(c.__name__ for c in allowed)}, "
            f"got {type(reward_model).__name__}{hint}"
        )


def _score_rules(
    records: list[Any], opts: ScoreOptions, record_errors: bool, defer_open_ended: bool
) -> tuple[list[RewardResult | None], list[_RewardModelWork]]:
    """Everything but the reward model: the results (None where the reward model is to
    score) and the reward model's work, one item per open-ended task group."""
    # A batch allocates a few objects per record and frees almost none until it returns:
    # the cyclic collector would run over and over to find nothing (about a fifth of the
    # time). It is paused for big batches and left as it was found.
    pause = len(records) >= _GC_PAUSE_MIN and gc.isenabled()
    if pause:
        gc.disable()
    try:
        return _score_records(records, opts, record_errors, defer_open_ended)
    finally:
        if pause:
            gc.enable()


_GC_PAUSE_MIN = 512


def _score_records(
    records: list[Any], opts: ScoreOptions, record_errors: bool, defer_open_ended: bool
) -> tuple[list[RewardResult | None], list[_RewardModelWork]]:
    n = len(records)
    results: list[RewardResult | None] = [None] * n
    pending: list[_RewardModelWork] = []

    # 1. read records, find scorers, prepare ground truths (per item, errors isolated)
    groups: dict[int, _Group] = {}
    by_task: dict[str, _Group] = {}
    for i, record in enumerate(records):
        try:
            if type(record) is dict:  # the common case, without the alias search
                c = record.get("completion")
                t = record.get("task")
                g = record.get("ground_truth")
                if type(c) is str and type(t) is str and g is not None:
                    dt = record.get("data_type")
                    if dt is not None and type(dt) is not str:
                        dt = str(dt)
                else:
                    c, g, t, dt = _fields(record)
            else:
                c, g, t, dt = _fields(record)
            grp = by_task.get(t)
            if grp is None:
                scorer = _scorer(t, opts)
                grp = groups.get(id(scorer))
                if grp is None:
                    grp = groups[id(scorer)] = _Group(scorer)
                by_task[t] = grp
            if type(g) is str:  # rollouts of one prompt share their ground truth
                key = g if dt is None else (g, dt)
                prepared = grp.cache.get(key, _MISSING)
                if prepared is _MISSING:
                    prepared = grp.cache[key] = _prepare(grp.scorer, g, dt)
            else:
                prepared = _prepare(grp.scorer, g, dt)
            if type(prepared) is _Refused:
                if not record_errors:
                    raise prepared.exc
                sc = scan_completion(c)
                outcome = _bad_truth_outcome(grp.scorer, sc[1], prepared.truth, dt, prepared.exc, opts)
                results[i] = _compose(sc, outcome, t, opts)
                continue
        except UniRewardError as exc:
            if not record_errors:
                raise type(exc)(f"record {i}: {exc}") from exc
            task = record.get("task") or record.get("problem_type") if isinstance(record, Mapping) else None
            results[i] = _error_result(str(task or ""), exc)
            continue
        grp.idx.append(i)
        grp.completions.append(c)
        grp.truths.append(prepared)
        grp.data_types.append(dt)
        grp.tasks.append(t)

    # 2. per task: parse completions once, score the group together, compose the results
    from .tasks.text import OpenEndedScorer

    w = opts.format_weight
    w1 = 1.0 - w
    isfinite = math.isfinite
    for grp in groups.values():
        scans = [_scan_common(c) or _scan_full(c) for c in grp.completions]  # scan_completion
        if defer_open_ended and isinstance(grp.scorer, OpenEndedScorer):
            pending.append(_RewardModelWork(grp, scans, records))
            continue
        acc, struct, special, failed = _score_group(grp, [sc[1] for sc in scans], opts)
        tasks = grp.tasks
        for j, (i, sc, a, st) in enumerate(zip(grp.idx, scans, acc, struct, strict=True)):
            f = sc[0]
            if f and sc[2] and j not in special and j not in failed:
                a = float(a)
                st = float(st)
                if isfinite(a) and isfinite(st):
                    results[i] = _new_result(
                        RewardResult, (w1 * a + w * f + st, a, f, st, tasks[j], _OK, None, (), sc[1], None)
                    )
                    continue
            if j in failed:
                results[i] = _error_result(tasks[j], failed[j], sc[1])
            else:
                results[i] = _compose(sc, special.get(j) or TaskOutcome(a, st), tasks[j], opts)
    return results, pending


class _Refused(NamedTuple):
    """A ground truth the scorer refused (kept in the batch's cache like a prepared one)."""

    truth: Any
    exc: GroundTruthError


def _prepare(scorer: TaskScorer, ground_truth: Any, data_type: str | None) -> Any:
    """The scorer's prepared truth, or :class:`_Refused`."""
    gt = unwrap_ground_truth(ground_truth)
    try:
        return scorer.prepare_ground_truth(gt, data_type)
    except GroundTruthError as exc:
        return _Refused(gt, exc)


class _Group:
    """The items of one scorer in a batch, in record order."""

    __slots__ = ("cache", "completions", "data_types", "idx", "scorer", "tasks", "truths")

    def __init__(self, scorer: TaskScorer) -> None:
        self.scorer = scorer
        self.idx: list[int] = []
        self.completions: list[str] = []
        self.truths: list[Any] = []
        self.data_types: list[str | None] = []
        self.tasks: list[str] = []
        self.cache: dict[Any, Any] = {}  # prepared ground truths by (string, data type)


def _fields(record: Any) -> tuple[str, Any, str, str | None]:
    """Completion, ground truth, task and data type of a record, any field names."""
    r = normalize_record(record)
    dt = r.get("data_type")
    return r["completion"], r["ground_truth"], r["task"], None if dt is None else str(dt)


def _score_group(
    grp: _Group, answers: list[str], opts: ScoreOptions
) -> tuple[Sequence[float], Sequence[float], Mapping[int, TaskOutcome], dict[int, BaseException]]:
    """Columns of one group, and the items whose scoring raised (when errors are recorded)."""
    scorer = grp.scorer
    try:
        cols: Columns = scorer.score_columns(answers, grp.truths, grp.data_types, opts)
        return cols[0], cols[1], cols[2], {}
    except UniRewardError:
        raise
    except Exception:
        if opts.raise_on_error:
            raise
    # isolate the failing item(s)
    outs: list[TaskOutcome] = []
    failed: dict[int, BaseException] = {}
    for j, (a, t, d) in enumerate(zip(answers, grp.truths, grp.data_types, strict=True)):
        try:
            outs.append(scorer.score(a, t, data_type=d, options=opts))
        except Exception as exc:
            failed[j] = exc
            outs.append(TaskOutcome(0.0, 0.0))
    special = {j: o for j, o in enumerate(outs) if j not in failed}
    return [o.accuracy for o in outs], [o.structure for o in outs], special, failed


class _RewardModelWork:
    """The open-ended items of one task group, waiting for the reward model."""

    def __init__(self, grp: _Group, scans: list[_Scan], records: list[Any]) -> None:
        self.grp = grp
        self.scans = scans
        self.items = [_item(records[i]) for i in grp.idx]

    def request(self, normalize_by_problem_id: bool, fallback: str | None) -> dict[str, Any]:
        """The keyword arguments of :func:`~unireward.remote.reward_model_accuracies`."""
        from .tasks.text import rouge_accuracy

        references = [str(t) for t in self.grp.truths]
        outputs = [sc[3] for sc in self.scans]
        return {
            "prompts": [it.prompt or "" for it in self.items],
            "references": references,
            "outputs": outputs,
            "problem_ids": [it.problem_id for it in self.items],
            "normalize_by_problem_id": normalize_by_problem_id,
            "fallback": fallback,
            "fallback_scores": (
                [rouge_accuracy(o, r) for o, r in zip(outputs, references, strict=True)]
                if fallback == "rouge"
                else None
            ),
        }

    def finish(
        self, scored: Sequence[tuple[float, Status, str | None]], results: list[RewardResult | None],
        opts: ScoreOptions,
    ) -> None:
        grp = self.grp
        for i, sc, t, (acc, status, reason) in zip(grp.idx, self.scans, grp.tasks, scored, strict=True):
            results[i] = _compose(sc, TaskOutcome(float(acc), 0.5, status, reason), t, opts)
