"""The tiny model's tokenizer is trained on a frozen corpus: env wording cannot move tiny-model numbers."""

from __future__ import annotations

import hashlib
import json

import pytest

pytest.importorskip("tokenizers", reason="the tiny model needs the train extra: pip install 'densegym[train]'")

from densegym.models import tiny  # noqa: E402


def test_the_vocabulary_is_the_frozen_one():
    vocab, merges = tiny._trained_vocab(tiny.DEFAULT_VOCAB_SIZE)
    digest = hashlib.sha256(json.dumps([sorted(vocab.items()), merges]).encode()).hexdigest()[:16]
    # The golden estimator metrics and the README's demo table were measured with this vocabulary; a new
    # corpus must come with both re-measured.
    assert (len(vocab), digest) == (648, "4ce671d84f00dbe6")


def test_the_tokenizer_does_not_read_the_env(monkeypatch):
    tiny._trained_vocab.cache_clear()
    monkeypatch.setattr(tiny, "sokoban_corpus", lambda *a, **k: pytest.fail("the corpus must come from the file"))
    try:
        vocab, _ = tiny._trained_vocab(tiny.DEFAULT_VOCAB_SIZE)
        assert len(vocab) == 648
    finally:
        tiny._trained_vocab.cache_clear()
