"""Agent specs: one string names an agent, as written on the command line and in configs.

Accepted forms::

    oracle                          the env's own oracle_action() (an upper baseline)
    random                          a uniformly random well-formed action (a lower baseline)
    hf:PATH                         a transformers model directory (or a hub id already in the cache)
    openai:URL#MODEL                an OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1#Qwen3-0.6B
    openai:URL                      the same, with the model name given as the ``model`` option (--model)
    vllm:PATH                       vLLM (GPU) on a model directory or id

One string keeps a command line short and lets configs name an agent the same way; the model name of an
OpenAI server goes after ``#`` because a URL never needs a fragment when it is a ``base_url``.

Model libraries are imported only when a spec needs them, so ``make_agent("oracle")`` stays cheap.
"""

from __future__ import annotations

import os
from typing import Any

FORMS = (
    "oracle",
    "random",
    "hf:PATH",
    "openai:URL#MODEL (or openai:URL with --model MODEL)",
    "vllm:PATH",
)


def _bad(spec: str, why: str) -> ValueError:
    return ValueError(f"agent spec {spec!r}: {why}; accepted forms: {', '.join(FORMS)}")


def make_agent(spec: str, **options: Any) -> Any:
    """Build the agent that ``spec`` names (see the module docstring for the forms).

    ``options`` go to the agent's constructor: ``seed`` for every agent, and ``temperature``,
    ``max_new_tokens``, ``top_p``, ``system_prompt`` ... for model agents (``device`` and ``dtype`` for
    ``hf:``, ``model`` and ``api_key`` for ``openai:``; ``api_key`` defaults to ``$OPENAI_API_KEY``).
    Options set to ``None`` are dropped, so a command line can pass every flag it has. An option the agent
    does not take is a ``ValueError`` rather than silently ignored (``--temperature`` with ``oracle`` would
    otherwise look like it changed something).
    """
    options = {k: v for k, v in options.items() if v is not None}
    kind, sep, target = spec.partition(":")
    if not sep:
        if kind in ("oracle", "random"):
            from densegym.agents.scripted import make_scripted_agent

            unused = sorted(set(options) - {"seed"})
            if unused:
                raise _bad(spec, f"a scripted agent takes only a seed, not {', '.join(unused)}")
            return make_scripted_agent(kind, seed=options.get("seed"))
        raise _bad(spec, "unknown agent")
    if not target:
        raise _bad(spec, f"{kind}: needs a target after the colon")
    if kind == "hf":
        path = os.path.expanduser(target)
        if path.startswith((os.sep, ".")) and not os.path.isdir(path):  # a path, not a hub id
            raise _bad(spec, f"no model directory at {path}")
        from densegym.agents.hf import HFAgent

        return _construct(spec, HFAgent.from_pretrained, path, options)
    if kind == "vllm":
        from densegym.agents.vllm import VLLMAgent

        return _construct(spec, VLLMAgent, target, options)
    if kind == "openai":
        from densegym.agents.openai_compat import OpenAIAgent

        url, _, model = target.rpartition("#") if "#" in target else (target, "", "")
        given = options.pop("model", None)
        if model and given and model != given:
            raise _bad(spec, f"the model is named twice ({model!r} in the spec, {given!r} as an option)")
        model = model or given
        if not model:
            raise _bad(spec, "an OpenAI-compatible server needs a model name")
        options.setdefault("api_key", os.environ.get("OPENAI_API_KEY") or None)
        return _construct(spec, OpenAIAgent, url, {"model": model, **options})
    raise _bad(spec, f"unknown agent kind {kind!r}")


def _construct(spec: str, factory: Any, target: str, options: dict[str, Any]) -> Any:
    """``factory(target, **options)``, with an option the agent does not take reported against the spec."""
    try:
        return factory(target, **options)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise _bad(spec, f"option not accepted by this agent ({exc})") from None
        raise
