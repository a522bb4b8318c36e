"""The POLAR pair encoding: one string per (prompt, reference, output) triple.

POLAR reward models compare a candidate ``output`` with a ``reference`` answer to the same
``prompt``. Both are written after the prompt, joined by the reward token, and the string ends
with the token whose hidden state the model's value head reads::

    prompt + "\\n" + reference + "<|reward|>" + prompt + "\\n" + output + "[UNUSED_TOKEN_130]"

Truncation follows the client published with POLAR:

1. ``reference`` and ``output`` are each cut to ``max_response_length`` units (4,096). With the
   default ``response_cut_side="left"`` the *end* of the text is kept (units are dropped from
   the left); ``"right"`` keeps the beginning.
2. The text budget is ``max_length - 4`` units (16,380 by default: four tokens are left for the
   two newlines, the reward token and the end token). The prompt appears twice, so it may use
   ``(budget - len(reference) - len(output)) // 2`` units; a longer prompt is cut from the left
   (its end, usually the question itself, is kept).

A *unit* is a token when the encoder is given the POLAR tokenizer (``tokenizer_path``): counts
then include the tokenizer's special tokens (its begin-of-sequence token), and every part is
decoded back with the special tokens skipped, exactly like the published client. Without a
tokenizer a unit is ``chars_per_token`` characters (4 by default), an approximation that never
needs the model's files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from ..errors import ConfigurationError, missing_extra

__all__ = [
    "END_TOKEN",
    "REWARD_TOKEN",
    "PolarEncoder",
    "polar_template",
]

REWARD_TOKEN = "<|reward|>"
"""The token between the reference half and the candidate half of a POLAR input."""

END_TOKEN = "[UNUSED_TOKEN_130]"
"""The token that ends a POLAR input; the reward is read from its hidden state."""

_RESERVED = 4  # two "\n", the reward token and the end token

_Seq = TypeVar("_Seq", str, list[int])


def polar_template(prompt: str, reference: str, output: str) -> str:
    """Join an already truncated triple into the POLAR input string.

    Args:
        prompt: the question (without media placeholders).
        reference: the reference answer.
        output: the candidate answer (the extracted ``<answer>`` text, ``""`` if none).

    Returns:
        ``prompt + "\\n" + reference + "<|reward|>" + prompt + "\\n" + output``, then
        ``"[UNUSED_TOKEN_130]"``.

    >>> polar_template("Q?", "4", "")
    'Q?\\n4<|reward|>Q?\\n[UNUSED_TOKEN_130]'
    """
    return f"{prompt}\n{reference}{REWARD_TOKEN}{prompt}\n{output}{END_TOKEN}"


def _cut(units: _Seq, limit: int, side: str) -> _Seq:
    """Keep at most ``limit`` units, dropping them from ``side``."""
    if len(units) <= limit:
        return units
    return units[-limit:] if side == "left" else units[:limit]


def _fit(prompt: _Seq, reference: _Seq, output: _Seq, *, budget: int, max_response: int,
         side: str) -> tuple[_Seq, _Seq, _Seq]:
    """The truncation rule on unit sequences (characters or token ids)."""
    reference = _cut(reference, max_response, side)
    output = _cut(output, max_response, side)
    max_prompt = (budget - len(reference) - len(output)) // 2
    if len(prompt) > max_prompt:
        prompt = prompt[len(prompt) - max_prompt:]  # keep the end of the prompt
    return prompt, reference, output


class PolarEncoder:
    """Builds POLAR input strings with the reference client's truncation.

    Args:
        tokenizer_path: a local folder with the POLAR tokenizer files. Limits are then counted
            in tokens, exactly as the reference client counts them. Needs the
            ``transformers`` extra; nothing is downloaded (``local_files_only``).
        trust_remote_code: passed to ``AutoTokenizer.from_pretrained``; POLAR-7B's own
            tokenizer files need it. Only set it for a folder you trust.
        max_length: the model's input length; ``max_length - 4`` units are left for text.
        max_response_length: the most units kept of the reference and of the output.
        response_cut_side: ``"left"`` keeps the end of a long answer, ``"right"`` its start.
        chars_per_token: without a tokenizer, how many characters count as one token.
        tokenizer: an already loaded tokenizer (a ``transformers`` tokenizer, e.g. the one a
            trainer hands over) to count in instead of loading one from ``tokenizer_path``;
            it must be callable on a list of texts and have ``batch_decode``.

    Raises:
        ConfigurationError: a limit that leaves no room for the prompt, an unknown cut side,
            both ``tokenizer_path`` and ``tokenizer``, an object that is not a tokenizer, or
            a tokenizer folder that cannot be loaded.
        MissingExtraError: ``tokenizer_path`` was given but ``transformers`` is not installed.

    >>> enc = PolarEncoder(max_length=14, max_response_length=2, chars_per_token=1)
    >>> enc.encode("abcdefgh", "xyz", "uvw")   # budget 10: answers cut to 2, prompt to 3
    'fgh\\nyz<|reward|>fgh\\nvw[UNUSED_TOKEN_130]'
    >>> enc.encode("Q", "R", "O")
    'Q\\nR<|reward|>Q\\nO[UNUSED_TOKEN_130]'
    """

    def __init__(
        self,
        *,
        tokenizer_path: str | os.PathLike[str] | None = None,
        trust_remote_code: bool = False,
        max_length: int = 16384,
        max_response_length: int = 4096,
        response_cut_side: Literal["left", "right"] = "left",
        chars_per_token: int = 4,
        tokenizer: Any = None,
    ) -> None:
        for name, value in (("max_length", max_length),
                            ("max_response_length", max_response_length),
                            ("chars_per_token", chars_per_token)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a positive int, got {value!r}")
        if response_cut_side not in ("left", "right"):
            raise ConfigurationError(
                f"response_cut_side must be 'left' or 'right', got {response_cut_side!r}"
            )
        if max_length - _RESERVED - 2 * max_response_length < 2:
            raise ConfigurationError(
                f"max_length={max_length} leaves no room for the prompt next to two answers of "
                f"max_response_length={max_response_length} (need max_length >= "
                f"2 * max_response_length + {_RESERVED + 2})"
            )
        self.max_length = max_length
        self.max_response_length = max_response_length
        self.response_cut_side = response_cut_side
        self.chars_per_token = chars_per_token
        if tokenizer is not None and tokenizer_path is not None:
            raise ConfigurationError("give either tokenizer_path or tokenizer, not both")
        self.tokenizer_path = None if tokenizer_path is None else os.fspath(tokenizer_path)
        self._tokenizer: Any = _check_tokenizer(tokenizer)
        if self.tokenizer_path is not None:
            self._tokenizer = _load_tokenizer(self.tokenizer_path, trust_remote_code)

    @property
    def tokenizer(self) -> Any:
        """The tokenizer limits are counted with, or ``None`` (characters)."""
        return self._tokenizer

    def with_tokenizer(self, tokenizer: Any) -> PolarEncoder:
        """A copy of this encoder (same limits) that counts with ``tokenizer`` (an already
        loaded one; ``None`` counts characters).

        Raises:
            ConfigurationError: ``tokenizer`` is not callable or has no ``batch_decode``.
        """
        return PolarEncoder(max_length=self.max_length,
                            max_response_length=self.max_response_length,
                            response_cut_side=self.response_cut_side,
                            chars_per_token=self.chars_per_token, tokenizer=tokenizer)

    @property
    def token_exact(self) -> bool:
        """True when limits are counted with the POLAR tokenizer."""
        return self._tokenizer is not None

    def __repr__(self) -> str:
        if self.tokenizer_path is not None:
            unit = f"tokenizer_path={self.tokenizer_path!r}"
        elif self.token_exact:
            unit = f"tokenizer={type(self._tokenizer).__name__}"
        else:
            unit = f"chars_per_token={self.chars_per_token}"
        return (f"PolarEncoder({unit}, max_length={self.max_length}, "
                f"max_response_length={self.max_response_length}, "
                f"response_cut_side={self.response_cut_side!r})")

    def encode(self, prompt: str, reference: str, output: str) -> str:
        """The POLAR input string for one triple (see the module docstring for the rule)."""
        return self.encode_batch([prompt], [reference], [output])[0]

    def encode_batch(self, prompts: Sequence[str], references: Sequence[str],
                     outputs: Sequence[str]) -> list[str]:
        """The POLAR input strings for parallel sequences of prompts, references and outputs.

        Raises:
            ConfigurationError: the three sequences differ in length, or an item is not a str.

        >>> PolarEncoder().encode_batch(["Q"], ["yes"], [""])
        ['Q\\nyes<|reward|>Q\\n[UNUSED_TOKEN_130]']
        """
        n = len(prompts)
        if len(references) != n or len(outputs) != n:
            raise ConfigurationError(
                f"prompts, references and outputs must have the same length, got "
                f"{n}, {len(references)} and {len(outputs)}"
            )
        for field, seq in (("prompts", prompts), ("references", references),
                           ("outputs", outputs)):
            for i, item in enumerate(seq):
                if not isinstance(item, str):
                    raise ConfigurationError(
                        f"{field}[{i}] must be a str, got {type(item).__name__}")
        if self._tokenizer is None:
            return self._encode_chars(prompts, references, outputs)
        return self._encode_tokens(prompts, references, outputs)

    def _encode_chars(self, prompts: Sequence[str], references: Sequence[str],
                      outputs: Sequence[str]) -> list[str]:
        cpt = self.chars_per_token
        budget = (self.max_length - _RESERVED) * cpt
        max_response = self.max_response_length * cpt
        out = []
        for p, r, o in zip(prompts, references, outputs, strict=True):
            p, r, o = _fit(p, r, o, budget=budget, max_response=max_response,
                           side=self.response_cut_side)
            out.append(polar_template(p, r, o))
        return out

    def _encode_tokens(self, prompts: Sequence[str], references: Sequence[str],
                       outputs: Sequence[str]) -> list[str]:
        tok = self._tokenizer
        n = len(prompts)
        if n == 0:
            return []
        ids = tok(list(prompts) + list(references) + list(outputs),
                  add_special_tokens=True)["input_ids"]
        out = []
        for i in range(n):
            p, r, o = _fit(list(ids[i]), list(ids[n + i]), list(ids[2 * n + i]),
                           budget=self.max_length - _RESERVED,
                           max_response=self.max_response_length,
                           side=self.response_cut_side)
            p_text, r_text, o_text = tok.batch_decode([p, r, o], skip_special_tokens=True)
            out.append(polar_template(p_text, r_text, o_text))
        return out


def _check_tokenizer(tokenizer: Any) -> Any:
    if tokenizer is not None and not (
            callable(tokenizer) and callable(getattr(tokenizer, "batch_decode", None))):
        raise ConfigurationError(
            f"tokenizer must be a tokenizer (callable, with batch_decode), "
            f"got {type(tokenizer).__name__}")
    return tokenizer


def _load_tokenizer(path: str, trust_remote_code: bool) -> Any:
    """Load a tokenizer from a local folder (never from a hub)."""
    try:
        from transformers import AutoTokenizer  # noqa: PLC0415 (optional extra)
    except ImportError as exc:
        raise missing_extra("transformers", "transformers") from exc
    if not os.path.isdir(path):
        raise ConfigurationError(f"tokenizer_path {path!r} is not a local folder")
    try:
        return AutoTokenizer.from_pretrained(
            path, local_files_only=True, trust_remote_code=trust_remote_code
        )
    except Exception as exc:  # transformers raises many kinds here
        raise ConfigurationError(
            f"cannot load a tokenizer from {path!r}: {type(exc).__name__}: {exc}"
        ) from exc
