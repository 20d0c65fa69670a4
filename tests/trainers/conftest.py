"""Fixtures shared by the trainer tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_torch_thread():
    """One torch thread: the tiny models gain nothing from more, and results stay the same on any machine."""
    torch = pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
