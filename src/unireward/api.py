"""The scoring API: :func:`score` for one completion, :func:`score_batch` for many."""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from math import isfinite
from typing import Any, Literal, NamedTuple

from .completion import scan_completion, unwrap_ground_truth
from .errors import ConfigurationError, GroundTruthError, InputError, UniRewardError
from .registry import get_scorer
from .result import RewardResult, Status, TaskOutcome
from .tasks.base import ScoreOptions, TaskScorer

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
    if mask_model is not None and not (
        isinstance(mask_model, TaskScorer) and mask_model.name == "segmentation"
    ):
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


#: What composition needs of a parsed completion (see
#: :func:`~unireward.completion.scan_completion`):
#: ``(format, answer, has_answer_tags, tagged_answer)``.
_Scan = tuple[float, str, bool, str]
_OK = Status.OK


def _compose(parsed: _Scan, outcome: TaskOutcome, task: str, options: ScoreOptions) -> RewardResult:
    """The one place a :class:`RewardResult` is assembled: ``total = (1 - w) * accuracy +
    w * format + structure``, the structure counted only when the format holds, a
    non-finite accuracy or structure replaced by 0, and the issues in order of importance.
    """
    fmt, answer, has_tags, _ = parsed
    accuracy, structure, status, reason, details = outcome
    accuracy = float(accuracy)
    structure = float(structure) if fmt else 0.0
    issues: tuple[Status, ...] = ()
    if not (status is _OK and has_tags and fmt and isfinite(accuracy) and isfinite(structure)):
        accuracy, structure, issues = _issues(status, accuracy, structure, fmt, has_tags)
        status = RewardResult.most_important(issues)
        if reason is None:
            reason = _DEFAULT_REASONS.get(issues[0])
    w = options.format_weight
    return RewardResult(  # positional: the keyword form costs more in big batches
        (1.0 - w) * accuracy + w * fmt + structure,
        accuracy,
        fmt,
        structure,
        task,
        status,
        reason,
        issues,
        answer,
        details,
    )


def _issues(
    status: Status, accuracy: float, structure: float, fmt: float, has_tags: bool
) -> tuple[float, float, tuple[Status, ...]]:
    """The accuracy and structure with non-finite values replaced by 0, and the issues
    (the outcome's status first) of a result that has any."""
    issues: list[Status] = [] if status is _OK else [status]
    if not (isfinite(accuracy) and isfinite(structure)):
        accuracy = accuracy if isfinite(accuracy) else 0.0
        structure = structure if isfinite(structure) else 0.0
        if Status.NON_FINITE not in issues:
            issues.append(Status.NON_FINITE)
    if not has_tags:
        issues.append(Status.NO_TAGS)
    if not fmt:
        issues.append(Status.FORMAT_ERROR)
    return accuracy, structure, tuple(issues)


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

    def __call__(
        self, scorer: TaskScorer, ground_truth: Any, data_type: str | None, exc: BaseException
    ) -> None:
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
            scorer.name,
            exc,
            key[2],
        )


def _truth_text(ground_truth: Any) -> str:
    text = ground_truth if isinstance(ground_truth, str) else repr(ground_truth)
    return text if len(text) <= 300 else f"{text[:300]}... ({len(text)} characters)"


_log_bad_truth = _BadTruthLog()


def _bad_truth_outcome(
    scorer: TaskScorer,
    answer: str,
    ground_truth: Any,
    data_type: str | None,
    exc: BaseException,
    opts: ScoreOptions,
) -> TaskOutcome:
    """What the reference gives a row whose ground truth the scorer refused: accuracy 0,
    the answer's structure reward (see :meth:`TaskScorer.stand_in_truth`), and the reason."""
    _log_bad_truth(scorer, ground_truth, data_type, exc)
    structure = 0.0 if scorer.structured else 0.5
    try:
        stand_in = scorer.stand_in_truth(ground_truth, data_type)
        if stand_in is not None:
            structure = float(
                scorer.score(answer, stand_in, data_type=data_type, options=opts).structure
            )
    except Exception:  # the structure of a row that cannot be scored is 0
        structure = 0.0
    if not math.isfinite(structure):
        structure = 0.0
    return TaskOutcome(
        0.0, structure, Status.GROUND_TRUTH_ERROR, f"{type(exc).__name__}: {exc}"[:500]
    )


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
    prepared = _prepare(scorer, ground_truth, dt)
    if type(prepared) is _Refused and errors == "raise":
        raise prepared.exc
    parsed = scan_completion(completion)
    if type(prepared) is _Refused:
        return _refused_result(scorer, parsed, prepared, dt, task, opts)
    outs, failed = _outcomes(scorer, [parsed[1]], [prepared], [dt], opts)
    if failed:
        return _error_result(task, failed[0], parsed[1])
    return _compose(parsed, outs[0], task, opts)


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
    equal :func:`score` called per record. A batch of 512 or more records on the main
    thread pauses the cyclic garbage collector while it runs (see docs/api.md).

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
    results, pending = _score_records(records, opts, errors == "record", reward_model is not None)
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
        _score_records, records, opts, errors == "record", reward_model is not None
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


