"""Extension (延期) requests and their approval. No framework imports.

The handler of a case asks for a later due date for one stage, with a reason; someone a rung higher on the
ladder (agent -> cs_supervisor -> site_manager -> head_office) approves or rejects it. The requester never
decides their own request, and a stage has at most one pending request. Approval moves the stage's due date;
the first due date the case was given is kept (reports measure the SLA outcome against it).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .actions import InvalidAction

ACTIONS = ("request_extension", "decide_extension")
DEFAULT_STAGE = "resolution"
# the rung of each role on the escalation ladder (domain/escalation.py); a group admin decides as head office
RANKS = {"agent": 0, "department_head": 0, "cs_supervisor": 1, "site_manager": 2, "head_office": 3,
         "group_admin": 3}
TOP_RANK = 3
GROUP_ROLES = ("head_office", "group_admin")
LABELS_ZH = {"request_extension": "申请延期", "decide_extension": "延期审批"}
RANK_TITLES_ZH = {0: "客服专员", 1: "客服主管", 2: "项目经理", 3: "总部"}


class NotAllowed(Exception):
    """The caller may not take this decision (the gateway answers 403 with the reason)."""

    def __init__(self, message: str, field_name: str = "action", details: dict | None = None):
        super().__init__(message)
        self.field = field_name
        self.details = details or {}


class BeyondRung(NotAllowed):
    """An approval longer than the decider's rung of the policy's ``extensions.approval`` may grant."""


@dataclass(frozen=True)
class Request:
    stage: str
    new_due_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class Decision:
    approve: bool
    note: str


def rank(roles, estate: str) -> int | None:
    """The caller's highest rung for ``estate`` from ``[[role, estate|None], ...]``; None without a ladder role.

    Group roles count for every estate; a site role only for the estate it is bound to."""
    best = None
    for item in roles or ():
        try:
            role, scope = item
        except (TypeError, ValueError):
            continue
        if role not in RANKS:
            continue
        if role in GROUP_ROLES or scope == estate:
            best = RANKS[role] if best is None else max(best, RANKS[role])
    return best


def parse_request(data: dict, deadlines: dict, pending_stages, requester_rank: int | None,
                  now: dt.datetime) -> Request:
    """Validate a request against the case's deadlines ``{stage: {"due_at", "met_at"}}``."""
    if requester_rank is None:
        raise NotAllowed("only someone handling the case at this estate may ask for an extension")
    if requester_rank >= TOP_RANK:
        raise NotAllowed("nobody is above head office on the ladder to approve an extension; change the policy")
    stage = data.get("stage") or DEFAULT_STAGE
    if not isinstance(stage, str) or stage not in deadlines:
        raise InvalidAction("stage", f"the case has no deadline for stage {stage!r}")
    if deadlines[stage]["met_at"] is not None:
        raise InvalidAction("stage", f"stage {stage!r} is already met")
    if stage in pending_stages:
        raise InvalidAction("stage", f"stage {stage!r} already has an extension request waiting for a decision")
    new_due = parse_due(data.get("new_due_at"))
    if new_due <= now:
        raise InvalidAction("new_due_at", "new_due_at is in the past")
    if new_due <= deadlines[stage]["due_at"]:
        raise InvalidAction("new_due_at", "new_due_at must be later than the current due time")
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidAction("reason", "reason is required")
    if len(reason.strip()) > 500:
        raise InvalidAction("reason", "reason is longer than 500 characters")
    return Request(stage, new_due, reason.strip())


def parse_due(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        instant = value
    else:
        try:
            instant = dt.datetime.fromisoformat(str(value or ""))
        except ValueError:
            raise InvalidAction("new_due_at", "new_due_at is not an ISO 8601 date-time") from None
    if instant.tzinfo is None:
        raise InvalidAction("new_due_at", "new_due_at needs a UTC offset (e.g. 2026-02-13T17:30:00+08:00)")
    return instant


def parse_decision(data: dict) -> Decision:
    approve = data.get("approve")
    if not isinstance(approve, bool):
        raise InvalidAction("approve", "approve must be true or false")
    note = data.get("note") or ""
    if not isinstance(note, str):
        raise InvalidAction("note", "note must be text")
    if len(note.strip()) > 2000:
        raise InvalidAction("note", "note is longer than 2000 characters")
    if not approve and not note.strip():
        raise InvalidAction("note", "say why the extension is rejected (note)")
    return Decision(approve, note.strip())


def check_decider(requested_by: str | None, requester_rank: int, decider: str | None,
                  decider_rank: int | None) -> None:
    """The next level up decides: a rung above the requester's, and never the requester."""
    if decider is not None and decider == requested_by:
        raise NotAllowed("you cannot decide your own extension request")
    if decider_rank is None or decider_rank <= requester_rank:
        needed = RANK_TITLES_ZH.get(requester_rank + 1, "上级")
        raise NotAllowed(f"an extension asked at rung {requester_rank} needs someone higher on the ladder "
                         f"({needed} or above) to decide")


def check_approval_rung(decider_rank: int | None, required_role: str, required_rank: int, max_limit: str | None,
                        previous_max: str | None) -> None:
    """Approving needs the rung of ``extensions.approval`` whose ``max`` covers the extension (or one above)."""
    if decider_rank is not None and decider_rank >= required_rank:
        return
    title = RANK_TITLES_ZH.get(required_rank, required_role)
    beyond = f"longer than {previous_max} " if previous_max else ""
    raise BeyondRung(f"an extension {beyond}from the original due time needs {required_role} ({title}) or above "
                     f"to approve it (the policy's extensions.approval)", "approve",
                     {"required_role": required_role, "max": max_limit, "beyond": previous_max})
