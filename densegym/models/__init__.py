"""Models built offline for tests, the trainer and the CPU demo (needs the ``train`` extra).

:mod:`densegym.models.tiny`: a byte-level BPE tokenizer trained on Sokoban text with Qwen's chat template
and a tiny ``Qwen2ForCausalLM``; nothing is downloaded.
"""

from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer, save_tiny, sokoban_corpus

__all__ = ["build_tiny_model", "build_tiny_tokenizer", "save_tiny", "sokoban_corpus"]
