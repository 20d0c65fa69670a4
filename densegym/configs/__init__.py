"""The bundled training configs, shipped with the package: ``densegym train sokoban_turn`` finds
``sokoban_turn.yaml`` here from any installation (a source checkout also reaches them as ``configs/``)."""

from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent


def bundled_configs() -> dict[str, Path]:
    """Every bundled config by name (the file name without ``.yaml``)."""
    return {p.stem: p for p in sorted(CONFIG_DIR.glob("*.yaml"))}


def resolve_config(spec: str | Path) -> Path:
    """The YAML file ``spec`` names: an existing path as it is, else a bundled config's name (with or without
    ``.yaml``). An unknown name raises ``FileNotFoundError`` listing the bundled ones."""
    path = Path(spec)
    if path.exists():
        return path
    name = path.name.removesuffix(".yaml").removesuffix(".yml")
    found = bundled_configs()
    if str(spec) in (name, f"{name}.yaml", f"{name}.yml") and name in found:
        return found[name]
    raise FileNotFoundError(
        f"no config file {str(spec)!r}, and no bundled config of that name; bundled: {', '.join(found)} "
        "(densegym train NAME, e.g. densegym train sokoban_turn)"
    )
