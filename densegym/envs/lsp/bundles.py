"""Analysis bundles: every server answer normalised, with a stable content hash.

Normalising removes what varies between runs of the same request (documentation links, result ids,
absolute temp paths, ``data`` payloads), turns ranges into flat ``[sL, sC, eL, eC]`` lists, and sorts
location lists by ``(uri, sL, sC, eL, eC)`` as the Lanser-CLI bundle does. The bundle id is the SHA-256 of
the canonical JSON (sorted keys, no whitespace, UTF-8: RFC 8785's JCS for the integers, strings and
lists these bundles hold), so an episode replays to the same ids and the same rewards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from lsprotocol import types as T

from densegym.envs.lsp.client import SEVERITY

BUNDLE_VERSION = "pr-v1"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def flat_range(r: T.Range) -> list[int]:
    return [r.start.line, r.start.character, r.end.line, r.end.character]


def diagnostic_fact(rel: str, d: T.Diagnostic) -> dict[str, Any]:
    return {
        "file": rel,
        "range": flat_range(d.range),
        "severity": SEVERITY.get(int(d.severity or 1), "error"),
        "rule": str(d.code) if d.code is not None else "",
        "message": d.message,
    }


def diagnostic_key(f: dict[str, Any]) -> tuple:
    return (f["file"], *f["range"], f["severity"], f["rule"], f["message"])


def sorted_diagnostics(facts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(facts, key=diagnostic_key)


def location_facts(locations: Any, rel_of: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Locations / LocationLinks -> sorted ``{"file", "range"}``; places outside the workspace keep only the file name."""
    if locations is None:
        return []
    if not isinstance(locations, (list, tuple)):
        locations = [locations]
    out = []
    for loc in locations:
        uri = getattr(loc, "uri", None) or getattr(loc, "target_uri", None)
        rng = getattr(loc, "range", None) or getattr(loc, "target_selection_range", None)
        rel = rel_of(uri) if uri else None
        out.append({"file": rel if rel is not None else "<outside>/" + uri.rsplit("/", 1)[-1], "range": flat_range(rng)})
    return sorted(out, key=lambda f: (f["file"], *f["range"]))


def hover_fact(hover: T.Hover | None) -> dict[str, Any]:
    if hover is None:
        return {"text": ""}
    contents = hover.contents
    if isinstance(contents, T.MarkupContent):
        text = contents.value
    elif isinstance(contents, (list, tuple)):
        text = "\n".join(c if isinstance(c, str) else c.value for c in contents)
    else:
        text = contents if isinstance(contents, str) else contents.value
    return {"text": text, "range": flat_range(hover.range) if hover.range else None}


def make_bundle(
    request: dict[str, Any],
    facts: Any,
    *,
    resolution: dict[str, Any] | None = None,
    edits: dict[str, Any] | None = None,
    environment: dict[str, Any] | None = None,
    process_reward: dict[str, Any] | None = None,
    status: str = "ok",
) -> dict[str, Any]:
    """A Lanser-CLI style analysis bundle; ``bundleId`` is the content hash of every field but ``processReward``."""
    body = {
        "version": BUNDLE_VERSION,
        "status": status,
        "request": request,
        "resolution": resolution or {},
        "facts": facts,
        "edits": edits or {},
        "environment": environment or {},
        "meta": {"sorting_keys": ["file", "sL", "sC", "eL", "eC"]},
    }
    bundle = {**body, "bundleId": content_hash(body)}
    if process_reward is not None:
        bundle["processReward"] = process_reward
    return bundle
