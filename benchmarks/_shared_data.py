"""The workplace's `shared/data/` files the benchmarks read."""

from __future__ import annotations

from pathlib import Path


def shared_data(name: str) -> Path:
    """`shared/data/NAME` beside the checkout or, for a git worktree, beside the folder of worktrees:
    the nearest one above this file."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "shared" / "data" / name).is_file():
            return folder / "shared" / "data" / name
    raise SystemExit(f"shared/data/{name} is not in any folder above {__file__}")
