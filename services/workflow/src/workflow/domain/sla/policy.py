"""The SLA policy: a tenant's time limits as data (severities -> stages), validated, layered and versioned.

A *document* is what a policy file holds (see docs/sla.md). The group's document is complete; a region's or an
estate's is an override that only names what it changes. Layering (``merge``): top-level keys set lower down
replace the group's; ``severities`` merge per severity and, inside one, per stage name (a changed limit
replaces the stage, a new name is appended); ``categories`` merge the same way. Each stage remembers which
layer (scope and version) set it, so a deadline can say whose limit it is.

``validation.validate`` collects every problem with its path and, for text, its line.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from . import meeting
from .document import load_text
from .errors import PolicyInvalid
from .grammar import Limit, parse_limit
from .approval import ApprovalRung, approval_from
from .ladder import DEFAULT_WARNING_AT, Rung, ladder_from, warning_point
from .validation import entry_date, parse_time, validate
from .workdays import WorkCalendar


@dataclass(frozen=True)
class Stage:
    name: str
    limit: Limit
    after: str | None = None
    repeat: bool = False
    channels: tuple[str, ...] | None = None
    label: str | None = None
    source: str = "group"  # the scope that set it: group | region:<code> | estate:<code> | builtin
    version: int | None = None
    category: str | None = None  # set when a per-category override supplied it
    met_by: tuple[str, ...] | None = None  # the actions that meet it as the document says (None: the default)

    @property
    def actions(self) -> tuple[str, ...]:
        """The actions that meet this stage (``met_by``, else the default for its name: meeting.py)."""
        return meeting.met_by(self.name, self.met_by)


@dataclass(frozen=True)
class Policy:
    calendar: WorkCalendar
    default_severity: str
    severities: dict  # key -> {"label": str|None, "stages": tuple[Stage], "categories": {cat: tuple[Stage]}}
    levels: tuple = (("group", None),)  # ((scope, version), ...) from the group down
    severity_order: tuple = ()  # lowest to highest (``severity_order``; empty: the policy does not say)
    ladder: tuple[Rung, ...] = ladder_from(None)  # ``escalation`` (ladder.py); default: today's ladder
    warning_at: float | str = DEFAULT_WARNING_AT  # ``warning_at``; a severity's own value wins (``warning_fraction``)
    extension_approval: tuple[ApprovalRung, ...] = approval_from(None)  # ``extensions.approval`` (approval.py)

    def warning_fraction(self, severity: str | None):
        """When a stage of ``severity`` warns: the severity's ``warning_at``, else the policy's; a fraction, or a
        ``ladder.WarningPoint`` when written as a limit (counted on this policy's calendar)."""
        spec = self.severities.get(severity) or {}
        return warning_point(spec.get("warning_at") or self.warning_at, self.calendar)

    @property
    def version_label(self) -> str:
        return " + ".join(f"{scope}@v{version}" if version is not None else scope for scope, version in self.levels)

    def stages_for(self, severity: str, category: str | None = None, channel: str | None = None) -> list[Stage]:
        """The severity's stages with the category's overrides applied, minus stages for other channels."""
        if severity not in self.severities:
            raise PolicyInvalid([{"path": "severity", "line": None,
                                  "problem": f"unknown severity {severity!r}; the policy defines "
                                             f"{', '.join(sorted(self.severities))}"}])
        spec = self.severities[severity]
        stages = {s.name: s for s in spec["stages"]}
        for stage in spec["categories"].get(category, ()) if category else ():
            stages[stage.name] = stage
        return [s for s in stages.values() if s.channels is None or channel in s.channels]


# ---- reading -------------------------------------------------------------------------------------------

def parse(source, partial: bool = False) -> dict:
    """A validated document from YAML/JSON text or an already-parsed mapping; ``PolicyInvalid`` otherwise."""
    if isinstance(source, (str, bytes)):
        data, lines = load_text(source.decode("utf-8") if isinstance(source, bytes) else source)
    else:
        data, lines = copy.deepcopy(source), {}
    problems = validate(data, lines, partial=partial)
    if problems:
        raise PolicyInvalid(problems)
    return data


# ---- layering and building ---------------------------------------------------------------------------

def merge(layers: list[tuple[str, int | None, dict]]) -> dict:
    """One document from ``[(scope, version, document), ...]``, group first; stages keep ``_source``/``_version``."""
    merged: dict = {}
    for scope, version, doc in layers:
        for key, value in doc.items():
            if key != "severities":
                merged[key] = copy.deepcopy(value)
                continue
            for sev, spec in value.items():
                target = merged.setdefault("severities", {}).setdefault(sev, {"stages": [], "categories": {}})
                if "_source" not in target:
                    target["_source"] = scope
                for key in ("label", "warning_at"):
                    if key in spec:
                        target[key] = spec[key]
                _merge_stages(target["stages"], spec.get("stages", []), scope, version)
                for cat, cat_spec in (spec.get("categories") or {}).items():
                    _merge_stages(target["categories"].setdefault(cat, {"stages": []})["stages"],
                                  cat_spec.get("stages", []), scope, version)
    return merged


def _merge_stages(into: list, stages: list, scope: str, version) -> None:
    for stage in stages:
        stage = dict(stage, _source=scope, _version=version)
        for i, existing in enumerate(into):
            if existing["name"] == stage["name"]:
                into[i] = stage
                break
        else:
            into.append(stage)


def build(layers: list[tuple[str, int | None, dict]]) -> Policy:
    """The effective ``Policy`` of validated layers (group first). Overrides may only refine what the group
    defines: a severity the group lacks, or an ``after:`` to an unknown stage, is ``PolicyInvalid``."""
    group_severities = set((layers[0][2].get("severities") or {})) if layers else set()
    problems = []
    for scope, _version, doc in layers[1:]:
        for sev in doc.get("severities") or {}:
            if sev not in group_severities:
                problems.append({"path": f"severities.{sev}", "line": None,
                                 "problem": f"{scope}: unknown severity {sev!r} (not in the group policy)"})
    merged = merge(layers)
    plain = {k: v for k, v in merged.items()}
    plain["severities"] = {sev: {"stages": [_strip(s) for s in spec["stages"]],
                                 "categories": {c: {"stages": [_strip(s) for s in cs["stages"]]}
                                                for c, cs in spec["categories"].items()}}
                           for sev, spec in (merged.get("severities") or {}).items()}
    problems += validate(plain)
    if problems:
        raise PolicyInvalid(problems)
    hours = tuple(sorted((parse_time(h["start"]), parse_time(h["end"])) for h in merged["business_hours"]))
    calendar = WorkCalendar(merged["timezone"], merged["calendar"], hours,
                            frozenset(entry_date(d) for d in merged.get("closures") or ()),
                            frozenset(entry_date(d) for d in merged.get("extra_working_days") or ()),
                            tuple((entry_date(d), str(d["reason"])[:100]) for d in
                                  [*(merged.get("closures") or ()), *(merged.get("extra_working_days") or ())]
                                  if isinstance(d, dict) and d.get("reason")))
    severities = {sev: {"label": spec.get("label"), "warning_at": spec.get("warning_at"),
                        "stages": tuple(_stage(s) for s in spec["stages"]),
                        "categories": {c: tuple(_stage(s, c) for s in cs["stages"])
                                       for c, cs in spec["categories"].items()}}
                  for sev, spec in merged["severities"].items()}
    return Policy(calendar, merged["default_severity"], severities,
                  tuple((scope, version) for scope, version, _doc in layers),
                  tuple(merged.get("severity_order") or ()), ladder_from(merged.get("escalation")),
                  merged.get("warning_at", DEFAULT_WARNING_AT), approval_from(merged.get("extensions")))


def _strip(stage: dict) -> dict:
    return {k: v for k, v in stage.items() if not k.startswith("_")}


def _stage(s: dict, category: str | None = None) -> Stage:
    return Stage(s["name"], parse_limit(s["limit"]), s.get("after"), bool(s.get("repeat", False)),
                 tuple(s["channels"]) if s.get("channels") is not None else None, s.get("label"),
                 s.get("_source", "group"), s.get("_version"), category,
                 tuple(s["met_by"]) if s.get("met_by") is not None else None)


def from_document(source, scope: str = "preview", version: int | None = None) -> Policy:
    """A complete policy from one document (text or mapping), as the preview reads a file."""
    return build([(scope, version, parse(source))])
