"""A tiny chat model built offline: a byte-level BPE tokenizer trained on Sokoban text and a small Qwen2.

Nothing is downloaded. The tokenizer is trained in well under a second on a corpus of Sokoban text (its
prompts, its step observations, its error messages and ``<action>up</action>`` answers), so the model sees
short token sequences for the text it will actually meet; byte-level BPE still encodes any other text. The
corpus is frozen in ``data/tokenizer_corpus.json`` (written once by :func:`sokoban_corpus`), so that a change
to the env's wording does not change the vocabulary, and with it every number a tiny model produces. The chat template is Qwen's (``<|im_start|>role\\n...<|im_end|>\\n``), so the
same code path serves the tiny model and a real Qwen checkpoint.

Used by the agent tests, the OpenAI-compatible test server, the trainer's tests and the CPU demo::

    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=0, num_hidden_layers=1)
    save_tiny("/tmp/tiny")                     # then HFAgent.from_pretrained("/tmp/tiny")
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [PAD_TOKEN, IM_START, IM_END]

# Qwen2's template without the tool-calling branches: one turn is
# "<|im_start|>{role}\n{content}<|im_end|>\n"; the generation prompt opens an assistant turn.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

DEFAULT_VOCAB_SIZE = 1024

# Small enough that a forward pass over a Sokoban prompt takes milliseconds on one CPU core.
DEFAULT_CONFIG: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
}


def sokoban_corpus(episodes: int = 12, turns: int = 6, seed: int = 0) -> list[str]:
    """Text the tiny model will meet in Sokoban: prompts, observations, answers, in chat-template form (what
    ``data/tokenizer_corpus.json`` was written from).

    Episodes mix oracle moves, random moves and malformed answers, so that success messages, illegal-move
    messages and format errors are all in the corpus.
    """
    import gymnasium as gym

    import densegym  # noqa: F401  (registers the ids)

    rng = np.random.default_rng(seed)
    moves = ("up", "down", "left", "right")
    texts: list[str] = []
    env = gym.make("densegym/Sokoban-v0")
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            texts.append(f"{IM_START}user\n{obs}{IM_END}\n{IM_START}assistant\n")
            for _ in range(turns):
                roll = rng.random()
                if roll < 0.5:
                    action = env.unwrapped.oracle_action()
                elif roll < 0.85:
                    action = f"<action>{moves[int(rng.integers(4))]}</action>"
                else:
                    action = str(rng.choice(["up", "<action></action>", "<action>jump</action>"]))
                obs, _, terminated, truncated, _ = env.step(action)
                texts.append(f"{action}{IM_END}\n{IM_START}user\n{obs}{IM_END}\n{IM_START}assistant\n")
                if terminated or truncated:
                    break
    finally:
        env.close()
    # every answer form, so that each is a handful of tokens
    texts += [f"<action>{m}</action>{IM_END}\n" for m in moves] * 8
    texts.append("system\nYou are a helpful assistant.")
    return texts


CORPUS_FILE = Path(__file__).resolve().parent / "data" / "tokenizer_corpus.json"


def frozen_corpus() -> list[str]:
    """The tokenizer's training text: :func:`sokoban_corpus` as it read when the file was written. Rewrite
    the file (``json.dump(sokoban_corpus(), ...)``) only together with every snapshot of tiny-model numbers
    (the estimators' golden metrics, the README's demo table)."""
    return json.loads(CORPUS_FILE.read_text(encoding="utf-8"))


# Qwen2's pre-tokenizer split (transformers' Qwen2Tokenizer). Training with Qwen2's exact pipeline matters:
# AutoTokenizer loads a saved qwen2 checkpoint as Qwen2Tokenizer, which rebuilds that pipeline around the
# saved vocab and merges, so a tokenizer trained any other way would encode differently after a reload.
_QWEN2_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


@functools.lru_cache(maxsize=4)
def _trained_vocab(vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Train the BPE once per process (deterministic for a given corpus); return its vocab and merges."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    try:  # the very pattern Qwen2Tokenizer will rebuild around our vocabulary when the model is reloaded
        from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX as split
    except ImportError:
        split = _QWEN2_SPLIT

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(split), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: any text can be encoded
        show_progress=False,
    )
    tok.train_from_iterator(frozen_corpus(), trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return dict(model["vocab"]), merges


def build_tiny_tokenizer(vocab_size: int = DEFAULT_VOCAB_SIZE):
    """A fast tokenizer (transformers' ``Qwen2Tokenizer``, a ``PreTrainedTokenizerFast``) with Qwen's chat
    template; eos ``<|im_end|>``, pad ``<|endoftext|>``, padding on the left as batched generation needs.

    The vocabulary is as large as the corpus supports, at most ``vocab_size``.
    """
    from transformers import Qwen2Tokenizer

    vocab, merges = _trained_vocab(vocab_size)
    tokenizer = Qwen2Tokenizer(
        vocab=dict(vocab),
        merges=list(merges),
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        unk_token=None,
        additional_special_tokens=[IM_START],
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(tokenizer=None, seed: int = 0, **config_overrides: Any):
    """A randomly initialised ``Qwen2ForCausalLM`` sized for ``tokenizer`` (float32, eval mode).

    ``seed`` fixes the weights without touching the global torch RNG. ``config_overrides`` go to
    ``Qwen2Config`` (``num_hidden_layers=1``, ``hidden_size=32``, ``attn_implementation="eager"`` ...).
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = tokenizer if tokenizer is not None else build_tiny_tokenizer()
    eos = tokenizer.convert_tokens_to_ids(IM_END)
    pad = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    options = {**DEFAULT_CONFIG, **config_overrides}
    attn = options.pop("attn_implementation", "sdpa")
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        bos_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
        **options,
    )
    config._attn_implementation = attn
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
    # generate() stops at <|im_end|> and pads with <|endoftext|> without being told
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = pad
    model.generation_config.bos_token_id = pad
    return model.eval()


def save_tiny(path: str | Path, seed: int = 0, **config_overrides: Any) -> Path:
    """Write a tiny model and its tokenizer to ``path`` (loadable with ``AutoModelForCausalLM``/``AutoTokenizer``
    and ``HFAgent.from_pretrained(path)``) and return the path."""
    path = Path(path)
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=seed, **config_overrides)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
