"""What a training run says while it works, on stderr: a progress bar per long phase when someone watches (stderr is
a terminal), one line per phase otherwise (a log file, CI), nothing at all with ``progress: false``.

    report = Progress(config.progress)       # None: bars on a terminal, lines elsewhere; True: bars; False: quiet
    with report.phase("step 3/40: collect 32 episodes") as phase:
        ...                                  # line mode: "step 3/40: collect 32 episodes ... 5.1 s"
    with report.phase("warm start: SFT", total=120, unit="batch") as phase:
        phase.update(1, loss=0.31)           # a bar on a terminal; the same single line otherwise

tqdm is imported lazily; without it, bar mode falls back to the lines.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


class Phase:
    """One running phase: ``update(n, **postfix)`` advances its bar (no-op in line mode); ``note`` is appended to
    its closing line (``"... 5.1 s (success 0.25)"``)."""

    def __init__(self, bar: Any = None):
        self.bar = bar
        self.note = ""

    def update(self, n: int = 1, **postfix: Any) -> None:
        if self.bar is not None:
            if postfix:
                self.bar.set_postfix({k: f"{v:.3f}" if isinstance(v, float) else v for k, v in postfix.items()},
                                     refresh=False)
            self.bar.update(n)


class Progress:
    """``setting`` is a config's ``progress``: ``None`` (bars when stderr is a terminal, else lines), ``True``
    (bars), ``False`` (silent). Only the main process of a distributed run reports."""

    def __init__(self, setting: bool | None, *, main: bool | None = None):
        if main is None:
            main = int(os.environ.get("RANK", "0") or 0) == 0
        self.quiet = setting is False or not main
        self.bars = not self.quiet and (_stderr_is_terminal() if setting is None else bool(setting))
        self._tqdm = None
        if self.bars:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # tqdm comes with the train extra; plain lines without it
                self.bars = False
            else:
                self._tqdm = tqdm
        self.main = main

    def say(self, text: str) -> None:
        """One line on stderr (unless quiet)."""
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def notice(self, text: str) -> None:
        """One line on stderr even with ``progress: false`` (what was removed, what is resumed): the main process's."""
        if self.main:
            print(text, file=sys.stderr, flush=True)

    @contextmanager
    def phase(self, label: str, *, total: int | None = None, unit: str = "it",
              drawn: bool = False) -> Iterator[Phase]:
        """Time the block: ``label ...`` when it starts and `` T s`` on the same line when it ends; with bars and
        a ``total``, a bar while it runs instead, then the whole line. ``drawn``: the block draws its own bar
        (:func:`densegym.rollout.collect`), so with bars only the whole line is printed, at the end."""
        if self.quiet:
            yield Phase()
            return
        bar = None
        whole_line = self.bars and (bool(total) or drawn)
        if self.bars and total:
            bar = self._tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=False)
        elif not whole_line:
            print(f"{label} ...", end="", file=sys.stderr, flush=True)
        phase = Phase(bar)
        t0 = time.perf_counter()
        try:
            yield phase
        except BaseException:
            if bar is not None:
                bar.close()
            print(f"{label} ... failed" if whole_line else " failed", file=sys.stderr, flush=True)
            raise
        took = f" {_seconds(time.perf_counter() - t0)}" + (f" ({phase.note})" if phase.note else "")
        if bar is not None:
            bar.close()
        if whole_line:
            print(f"{label} ...{took}", file=sys.stderr, flush=True)
        else:
            print(took, file=sys.stderr, flush=True)


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
