"""``import densegym.agents`` stays light: the model-backed agents load torch/transformers/vllm on first use."""

from __future__ import annotations

import subprocess
import sys


def test_importing_agents_imports_no_model_library():
    code = (
        "import sys, densegym.agents as a\n"
        "a.OpenAIAgent, a.HumanAgent\n"
        "heavy = [m for m in ('torch', 'transformers', 'vllm', 'tokenizers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert 'HFAgent' in a.__all__ and 'VLLMAgent' in a.__all__\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