def _check_batch_args(
    errors: str, reward_model: Any, fallback: str | None, *, asynchronous: bool
) -> None:
    _check_errors(errors)
    if fallback not in (None, "rouge"):
        raise ConfigurationError(f"reward_model_fallback must be None or 'rouge', got {fallback!r}")
    if reward_model is None:
        return
    from .remote import AsyncPolarClient, PolarClient

    allowed = (PolarClient, AsyncPolarClient) if asynchronous else (PolarClient,)
    if not isinstance(reward_model, allowed):
        hint = (
            " (an AsyncPolarClient goes with ascore_batch)"
            if isinstance(reward_model, AsyncPolarClient)
            else ""
        )
        raise ConfigurationError(
            f"reward_model must be a {' or '.join(c.__name__ for c in allowed)}, "
            f"got {type(reward_model).__name__}{hint}"
        )


def _score_records(
    records: list[Any], opts: ScoreOptions, record_errors: bool, defer_open_ended: bool
) -> tuple[list[RewardResult | None], list[_RewardModelWork]]:
    """Everything but the reward model: the results (None where the reward model is to
    score) and the reward model's work, one item per open-ended task group. The records
    are read into task groups, then each group is scored together."""
    with _collector_paused(len(records)):
        return _score_all(records, opts, record_errors, defer_open_ended)


@contextlib.contextmanager
def _collector_paused(n: int) -> Iterator[None]:
    """Pause the cyclic garbage collector while a big batch is scored on the main thread.

    A batch allocates a few objects per record and frees almost none until it returns, so
    the collector runs again and again to find nothing: pausing it made a 50,000-record
    grounding batch 1.35x faster, in a process holding earlier batches' results. The
    switch is process-wide, so it is only thrown on the main thread (a training loop's
    call): a batch scored on another thread (``ascore_batch``'s worker, a server's
    threads) leaves it alone. The collector is left as it was found, also on errors.
    """
    pause = (
        n >= _GC_PAUSE_MIN
        and threading.current_thread() is threading.main_thread()
        and gc.isenabled()
    )
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause:
            gc.enable()


_GC_PAUSE_MIN = 512


def _score_all(
    records: list[Any], opts: ScoreOptions, record_errors: bool, defer_open_ended: bool
) -> tuple[list[RewardResult | None], list[_RewardModelWork]]:
    results: list[RewardResult | None] = [None] * len(records)
    groups = _Groups(opts)
    for i, record in enumerate(records):
        try:
            groups.add(i, record, results, record_errors)
        except UniRewardError as exc:
            if not record_errors:
                raise type(exc)(f"record {i}: {exc}") from exc
            results[i] = _error_result(_task_label(record), exc)
    pending: list[_RewardModelWork] = []
    for grp in groups.values():
        scans = [scan_completion(c) for c in grp.completions]
        if defer_open_ended and grp.scorer.uses_reward_model:
            pending.append(_RewardModelWork(grp, scans, records))
        else:
            _score_group(grp, scans, opts, results)
    return results, pending


def _task_label(record: Any) -> str:
    """The task of a record that could not be read, as well as it can be told."""
    if not isinstance(record, Mapping):
        return ""
    return str(record.get("task") or record.get("problem_type") or "")


class _Refused(NamedTuple):
    """A ground truth the scorer refused (kept in the batch's cache like a prepared one)."""

    truth: Any
    exc: GroundTruthError


