"""Bundled LSP tasks: domain packages, mutation operators and the task generator."""

from densegym.envs.lsp.tasks.domains import DOMAINS, Domain
from densegym.envs.lsp.tasks.generator import LspTask, catalog, generate, parse_task_id, task_id
from densegym.envs.lsp.tasks.mutations import OPERATORS, Defect

__all__ = ["DOMAINS", "OPERATORS", "Defect", "Domain", "LspTask", "catalog", "generate", "parse_task_id", "task_id"]
