"""``MarkerEnv``: LetterEnv that touches a file when it is constructed, so that a test can tell whether a
command got as far as creating an env (an EnvPool worker imports this module by name)."""

from __future__ import annotations

from pathlib import Path

from tests.trainers.envs import LetterEnv


class MarkerEnv(LetterEnv):
    def __init__(self, marker: str, **kwargs):
        Path(marker).touch()
        super().__init__(**kwargs)