def _refused_result(
    scorer: TaskScorer,
    parsed: _Scan,
    refused: _Refused,
    data_type: str | None,
    task: str,
    opts: ScoreOptions,
) -> RewardResult:
    """The result of a completion whose ground truth the scorer refused."""
    outcome = _bad_truth_outcome(scorer, parsed[1], refused.truth, data_type, refused.exc, opts)
    return _compose(parsed, outcome, task, opts)


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

    def truth(self, ground_truth: Any, data_type: str | None) -> Any:
        """The prepared truth (or :class:`_Refused`); rollouts of one prompt share their
        ground truth string, which is prepared once."""
        if type(ground_truth) is not str:
            return _prepare(self.scorer, ground_truth, data_type)
        key = ground_truth if data_type is None else (ground_truth, data_type)
        prepared = self.cache.get(key, _MISSING)
        if prepared is _MISSING:
            prepared = self.cache[key] = _prepare(self.scorer, ground_truth, data_type)
        return prepared


class _Groups(dict[int, _Group]):
    """The task groups of a batch by scorer (a task spelled two ways is one group)."""

    def __init__(self, opts: ScoreOptions) -> None:
        super().__init__()
        self.opts = opts
        self.by_task: dict[str, _Group] = {}

    def group(self, task: str) -> _Group:
        grp = self.by_task.get(task)
        if grp is None:
            scorer = _scorer(task, self.opts)
            grp = self.get(id(scorer))
            if grp is None:
                grp = self[id(scorer)] = _Group(scorer)
            self.by_task[task] = grp
        return grp

    def add(
        self, i: int, record: Any, results: list[RewardResult | None], record_errors: bool
    ) -> None:
        """File record ``i`` in its group, or give its result now when its ground truth is
        refused."""
        c, g, t, dt = _fields(record)
        grp = self.group(t)
        prepared = grp.truth(g, dt)
        if type(prepared) is _Refused:
            if not record_errors:
                raise prepared.exc
            results[i] = _refused_result(grp.scorer, scan_completion(c), prepared, dt, t, self.opts)
            return
        grp.idx.append(i)
        grp.completions.append(c)
        grp.truths.append(prepared)
        grp.data_types.append(dt)
        grp.tasks.append(t)


def _fields(record: Any) -> tuple[str, Any, str, str | None]:
    """Completion, ground truth, task and data type of a record, any field names."""
    if type(record) is dict:  # unireward's own field names: no alias search
        c, g, t = record.get("completion"), record.get("ground_truth"), record.get("task")
        if type(c) is str and type(t) is str and g is not None:
            dt = record.get("data_type")
            return c, g, t, dt if dt is None or type(dt) is str else str(dt)
    r = normalize_record(record)
    dt = r.get("data_type")
    return r["completion"], r["ground_truth"], r["task"], None if dt is None else str(dt)


def _score_group(
    grp: _Group, scans: list[_Scan], opts: ScoreOptions, results: list[RewardResult | None]
) -> None:
    """Score one group together and compose its results."""
    outs, failed = _outcomes(grp.scorer, [sc[1] for sc in scans], grp.truths, grp.data_types, opts)
    compose = _compose
    for i, sc, task, out in zip(grp.idx, scans, grp.tasks, outs, strict=True):
        results[i] = compose(sc, out, task, opts)
    for j, exc in failed.items():
        results[grp.idx[j]] = _error_result(grp.tasks[j], exc, scans[j][1])


def _outcomes(
    scorer: TaskScorer,
    answers: list[str],
    truths: list[Any],
    data_types: list[str | None],
    opts: ScoreOptions,
) -> tuple[list[TaskOutcome], dict[int, Exception]]:
    """The scorer's outcomes of a group; when the batch raises (and errors are recorded),
    each item is scored alone, and the exceptions of the failing item(s) are returned by
    position (their outcomes are placeholders)."""
    try:
        return scorer.score_many(answers, truths, data_types, opts), {}
    except UniRewardError:
        raise
    except Exception:
        if opts.raise_on_error:
            raise
    outs: list[TaskOutcome] = []
    failed: dict[int, Exception] = {}
    for j, (a, t, d) in enumerate(zip(answers, truths, data_types, strict=True)):
        try:
            outs.append(scorer.score(a, t, data_type=d, options=opts))
        except Exception as exc:
            failed[j] = exc
            outs.append(TaskOutcome(0.0, 0.0))
    return outs, failed


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
        self,
        scored: Sequence[tuple[float, Status, str | None]],
        results: list[RewardResult | None],
        opts: ScoreOptions,
    ) -> None:
        grp = self.grp
        for i, sc, t, (acc, status, reason) in zip(
            grp.idx, self.scans, grp.tasks, scored, strict=True
        ):
            results[i] = _compose(sc, TaskOutcome(float(acc), 0.5, status, reason), t, opts)
