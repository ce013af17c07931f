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


def catalogue() -> list[dict]:
    """``list_sla_presets``: each preset's name, title, kind (``group``: a complete policy a group can pick;
    ``override``: a region/estate layer), default severity, severities with labels, and its text (YAML)."""
    out = []
    for name in NAMES:
        doc = load(name)
        out.append({"name": name, "title": doc.get("name") or name,
                    "kind": "override" if name in PARTIAL else "group",
                    "default_severity": doc.get("default_severity"),
                    "severities": [{"key": k, "label": (v or {}).get("label")}
                                   for k, v in (doc.get("severities") or {}).items()],
                    "text": text(name)})
    return out


def for_scope(name, scope: str) -> str:
    """The text of preset ``name`` to store as ``scope``'s next version: a complete preset for the group, an
    override preset for a region or estate; ``ValidationFailed`` (field ``preset``) otherwise."""
    from estatedesk_common.errors import ValidationFailed
    if name not in NAMES:
        raise ValidationFailed(f"unknown preset {name!r} (known: {', '.join(NAMES)})", field="preset")
    if (scope == "group") == (name in PARTIAL):
        kind = "a complete policy for the group" if scope == "group" else "an override for a region or estate"
        raise ValidationFailed(f"preset {name!r} cannot be the {scope} layer: it needs {kind}", field="preset")
    return text(name)
