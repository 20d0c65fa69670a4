"""Search env: retrieval and step latency against peers measured in the same run, and memory per worker.

    python -m benchmarks.bench_search [--quick] [--docs 50000,1000000] [--json FILE] [--sections ...]

Sections (``--sections bm25,env,dense,dense-parts,skyrl,memory``; all but ``dense-parts`` by default):

* **bm25**: query latency of densegym's bm25s index against ``rank_bm25`` (``BM25Okapi``) on the *same*
  corpus (the generated world at each ``--docs`` size), the *same* tokens (``densegym.envs.search.text
  .tokenize``) and the *same* queries (the world's questions, one query per call as an env makes them; then
  all queries in one batched call). Both return the top 10 (the same ``top_k``). Medians in ms; the ratio is
  rank_bm25 / bm25s (goal: >= 10x). Index build times beside them. ``rank_bm25`` is skipped above
  ``--rank-bm25-max-docs`` (its per-document dicts take several GB at 1M documents; the table says so).
* **env**: ``SearchQAEnv`` ``reset`` and a ``<search>`` step (bm25s, top 3) at each size.
* **dense**: bm25s, dense (all-MiniLM-L6-v2 + FAISS) and hybrid (RRF) query latency and hit@10 end to end on
  one smaller world (``--dense-docs``, default 5,000: embedding the corpus on a CPU is the slow part and is
  reported; ``--device cuda`` embeds on a GPU, and the cached index then serves the CPU runs too).
* **dense-parts**: dense and hybrid latency by parts at each ``--docs`` size, without embedding the corpus
  (:func:`bench_dense_parts`): timing only.
* **skyrl**: densegym's step against SkyRL-gym's ``SearchEnv`` step, both pointed at the *same* retrieval
  server (``densegym serve-retriever``, in its own process, the first ``--docs`` size) with the same
  queries, calls alternating; and densegym's step on its in-process index beside them.
* **memory**: 8 envs in 2 worker processes (4 each, spawned), once with the index shared and memory-mapped
  (arrays and vocabulary; one per worker, the default) and once with one in-memory index copy per env: each
  worker's growth in RSS, PSS (shared pages divided among the processes that map them) and USS (private
  pages) while making its envs and running a search on each, summed over the workers, at the last ``--docs``
  size. The world's question tables, built once per worker either way, are made before the baseline.

Install the peers with ``pip install rank_bm25`` and, for SkyRL-gym, ``pip install -r
benchmarks/requirements-sql.txt && pip install --no-deps skyrl-gym==0.4.0``. A peer that is missing is
reported as such. Every figure moves with machine load; the ratios, measured call by call alternating, less.

Measured (2026-11-30 at ``f8809f4``, the 2-core machine these notes were written on, otherwise idle, Python
3.11.7, bm25s 0.3.16, rank_bm25 0.2.2, skyrl-gym 0.4.0, faiss-cpu 1.15.1; ``--docs 50000 --sections
bm25,env,dense-parts,skyrl,memory``, then ``--docs 1000000`` with the same sections and ``--queries 50
--rank-bm25-max-docs 1000000``; the reports are ``benchmarks/results/search-2026-11-30-{50k,1m}.json``):

==============================================  ===========  =============
                                                50,000 docs  1,000,000 docs
==============================================  ===========  =============
bm25s query, top 10 (median)                    0.48 ms      4.5 ms
rank_bm25 query, same corpus and tokens         86.7 ms      1,480.7 ms
rank_bm25 / bm25s                               182x         329x
top-1 agreement of the two                      0.99         0.98
SearchQAEnv search step (top 3)                 0.37 ms      6.3 ms
SearchQAEnv reset                               0.12 ms      0.46 ms
step over HTTP, one serve-retriever: densegym   0.89 ms      8.2 ms
  SkyRL-gym SearchEnv, same server              1.28 ms      8.8 ms
  SkyRL-gym / densegym                          1.45x        1.08x
dense by parts: query embedding                 18.6 ms      17.5 ms
  + FAISS flat search                           13.5 ms      149.5 ms
  = dense / + bm25s at depth 20 = hybrid        32.0/32.8    166.7/173.6 ms
memory, 8 envs / 2 workers, PSS:
  shared memory-mapped index                    6.1 MiB      108.1 MiB
  one in-memory index per env                   111.9 MiB    1,986.3 MiB
  ratio                                         18.3x        18.4x
==============================================  ===========  =============

The bm25s index of a million documents builds in about 3 minutes on first use (183 s measured earlier).
Dense end to end on 5,000 documents (CPU): 27.5 ms a query (the encoder), hybrid 28.5 ms, bm25s 0.32 ms; a gold
document in the top 10 for 98% / 100% / 100% of the questions; embedding the 5,000 documents took 294 s. Dense
at a million documents has not been measured end to end (embedding them would take about 22 hours here): see
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from densegym.envs.search.env import SearchQAEnv, shared_world, world_corpus
from densegym.envs.search.retrievers import BM25Retriever, top_k
from densegym.envs.search.text import tokenize

K = 10


def _settle() -> None:
    """Collect, then freeze the heap built so far (indexes, models, imports), so that the garbage collector's
    full passes during the timed calls do not walk it: they would charge whichever library allocated last."""
    gc.collect()
    gc.freeze()


def _median_ms(times: list[float]) -> float:
    return 1000 * statistics.median(times) if times else float("nan")


def _queries(num_docs: int, count: int, cache: Path) -> list[str]:
    world = shared_world(num_docs, 0, cache)
    return [world.question(i).question for i in range(count)]


# ---- bm25s against rank_bm25 ------------------------------------------------------------------------------


def bench_bm25(num_docs: int, n_queries: int, cache: Path, rank_max: int) -> dict[str, Any]:
    started = time.perf_counter()
    corpus = world_corpus(num_docs, 0, cache)
    corpus_s = time.perf_counter() - started
    started = time.perf_counter()
    bm25s = BM25Retriever(corpus, cache_dir=cache / "index")
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    BM25Retriever(corpus, cache_dir=cache / "index")
    load_s = time.perf_counter() - started
    queries = _queries(num_docs, n_queries, cache)
    row: dict[str, Any] = {"docs": num_docs, "queries": len(queries), "corpus_build_s": corpus_s,
                           "bm25s_build_s": build_s, "bm25s_built": bm25s.built, "bm25s_load_s": load_s}  # fmt: skip
    rank = None
    if num_docs <= rank_max:
        try:
            from rank_bm25 import BM25Okapi
        except ImportError:
            row["rank_bm25"] = "not installed (pip install rank_bm25)"
        else:
            started = time.perf_counter()
            rank = BM25Okapi([tokenize(t) for t in corpus.search_texts()])
            row["rank_bm25_build_s"] = time.perf_counter() - started
    else:
        row["rank_bm25"] = f"skipped above {rank_max:,} documents (--rank-bm25-max-docs)"
    ours: list[float] = []
    theirs: list[float] = []
    agree = 0
    _settle()
    for q in queries:
        start = time.perf_counter()
        hits = bm25s.search([q], K)[0]
        ours.append(time.perf_counter() - start)
        if rank is not None:
            start = time.perf_counter()
            top, _ = top_k(rank.get_scores(tokenize(q)), K)
            theirs.append(time.perf_counter() - start)
            agree += bool(hits) and top.size > 0 and corpus.doc_id(int(top[0])) == hits[0].doc_id
    row["bm25s_ms"] = _median_ms(ours)
    start = time.perf_counter()
    bm25s.search(queries, K)
    row["bm25s_batch_qps"] = len(queries) / (time.perf_counter() - start)
    if rank is not None:
        row["rank_bm25_ms"] = _median_ms(theirs)
        row["ratio"] = row["rank_bm25_ms"] / row["bm25s_ms"]
        row["top1_agreement"] = agree / len(queries)
    return row


# ---- the env ----------------------------------------------------------------------------------------------


def bench_env(num_docs: int, n: int, cache: Path) -> dict[str, Any]:
    env = SearchQAEnv(num_docs=num_docs, cache_dir=cache, max_turns=10**9)
    resets, steps = [], []
    queries = _queries(num_docs, n, cache)
    env.reset(options={"task": 0})
    _settle()
    for i, q in enumerate(queries):
        start = time.perf_counter()
        env.reset(options={"task": i})
        resets.append(time.perf_counter() - start)
        start = time.perf_counter()
        env.step(f"<think>look it up</think><search>{q}</search>")
        steps.append(time.perf_counter() - start)
    return {"docs": num_docs, "reset_ms": _median_ms(resets), "step_ms": _median_ms(steps), "n": len(queries)}


# ---- dense and hybrid -------------------------------------------------------------------------------------


def bench_dense(num_docs: int, n: int, cache: Path, device: str = "cpu") -> dict[str, Any]:
    try:
        from densegym.envs.search.dense import DenseRetriever, HybridRetriever
    except ImportError as exc:
        return {"docs": num_docs, "error": str(exc)}
    corpus = world_corpus(num_docs, 0, cache)
    bm25 = BM25Retriever(corpus, cache_dir=cache / "index")
    try:
        start = time.perf_counter()
        dense = DenseRetriever(corpus, cache_dir=cache / "index", device=device)
        build_s = time.perf_counter() - start
    except ImportError as exc:
        return {"docs": num_docs, "error": str(exc)}
    hybrid = HybridRetriever([bm25, dense])
    queries = _queries(num_docs, n, cache)
    times: dict[str, list[float]] = {"bm25": [], "dense": [], "hybrid": []}
    recall: dict[str, int] = {name: 0 for name in times}
    world = shared_world(num_docs, 0, cache)
    _settle()
    for i, q in enumerate(queries):
        gold = set(world.question(i).gold_docs)
        for name, r in (("bm25", bm25), ("dense", dense), ("hybrid", hybrid)):
            start = time.perf_counter()
            hits = r.search([q], K)[0]
            times[name].append(time.perf_counter() - start)
            recall[name] += bool(gold & {h.doc_id for h in hits})
    out: dict[str, Any] = {"docs": num_docs, "dense_build_s": build_s, "dense_built": dense.built}
    for name in times:
        out[f"{name}_ms"] = _median_ms(times[name])
        out[f"{name}_hit_at_10"] = recall[name] / len(queries)  # a gold document in the top 10 of the question
    return out


def bench_dense_parts(num_docs: int, n: int, cache: Path, device: str = "cpu") -> dict[str, Any]:
    """Dense and hybrid latency at a size whose corpus is not embedded (a million documents take about a day to
    embed on 2 CPU cores), by parts, each measured on the same queries: the query's embedding (the real encoder;
    its cost does not depend on the corpus), FAISS's exact inner-product search (``IndexFlatIP``, the dense
    retriever's index) over ``num_docs`` random unit vectors (an exhaustive scan: its time does not depend on the
    vectors' values; their hits mean nothing, so no hit@10 here), and bm25s at the hybrid's depth of 20 on the
    real ``num_docs`` index. dense = embedding + search; hybrid = dense + bm25s (RRF over 2 x 20 hits adds a few
    microseconds). Medians of the per-query sums."""
    try:
        import faiss

        from densegym.envs.search.dense import embed, embedding_dim, load_encoder

        encoder = load_encoder(device=device)
    except ImportError as exc:
        return {"docs": num_docs, "error": str(exc)}
    index = faiss.IndexFlatIP(embedding_dim(encoder))
    rng = np.random.default_rng(0)
    for start in range(0, num_docs, 100_000):
        block = rng.standard_normal((min(100_000, num_docs - start), index.d), dtype=np.float32)
        index.add(block / np.linalg.norm(block, axis=1, keepdims=True))
    bm25 = BM25Retriever(world_corpus(num_docs, 0, cache), cache_dir=cache / "index")
    queries = _queries(num_docs, n, cache)
    parts: dict[str, list[float]] = {"embed": [], "faiss": [], "bm25_depth20": []}
    _settle()
    for q in queries:
        start = time.perf_counter()
        vector = embed(encoder, [q])
        parts["embed"].append(time.perf_counter() - start)
        start = time.perf_counter()
        index.search(vector, K)
        parts["faiss"].append(time.perf_counter() - start)
        start = time.perf_counter()
        bm25.search([q], 20)
        parts["bm25_depth20"].append(time.perf_counter() - start)
    out: dict[str, Any] = {"docs": num_docs, "n": len(queries), "vectors": "random unit (timing only)"}
    for name, t in parts.items():
        out[f"{name}_ms"] = _median_ms(t)
    dense = [e + f for e, f in zip(parts["embed"], parts["faiss"])]
    out["dense_ms"] = _median_ms(dense)
    out["hybrid_ms"] = _median_ms([d + b for d, b in zip(dense, parts["bm25_depth20"])])
    return out


# ---- densegym against SkyRL-gym on one retrieval server ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_skyrl(num_docs: int, n: int, cache: Path) -> dict[str, Any]:
    try:
        from skyrl_gym.envs.search.env import SearchEnv, SearchEnvConfig
    except ImportError:
        return {"docs": num_docs, "skyrl": "not installed (see the module docstring)"}
    from densegym.envs.search.remote import HTTPRetriever

    world_corpus(num_docs, 0, cache)  # build before the server starts
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "densegym.envs.search.remote", "--num-docs", str(num_docs), "--port", str(port),
         "--cache-dir", str(cache)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/retrieve"
    try:
        line = server.stdout.readline()
        if "serving" not in line:
            return {"docs": num_docs, "error": f"the server did not start: {line.strip()}"}
        remote = SearchQAEnv(num_docs=num_docs, cache_dir=cache, retriever=HTTPRetriever(url), max_turns=10**9)
        local = SearchQAEnv(num_docs=num_docs, cache_dir=cache, max_turns=10**9)
        queries = _queries(num_docs, n, cache)
        config = SearchEnvConfig(search_url=url, topk=3, timeout=30, log_requests=False)

        def skyrl_env(i):
            task = remote.resolve_task(i)
            env = SearchEnv(config, {"reward_spec": {"ground_truth": {"target": list(task.aliases)}}, "max_turns": 10**9})
            env.init([{"role": "user", "content": task.question}])
            return env

        times: dict[str, list[float]] = {"densegym_http": [], "skyrl_http": [], "densegym_local": []}
        _settle()
        for i, q in enumerate(queries):
            action = f"<think>look it up</think><search>{q}</search>"
            sky = skyrl_env(i)
            remote.reset(options={"task": i})
            local.reset(options={"task": i})
            for name, call in (("densegym_http", lambda: remote.step(action)), ("skyrl_http", lambda: sky.step(action)),
                               ("densegym_local", lambda: local.step(action))):  # fmt: skip
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
        out: dict[str, Any] = {"docs": num_docs, "n": len(queries)}
        for name, t in times.items():
            out[f"{name}_ms"] = _median_ms(t)
        out["skyrl_over_densegym_http"] = out["skyrl_http_ms"] / out["densegym_http_ms"]
        return out
    finally:
        server.terminate()
        server.wait(timeout=10)


# ---- memory per worker --------------------------------------------------------------------------------------


def _smaps() -> dict[str, int]:
    """RSS, PSS and USS of this process in KiB (``/proc/self/smaps_rollup``)."""
    fields: dict[str, int] = {}
    with open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                fields[parts[0][:-1]] = int(parts[1])
    return {"rss": fields.get("Rss", 0), "pss": fields.get("Pss", 0),
            "uss": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)}  # fmt: skip


def _worker(mode: str, num_docs: int, envs: int, cache: str, ready, go, out) -> None:
    from densegym.envs.search.env import SearchQAEnv, world_corpus  # noqa: F811 - a fresh spawned process
    from densegym.envs.search.retrievers import BM25Retriever  # noqa: F811

    from densegym.envs.search.env import shared_world  # noqa: F811

    corpus = world_corpus(num_docs, 0, Path(cache))
    shared_world(num_docs, 0, Path(cache))  # the question tables: once per worker in both modes, so before the baseline
    base = _smaps()
    made = []
    for i in range(envs):
        retriever: Any = "bm25"
        if mode == "copy":  # one in-memory index per env, as an env that loads its own index would have
            retriever = BM25Retriever(corpus, cache_dir=Path(cache) / "index", mmap=False)
        env = SearchQAEnv(num_docs=num_docs, cache_dir=cache, retriever=retriever, max_turns=10**9)
        env.reset(options={"task": i})
        env.step(f"<search>{env.task.question}</search>")
        made.append(env)
    ready.put(None)
    go.wait()  # every worker has made its envs: PSS now divides the shared pages among all of them
    now = _smaps()
    out.put({k: now[k] - base[k] for k in now})


def bench_memory(num_docs: int, cache: Path, workers: int = 2, envs: int = 8) -> dict[str, Any]:
    world_corpus(num_docs, 0, cache)
    BM25Retriever(world_corpus(num_docs, 0, cache), cache_dir=cache / "index")  # build the index first
    ctx = multiprocessing.get_context("spawn")
    out: dict[str, Any] = {"docs": num_docs, "workers": workers, "envs": envs}
    for mode in ("shared", "copy"):
        ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=_worker, args=(mode, num_docs, envs // workers, str(cache), ready, go, results))
                 for _ in range(workers)]  # fmt: skip
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=1800)
        go.set()
        per = [results.get(timeout=600) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        for key in ("rss", "pss", "uss"):
            out[f"{mode}_{key}_mib"] = sum(r[key] for r in per) / 1024
    out["copy_over_shared_pss"] = out["copy_pss_mib"] / max(out["shared_pss_mib"], 1e-9)
    return out


# ---- the report ---------------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _index_time(row: dict[str, Any]) -> str:
    """The bm25s index's build time, or its load time when it came from the cache."""
    if row.get("bm25s_built", True):
        return f"{row['bm25s_build_s']:.1f} built, {row['bm25s_load_s']:.2f} load"
    return f"cached, {row['bm25s_load_s']:.2f} load"


