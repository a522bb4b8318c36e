"""The POLAR pair encoding and its truncation (character budget and token-exact)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unireward.errors import ConfigurationError, MissingExtraError
from unireward.remote import END_TOKEN, REWARD_TOKEN, PolarEncoder, polar_template


def spec_string(prompt: str, reference: str, output: str) -> str:
    """The encoding exactly as the specification writes it."""
    return prompt + "\n" + reference + "<|reward|>" + prompt + "\n" + output + "[UNUSED_TOKEN_130]"


def test_tokens_are_the_polar_ones() -> None:
    assert REWARD_TOKEN == "<|reward|>"
    assert END_TOKEN == "[UNUSED_TOKEN_130]"


@pytest.mark.parametrize(
    ("prompt", "reference", "output"),
    [
        ("Describe the video.", "The man is cooking pasta in a kitchen.", "A man cooks pasta."),
        ("Describe the video.", "The man is cooking pasta in a kitchen.", ""),
        ("", "", ""),
        ("multi\nline", "ref\n", "\nout"),
        ("ünïcödé 中文", "参考", "输出 🙂"),
    ],
)
def test_short_triples_follow_the_spec_template(prompt: str, reference: str, output: str) -> None:
    expected = spec_string(prompt, reference, output)
    assert polar_template(prompt, reference, output) == expected
    assert PolarEncoder().encode(prompt, reference, output) == expected


def test_default_character_budget_by_hand() -> None:
    # 4 chars/token: answers keep 4,096 * 4 = 16,384 chars; text budget (16,384 - 4) * 4 =
    # 65,520 chars, so the prompt keeps (65,520 - 2 * 16,384) // 2 = 16,376 chars.
    prompt = "".join(chr(ord("a") + i % 26) for i in range(20_000))
    reference = "#" * 10 + "r" * 19_990
    output = "@" * 7 + "o" * 19_993
    got = PolarEncoder().encode(prompt, reference, output)
    p, r, o = prompt[-16_376:], reference[-16_384:], output[-16_384:]
    assert got == spec_string(p, r, o)
    assert "#" not in got and "@" not in got  # the starts were cut (response_cut_side="left")


def test_right_cut_side_keeps_the_start_of_answers() -> None:
    enc = PolarEncoder(max_length=14, max_response_length=2, chars_per_token=1,
                       response_cut_side="right")
    # budget 10; answers 2 chars each; prompt (10 - 4) // 2 = 3 chars from its end
    assert enc.encode("abcdefgh", "xyz", "uvw") == spec_string("fgh", "xy", "uv")


def test_prompt_budget_uses_the_truncated_answer_lengths() -> None:
    enc = PolarEncoder(max_length=24, max_response_length=5, chars_per_token=1)
    # budget 20; reference 1 char, output cut to 5 -> prompt (20 - 1 - 5) // 2 = 7 chars
    assert enc.encode("0123456789", "r", "ABCDEFGHIJ") == spec_string("3456789", "r", "FGHIJ")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=30), st.text(max_size=30),
       st.integers(1, 6), st.sampled_from(["left", "right"]))
def test_truncation_properties(prompt: str, reference: str, output: str, max_resp: int,
                               side: str) -> None:
    enc = PolarEncoder(max_length=2 * max_resp + 4 + 10, max_response_length=max_resp,
                       chars_per_token=1, response_cut_side=side)  # type: ignore[arg-type]
    got = enc.encode(prompt, reference, output)
    budget = 2 * max_resp + 10
    r = reference[-max_resp:] if side == "left" else reference[:max_resp]
    o = output[-max_resp:] if side == "left" else output[:max_resp]
    r = reference if len(reference) <= max_resp else r
    o = output if len(output) <= max_resp else o
    keep = (budget - len(r) - len(o)) // 2
    p = prompt if len(prompt) <= keep else prompt[len(prompt) - keep:]
    assert got == spec_string(p, r, o)
    assert 2 * len(p) + len(r) + len(o) <= budget


def test_encode_batch_checks_lengths_and_types() -> None:
    enc = PolarEncoder()
    with pytest.raises(ConfigurationError, match="same length"):
        enc.encode_batch(["a", "b"], ["r"], ["o", "o"])
    with pytest.raises(ConfigurationError, match=r"outputs\[0\]"):
        enc.encode_batch(["a"], ["r"], [None])  # type: ignore[list-item]
    assert enc.encode_batch([], [], []) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_length": 0},
        {"max_response_length": -1},
        {"chars_per_token": 0},
        {"max_length": True},
        {"response_cut_side": "middle"},
        {"max_length": 8196, "max_response_length": 4096},  # no room left for the prompt
    ],
)
def test_bad_encoder_options_raise(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        PolarEncoder(**kwargs)


def test_tokenizer_without_transformers_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes the import fail
    with pytest.raises(MissingExtraError, match=r"unireward\[transformers\]"):
        PolarEncoder(tokenizer_path=str(tmp_path))


# -- token-exact truncation with a tiny tokenizer built here ------------------------------------

WORDS = [f"w{i}" for i in range(100)]


@pytest.fixture(scope="module")
def tiny_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A word-level tokenizer (one token per word, plus a begin-of-sequence token <s>)."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    vocab = {"[UNK]": 0, "<s>": 1} | {w: i + 2 for i, w in enumerate(WORDS)}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    tok.post_processor = tokenizers.processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", 1)])
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>",
                                                unk_token="[UNK]")
    path = tmp_path_factory.mktemp("tiny_tok")
    fast.save_pretrained(str(path))
    return path


def words(lo: int, hi: int) -> str:
    return " ".join(WORDS[lo:hi])


@pytest.mark.parametrize(
    ("side", "expected_output"),
    # the output "w50 .. w59" is 11 tokens with <s>; 6 are kept
    [("left", words(54, 60)), ("right", words(50, 55))],
)
def test_token_exact_truncation_by_hand(tiny_tokenizer_dir: Path, side: str,
                                        expected_output: str) -> None:
    enc = PolarEncoder(tokenizer_path=str(tiny_tokenizer_dir), max_length=30,
                       max_response_length=6, response_cut_side=side)  # type: ignore[arg-type]
    assert enc.token_exact
    # budget 26 tokens; reference "w40 .. w44" is 6 tokens with <s>, the output 6 after the
    # cut, so the prompt keeps (26 - 6 - 6) // 2 = 7 tokens: its last seven words.
    got = enc.encode(words(0, 30), words(40, 45), words(50, 60))
    assert got == spec_string(words(23, 30), words(40, 45), expected_output)


def test_token_exact_without_truncation_round_trips(tiny_tokenizer_dir: Path) -> None:
    enc = PolarEncoder(tokenizer_path=str(tiny_tokenizer_dir))
    got = enc.encode_batch([words(0, 3), words(5, 6)], [words(10, 12), ""], [words(20, 21), ""])
    assert got == [spec_string(words(0, 3), words(10, 12), words(20, 21)),
                   spec_string(words(5, 6), "", "")]


def test_token_exact_counts_the_special_token(tiny_tokenizer_dir: Path) -> None:
    # a 6-word output is 7 tokens with <s>: over a limit of 6, so keeping the start drops
    # its last word
    enc = PolarEncoder(tokenizer_path=str(tiny_tokenizer_dir), max_length=40,
                       max_response_length=6, response_cut_side="right")
    assert enc.encode("w0", "w1", words(10, 16)).endswith("\n" + words(10, 15) + END_TOKEN)
    assert enc.encode("w0", "w1", words(10, 15)).endswith("\n" + words(10, 15) + END_TOKEN)


def test_bad_tokenizer_folder_raises(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    with pytest.raises(ConfigurationError, match="not a local folder"):
        PolarEncoder(tokenizer_path=str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="cannot load a tokenizer"):
        PolarEncoder(tokenizer_path=str(tmp_path))  # an empty folder


# -- an already loaded tokenizer (what a trainer hands over) ------------------------------------

def test_a_loaded_tokenizer_counts_like_its_folder(tiny_tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(str(tiny_tokenizer_dir), local_files_only=True)
    enc = PolarEncoder(tokenizer=loaded, max_length=30, max_response_length=6)
    assert enc.token_exact and enc.tokenizer is loaded and enc.tokenizer_path is None
    # the same cut as test_token_exact_truncation_by_hand (left side)
    got = enc.encode(words(0, 30), words(40, 45), words(50, 60))
    assert got == spec_string(words(23, 30), words(40, 45), words(54, 60))
    # with_tokenizer keeps the limits and swaps the unit
    chars = PolarEncoder(max_length=30, max_response_length=6, chars_per_token=1)
    swapped = chars.with_tokenizer(loaded)
    assert swapped.encode(words(0, 30), words(40, 45), words(50, 60)) == got
    assert not chars.token_exact  # the original is unchanged
    assert not swapped.with_tokenizer(None).token_exact
    assert "tokenizer=" in repr(enc)
    legacy = PolarEncoder(max_length=30, max_response_length=6)
    legacy._tokenizer = loaded  # the former way, kept working
    assert legacy.encode(words(0, 30), words(40, 45), words(50, 60)) == got


def test_a_loaded_tokenizer_reaches_the_client(tiny_tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    from unireward.remote import PolarClient

    loaded = AutoTokenizer.from_pretrained(str(tiny_tokenizer_dir), local_files_only=True)
    with PolarClient(base_url="http://rm.test", tokenizer=loaded) as rm:
        assert rm.encoder.tokenizer is loaded
    with pytest.raises(ConfigurationError, match="not"):
        PolarClient(base_url="http://rm.test", tokenizer=loaded, encoder=PolarEncoder())


@pytest.mark.parametrize("bad", ["a string", 3, object()])
def test_an_object_that_is_not_a_tokenizer_is_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="tokenizer must be a tokenizer"):
        PolarEncoder(tokenizer=bad)
    with pytest.raises(ConfigurationError, match="tokenizer must be a tokenizer"):
        PolarEncoder().with_tokenizer(bad)


def test_tokenizer_and_its_folder_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        PolarEncoder(tokenizer_path=str(tmp_path), tokenizer=object())
