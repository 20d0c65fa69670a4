"""The task generator and its mutation operators, checked against the real server and real pytest runs."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from tests.helpers import require_import

require_import("lsprotocol", "pip install 'densegym[lsp]'")

from densegym.envs.lsp.servers import find_executable
from densegym.envs.lsp.tasks import DOMAINS, OPERATORS, LspTask, catalog, generate


def test_catalog_has_300_distinct_tasks_over_six_domains():
    ids = catalog()
    assert len(ids) >= 300
    assert len({generate(t).digest for t in ids}) == len(ids)
    assert {generate(t).domain for t in ids} == set(DOMAINS) and len(DOMAINS) >= 6
    ops = Counter(d.op for t in ids for d in generate(t).defects)
    assert set(ops) == set(OPERATORS)


def test_ids_reproduce_and_difficulty_is_the_number_of_defects():
    generate.cache_clear()
    for tid in ("lsp:ledger:d1:3", "lsp:planner:d2:7", "lsp:textkit:d3:11"):
        a = generate(tid)
        generate.cache_clear()
        b = generate(tid)
        assert a.files == b.files and a.defects == b.defects
        assert len(a.defects) == a.difficulty
        assert a.files != a.gold
    assert any(d.op == "logic" for d in generate("lsp:textkit:d3:11").defects)


def test_bad_ids_are_refused():
    for bad in ("lsp:nope:d1:0", "lsp:ledger:d9:0", "lsp:ledger:d1:-1", "sokoban", "lsp:ledger:d1"):
        with pytest.raises(ValueError, match="unknown LSP task"):
            generate(bad)


def _task(domain: str, files: dict[str, str], tid: str = "custom") -> LspTask:
    d = DOMAINS[domain]
    return LspTask(f"{tid}:{domain}", domain, 1, files, dict(d.files), d.tests, ())


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_gold_package_is_clean_and_passes_its_tests(lsp_env, domain):
    _, info = lsp_env.reset(options={"task": _task(domain, dict(DOMAINS[domain].files), "gold")})
    assert info["privileged"]["diag_count"] == 0.0
    assert info["privileged"]["tests_fraction"] == 1.0


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_logic_mutations_fail_a_test_and_stay_silent(lsp_env, domain):
    d = DOMAINS[domain]
    for rel, old, new in d.logic:
        files = {**d.files, rel: d.files[rel].replace(old, new)}
        _, info = lsp_env.reset(options={"task": _task(domain, files, "logic")})
        assert info["privileged"]["tests_fraction"] < 1.0, (rel, new)
        assert lsp_env._diags == [], (rel, new)


def _examples(op: str, n: int = 3) -> list[str]:
    """The first ``n`` difficulty-1 tasks whose single defect is ``op``, from different domains."""
    out, domains = [], set()
    for tid in catalog():
        task = generate(tid)
        if task.difficulty == 1 and task.defects[0].op == op and task.domain not in domains:
            out.append(tid)
            domains.add(task.domain)
    return out[:n]


def test_every_task_shows_every_promised_diagnostic(lsp_env):
    """All 300+ tasks: each checker-visible defect is reported with its rule on its line (real server)."""
    from densegym.envs.lsp.session import CONFIG_FILE

    ws, session = lsp_env.ws, lsp_env.session
    config = ws.read(CONFIG_FILE)
    checked = Counter()
    try:
        for tid in catalog():
            task = generate(tid)
            ws.restore({**task.files, CONFIG_FILE: config})
            session.sync()
            diags = session.diagnostics()
            for defect in task.defects:
                if defect.rule is None:
                    continue
                hits = [d for d in diags if d["file"] == defect.file and d["range"][0] == defect.line]
                assert any(d["rule"] == defect.rule and d["severity"] == "error" for d in hits), (tid, defect, diags)
                checked[defect.op] += 1
    finally:
        lsp_env.reset(options={"task": catalog()[0]})  # back to a consistent env for the next test
    assert set(checked) == {op for op in OPERATORS if op != "logic"}


def test_logic_operator_tasks_fail_tests_without_diagnostics(lsp_env):
    for tid in _examples("logic"):
        _, info = lsp_env.reset(options={"task": tid})
        assert info["privileged"]["tests_fraction"] < 1.0 and info["privileged"]["diag_count"] == 0.0


def _cli_report(root, *files: str) -> dict:
    cli = find_executable("basedpyright")
    argv = [cli, "--outputjson", "-p", str(root), *(str(root / f) for f in files)]
    return json.loads(subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=180).stdout)


def test_one_files_diagnostics_equal_the_checker_run_on_that_file(lsp_env):
    task = generate("lsp:textkit:d3:2")
    lsp_env.reset(options={"task": task})
    root = lsp_env.ws.root
    for rel in sorted({d.file for d in task.defects if d.rule}):
        report = _cli_report(root, rel)
        expected = sorted((d["range"]["start"]["line"], d["range"]["start"]["character"], d["range"]["end"]["line"],
                           d["range"]["end"]["character"], d["severity"], d.get("rule", ""), d["message"])
                          for d in report["generalDiagnostics"])  # fmt: skip
        ours = sorted((*d["range"], d["severity"], d["rule"], d["message"]) for d in lsp_env._diags if d["file"] == rel)
        assert ours == expected and ours


@pytest.mark.parametrize("tid", ["lsp:inventory:d3:4", "lsp:geometry:d2:9"])
def test_env_diagnostics_equal_the_command_line_checker(lsp_env, tid):
    lsp_env.reset(options={"task": tid})
    root = lsp_env.ws.root
    report = _cli_report(root)
    expected = sorted(
        (
            str(__import__("pathlib").Path(d["file"]).relative_to(root)),
            d["range"]["start"]["line"], d["range"]["start"]["character"],
            d["range"]["end"]["line"], d["range"]["end"]["character"],
            d["severity"], d.get("rule", ""), d["message"],
        )
        for d in report["generalDiagnostics"]
    )  # fmt: skip
    ours = sorted((d["file"], *d["range"], d["severity"], d["rule"], d["message"]) for d in lsp_env._diags)
    assert ours == expected
    assert ours, "the task should have diagnostics to compare"
