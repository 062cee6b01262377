"""Where the lab keeps what it makes: everything lives under one folder that `down` removes."""

from __future__ import annotations

from pathlib import Path

from ..target import lab_dir


def root() -> Path:
    return lab_dir()


def node_dir(name: str) -> Path:
    return root() / "nodes" / name


def netns(name: str) -> str:
    # Prefixed so the lab never touches a namespace someone else made.
    return f"xt-{name}"


def state_file() -> Path:
    return root() / "lab.json"
