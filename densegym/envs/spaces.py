"""`TextSpace`: a Gymnasium space of arbitrary unicode strings.

Gymnasium's own `Text` space only admits characters from a fixed charset, which cannot describe an
LLM's output (any unicode) or a rendered web page. `TextSpace` subclasses `Text` so that every vector
utility Gymnasium dispatches on `Text` (batching, concatenation, empty arrays) keeps working, but
`contains` accepts any `str` up to `max_length`. The shared-memory functions used by
`AsyncVectorEnv` are registered for `TextSpace` with a UTF-32 code-point layout, so that
`gym.make_vec(..., vectorization_mode="async")` passes any unicode observation through intact.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.spaces import Text
from gymnasium.vector.utils import shared_memory as _shm

# What `sample()` draws from: printable ASCII plus a few non-ASCII letters, so that random samples
# exercise the parsers with markup, whitespace and unicode.
_SAMPLE_CHARS = string.printable + "éßλ中🙂"


class TextSpace(Text):
    """Any Python `str` of at most `max_length` characters (code points).

    Args:
        max_length: the longest string the space contains.
        min_length: the shortest string the space contains (default 0: the empty string is allowed).
        seed: seed for `sample()`.
    """

    def __init__(self, max_length: int = 65_536, *, min_length: int = 0, seed: Any = None):
        super().__init__(max_length=max_length, min_length=min_length, charset=_SAMPLE_CHARS, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        # Short strings are the interesting ones for an env; a uniform length up to 64 Ki is noise.
        if mask is None and probability is None:
            length = int(self.np_random.integers(self.min_length, min(self.max_length, 256) + 1))
            return super().sample(mask=(length, None))
        return super().sample(mask=mask, probability=probability)

    def __repr__(self) -> str:
        return f"TextSpace(max_length={self.max_length}, min_length={self.min_length})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, TextSpace)
            and self.max_length == other.max_length
            and self.min_length == other.min_length
        )


# --- AsyncVectorEnv shared memory: one int32 length then UTF-32 code points per env -----------------


@_shm.create_shared_memory.register(TextSpace)
def _create(space: TextSpace, n: int = 1, ctx: Any = None):
    import multiprocessing as mp

    return (ctx or mp).Array(np.dtype(np.int32).char, n * (space.max_length + 1))


class SharedTexts(Sequence):
    """A live, read-only view of the strings in shared memory.

    ``AsyncVectorEnv`` calls ``read_from_shared_memory`` once and relies on the result staying a view
    of the buffer (true of numpy arrays); decoding on access keeps that promise for text, and
    ``deepcopy`` (what ``AsyncVectorEnv`` returns with ``copy=True``) yields a plain tuple.
    """

    def __init__(self, data: np.ndarray):
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(self)[i]
        row = self._data[i]
        return row[1 : 1 + row[0]].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")

    def __deepcopy__(self, memo: Any) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: Any) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, (Sequence, np.ndarray)) else other)

    def __repr__(self) -> str:
        return f"SharedTexts({tuple(self)!r})"


@_shm.read_from_shared_memory.register(TextSpace)
def _read(space: TextSpace, shared_memory: Any, n: int = 1) -> SharedTexts:
    return SharedTexts(np.frombuffer(shared_memory.get_obj(), dtype=np.int32).reshape((n, space.max_length + 1)))


@_shm.write_to_shared_memory.register(TextSpace)
def _write(space: TextSpace, index: int, value: str, shared_memory: Any) -> None:
    size = space.max_length + 1
    codes = np.frombuffer(value.encode("utf-32-le", "surrogatepass"), dtype="<u4")[: space.max_length]
    dest = np.frombuffer(shared_memory.get_obj(), dtype=np.int32)[index * size : (index + 1) * size]
    dest[0] = len(codes)
    dest[1 : 1 + len(codes)] = codes.astype(np.int32)
