"""SWE tasks: a repository with a bug, an issue, the tests that must go from failing to passing, a gold patch.

A task is SWE-bench-shaped (:class:`SWETask`). Two sources:

* **The bundled set** (:func:`bundled_tasks`): six small, real Python projects written for densegym
  (``projects/``), each with a real pytest suite, into which procedural AST mutators injected bugs that the
  suite was run to validate (``taskgen.py``; ``data/tasks.jsonl``). The repository an agent starts from is the
  project with the bug patch applied; the gold patch undoes it.
* **SWE-bench / SWE-Gym instances** (:func:`load_swebench_jsonl`): the published JSONL fields
  (``instance_id``, ``repo``, ``problem_statement``, ``patch``, ``test_patch``, ``FAIL_TO_PASS``,
  ``PASS_TO_PASS``, ...) with images the user already has (the repository at ``/testbed`` in the image, as the
  SWE-bench harness builds them). They run on the Docker executor only.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from densegym.envs.swe.patches import apply_patch, changed_files, make_patch

PROJECTS_DIR = Path(__file__).with_name("projects")
TASKS_FILE = Path(__file__).with_name("data") / "tasks.jsonl"
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".git"}


def is_test_path(path: str) -> bool:
    """Whether ``path`` configures or holds the tests, so that the hidden run takes it from the pristine
    repository, never from the agent's: test modules and test directories, conftest files, pytest's
    configuration files."""
    parts = PurePosixPath(path).parts
    name = parts[-1]
    if name in ("conftest.py", "pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml", "noxfile.py"):
        return True
    if any(p in ("tests", "test", "testing") for p in parts[:-1]):
        return True
    return name.startswith("test_") and name.endswith(".py") or name.endswith("_test.py")


@dataclass(frozen=True)
class SWETask:
    """One task. ``files`` is the repository as the agent starts (the bug in it); ``pristine`` the files the
    hidden test run takes from the original repository (the tests and their configuration), which the
    agent's copies never replace. Test ids are pytest node ids relative to the repository root."""

    task_id: str
    project: str
    issue: str
    files: Mapping[str, str] = field(repr=False)
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    gold_patch: str = field(repr=False)
    pristine: Mapping[str, str] = field(repr=False, default_factory=dict)
    difficulty: int = 1
    image: str | None = None  # a prebuilt image holding the repository (SWE-bench); None: built per project
    image_root: str | None = None  # where that image keeps the repository (SWE-bench: /testbed)
    meta: Mapping = field(default_factory=dict, repr=False)

    @property
    def gold_files(self) -> list[str]:
        """The files the gold patch touches (for the ``localization`` reward)."""
        return changed_files(self.gold_patch)

    @property
    def tests(self) -> tuple[str, ...]:
        return self.fail_to_pass + self.pass_to_pass

    def fixed_files(self) -> dict[str, str]:
        """The repository with the gold patch applied."""
        return apply_patch(self.files, self.gold_patch)


# ---- the bundled set -------------------------------------------------------------------------------------


def read_tree(root: str | os.PathLike) -> dict[str, str]:
    """Every text file under ``root`` (no hidden ones, no caches), relative POSIX path -> text."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            full = Path(dirpath) / name
            out[full.relative_to(root).as_posix()] = full.read_text(encoding="utf-8")
    return out


@functools.cache
def project_files(project: str) -> Mapping[str, str]:
    """The clean files of a bundled project."""
    root = PROJECTS_DIR / project
    if not root.is_dir():
        raise ValueError(f"no bundled project {project!r}; bundled: {', '.join(bundled_projects())}")
    return read_tree(root)


def bundled_projects() -> list[str]:
    return sorted(p.name for p in PROJECTS_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


@functools.lru_cache(maxsize=1)
def _bundled_records() -> tuple[dict, ...]:
    if not TASKS_FILE.exists():
        raise FileNotFoundError(f"the bundled task set {TASKS_FILE} is missing; generate it with "
                                "python -m densegym.envs.swe.taskgen")  # fmt: skip
    return tuple(json.loads(line) for line in TASKS_FILE.read_text().splitlines() if line.strip())


def bundled_task_ids(projects: Iterable[str] | None = None, difficulty: Iterable[int] | None = None) -> list[str]:
    """The ids of the bundled tasks, optionally only those of some projects and difficulties."""
    projects = set(projects) if projects is not None else None
    levels = set(difficulty) if difficulty is not None else None
    return [
        r["task_id"] for r in _bundled_records()
        if (projects is None or r["project"] in projects) and (levels is None or r["difficulty"] in levels)
    ]  # fmt: skip


@functools.lru_cache(maxsize=1024)
def bundled_task(task_id: str) -> SWETask:
    for record in _bundled_records():
        if record["task_id"] == task_id:
            return task_from_record(record)
    raise ValueError(f"no bundled SWE task {task_id!r}; ids look like 'ledger-0001' (see bundled_task_ids())")


def bundled_tasks() -> list[SWETask]:
    return [task_from_record(r) for r in _bundled_records()]


def task_from_record(record: Mapping) -> SWETask:
    """A bundled task from its ``tasks.jsonl`` record: the project with the bug patch applied."""
    clean = project_files(record["project"])
    buggy = apply_patch(clean, record["bug_patch"])
    return SWETask(
        task_id=record["task_id"],
        project=record["project"],
        issue=record["issue"],
        files=buggy,
        fail_to_pass=tuple(record["fail_to_pass"]),
        pass_to_pass=tuple(record["pass_to_pass"]),
        gold_patch=make_patch(buggy, clean),
        pristine={p: t for p, t in clean.items() if is_test_path(p)},
        difficulty=int(record.get("difficulty", 1)),
        meta={"mutations": record.get("mutations", [])},
    )


# ---- SWE-bench / SWE-Gym instances ---------------------------------------------------------------------------


def _id_list(value) -> tuple[str, ...]:
    """SWE-bench stores the test lists as JSON strings; SWE-Gym and others as lists."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return tuple(str(v) for v in value)


def load_swebench_jsonl(path: str | os.PathLike, image_template: str = "sweb.eval.x86_64.{instance_id}",
                        image_root: str = "/testbed") -> list[SWETask]:  # fmt: skip
    """SWE-bench-format instances (one JSON object a line, the published field names) as tasks that run in
    the user's prebuilt images: ``image_template`` formats the image name from the instance (a record's own
    ``image_name`` wins; ``__`` in ids becomes ``_1776_`` as in the harness's names, when the template asks for
    ``{harness_id}``), and the repository is copied from ``image_root`` in it. The hidden tests are the
    repository's test files with the instance's ``test_patch`` applied, read from the image at reset."""
    tasks = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            instance_id = str(r["instance_id"])
            fields = {"instance_id": instance_id, "harness_id": instance_id.replace("__", "_1776_").lower()}
            tasks.append(SWETask(
                task_id=instance_id,
                project=str(r.get("repo", instance_id)),
                issue=str(r["problem_statement"]),
                files={},
                fail_to_pass=_id_list(r["FAIL_TO_PASS"]),
                pass_to_pass=_id_list(r.get("PASS_TO_PASS", [])),
                gold_patch=str(r["patch"]),
                image=str(r.get("image_name") or image_template.format(**fields)),
                image_root=image_root,
                meta={"test_patch": str(r.get("test_patch", "")), "base_commit": r.get("base_commit")},
            ))  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{n}: not a SWE-bench instance ({exc!r}); needs instance_id, "
                             "problem_statement, patch, FAIL_TO_PASS") from exc  # fmt: skip
    return tasks