def format_report(report: dict[str, Any]) -> str:
    lines = [f"== benchmarks.bench_search ({report['machine']})"]
    if report.get("bm25"):
        lines += ["", "BM25 query latency, top 10, one query per call (median ms); rank_bm25 / bm25s (goal >= 10x)",
                  "docs | bm25s ms | rank_bm25 ms | ratio | top-1 agreement | bm25s batched q/s | bm25s index s | rank_bm25 build s"]  # fmt: skip
        for r in report["bm25"]:
            lines.append(" | ".join([_fmt(r["docs"]), _fmt(r["bm25s_ms"], 3), _fmt(r.get("rank_bm25_ms", r.get("rank_bm25", "-")), 3),
                                     _fmt(r.get("ratio", "-"), 1) + ("x" if "ratio" in r else ""), _fmt(r.get("top1_agreement", "-")),
                                     _fmt(r["bm25s_batch_qps"], 0), _index_time(r), _fmt(r.get("rank_bm25_build_s", "-"), 1)]))  # fmt: skip
    if report.get("env"):
        lines += ["", "SearchQAEnv (bm25s, top 3), median ms", "docs | reset ms | search step ms"]
        lines += [f"{_fmt(r['docs'])} | {_fmt(r['reset_ms'], 3)} | {_fmt(r['step_ms'], 3)}" for r in report["env"]]
    if report.get("dense"):
        r = report["dense"]
        lines += ["", f"Dense and hybrid on {_fmt(r['docs'])} documents (median ms per query; a gold doc in the top 10)"]
        if "error" in r:
            lines.append(f"  {r['error']}")
        else:
            what = "build (embedding every document)" if r.get("dense_built", True) else "load (cached)"
            lines.append(f"  dense index {what}: {r['dense_build_s']:.1f} s")
            for name in ("bm25", "dense", "hybrid"):
                lines.append(f"  {name:7s} {r[name + '_ms']:8.3f} ms   hit@10 {r[name + '_hit_at_10']:.2f}")
    for r in report.get("dense_parts") or []:
        lines += ["", f"Dense and hybrid by parts, {_fmt(r['docs'])} docs, corpus not embedded (median ms; timing only)"]
        if "error" in r:
            lines.append(f"  {r['error']}")
        else:
            lines.append(f"  query embedding {r['embed_ms']:.3f} + FAISS flat search {r['faiss_ms']:.3f} = dense "
                         f"{r['dense_ms']:.3f} | + bm25s at depth 20 {r['bm25_depth20_ms']:.3f} = hybrid {r['hybrid_ms']:.3f}")  # fmt: skip
    if report.get("skyrl"):
        r = report["skyrl"]
        lines += ["", f"Step against SkyRL-gym's SearchEnv, one densegym serve-retriever, {_fmt(r['docs'])} docs (median ms)"]
        if "skyrl_http_ms" in r:
            lines.append(f"  densegym (HTTP) {r['densegym_http_ms']:.3f} | SkyRL-gym (HTTP) {r['skyrl_http_ms']:.3f} | "
                         f"ratio {r['skyrl_over_densegym_http']:.2f}x | densegym in-process index {r['densegym_local_ms']:.3f}")  # fmt: skip
        else:
            lines.append(f"  {r.get('skyrl') or r.get('error')}")
    if report.get("memory"):
        r = report["memory"]
        lines += ["", f"Memory of {r['envs']} envs in {r['workers']} workers, {_fmt(r['docs'])} docs: growth summed over workers (MiB)",
                  "index | RSS | PSS | USS"]  # fmt: skip
        for mode, label in (("shared", "shared, memory-mapped (one per worker)"), ("copy", "one in-memory copy per env")):
            lines.append(f"{label} | {r[mode + '_rss_mib']:.1f} | {r[mode + '_pss_mib']:.1f} | {r[mode + '_uss_mib']:.1f}")
        lines.append(f"copy / shared (PSS): {r['copy_over_shared_pss']:.1f}x")
    return "\n".join(lines)


