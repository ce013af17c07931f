"""Policy presets shipped with workflow, as policy files (``<name>.yaml``): seed002, seed001, seed000, and the
seed004_handover estate override. ``load(name)`` returns the validated document."""
from __future__ import annotations

import functools
import os

from ..domain.sla import parse

HERE = os.path.dirname(__file__)
NAMES = ("seed002", "seed001", "seed000", "seed004_handover")
PARTIAL = {"seed004_handover"}


@functools.lru_cache(maxsize=None)
def text(name: str) -> str:
    if name not in NAMES:
        raise KeyError(f"unknown preset {name!r} (known: {', '.join(NAMES)})")
    with open(os.path.join(HERE, f"{name}.yaml"), encoding="utf-8") as f:
        return f.read()


def load(name: str) -> dict:
    return parse(text(name), partial=name in PARTIAL)
