"""SWE: resolve issues in real repositories, judged by real test runs, in Docker or the local sandbox.

The local executor needs nothing beyond bubblewrap; the Docker executor needs the ``swe`` extra
(``pip install 'densegym[swe]'``: the Docker SDK) and a Docker daemon with the sandbox image
(``bash docker/build.sh``).
"""

from densegym.envs.swe.env import SWEEnv
from densegym.envs.swe.task import SWETask, bundled_task, bundled_task_ids, bundled_tasks, load_swebench_jsonl

__all__ = ["SWEEnv", "SWETask", "bundled_task", "bundled_task_ids", "bundled_tasks", "load_swebench_jsonl"]