def run(docs: list[int], *, quick: bool = False, sections: set[str] | None = None, cache: Path | None = None,
        rank_max: int = 200_000, dense_docs: int = 5_000, queries: int | None = None,
        device: str = "cpu") -> dict[str, Any]:  # fmt: skip
    sections = sections or {"bm25", "env", "dense", "skyrl", "memory"}
    own_cache = cache is None
    tmp = tempfile.TemporaryDirectory(prefix="densegym-bench-search-") if own_cache else None
    cache = Path(tmp.name) if tmp else Path(cache)
    n = queries or (20 if quick else 200)
    report: dict[str, Any] = {"machine": f"{platform.python_version()}, {os.cpu_count()} CPUs", "docs": docs}
    try:
        if "bm25" in sections:
            report["bm25"] = [bench_bm25(d, n, cache, rank_max) for d in docs]
        if "env" in sections:
            report["env"] = [bench_env(d, n, cache) for d in docs]
        if "dense" in sections:
            report["dense"] = bench_dense(dense_docs, n, cache, device)
        if "dense-parts" in sections:
            report["dense_parts"] = [bench_dense_parts(d, n, cache, device) for d in docs]
        if "skyrl" in sections:
            report["skyrl"] = bench_skyrl(docs[0], n, cache)
        if "memory" in sections:
            report["memory"] = bench_memory(docs[-1], cache)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return report


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small worlds, few queries (a smoke run)")
    parser.add_argument("--docs", default=None, help="comma-separated world sizes (default 50000; --quick 3000)")
    parser.add_argument("--sections", default="bm25,env,dense,skyrl,memory")
    parser.add_argument("--dense-docs", type=int, default=None, help="world size of the dense section (default 5000; --quick 300)")
    parser.add_argument("--device", default="cpu", help="where the dense sections embed (cuda: a million documents in minutes)")
    parser.add_argument("--rank-bm25-max-docs", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=None, help="queries (and steps) per measurement (default 200; --quick 20)")
    parser.add_argument("--cache-dir", default=None, help="keep corpora and indexes here between runs")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    docs = [int(d) for d in (args.docs or ("3000" if args.quick else "50000")).split(",")]
    dense_docs = args.dense_docs or (300 if args.quick else 5_000)
    report = run(docs, quick=args.quick, sections=set(args.sections.split(",")),
                 cache=Path(args.cache_dir) if args.cache_dir else None, rank_max=args.rank_bm25_max_docs,
                 dense_docs=dense_docs, queries=args.queries, device=args.device)  # fmt: skip
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return report


if __name__ == "__main__":
    main()
