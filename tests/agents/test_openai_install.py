"""Without the ``openai`` library (the ``openai`` extra), ``densegym.agents`` still imports and an OpenAI agent
says how to install what it needs. The library's absence is simulated in a subprocess (``sys.modules['openai']
= None`` makes ``import openai`` fail as it does when the package is not installed)."""

from __future__ import annotations

import subprocess
import sys

WITHOUT_OPENAI = "import sys\nsys.modules['openai'] = None\n"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_OPENAI + code], capture_output=True, text=True, timeout=120)


def test_a_missing_openai_library_names_the_extra():
    code = (
        "from densegym.agents import OpenAIAgent\n"
        "from densegym.agents.spec import make_agent\n"
        "for build in (lambda: make_agent('openai:http://127.0.0.1:8000/v1#m'),\n"
        "              lambda: OpenAIAgent('http://127.0.0.1:8000/v1', 'm')):\n"
        "    try:\n"
        "        build()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
        "    else:\n"
        "        raise SystemExit('built an OpenAIAgent without the openai library')\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all("pip install 'densegym[openai]'" in line for line in lines), result.stdout


def test_the_agent_module_imports_without_the_openai_library():
    result = _run("import densegym.agents.openai_compat as m\nprint(m.OpenAIAgent.name)\n")
    assert result.returncode == 0 and result.stdout.strip() == "openai", result.stderr
