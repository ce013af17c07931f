"""Callbacks (回访): after every resolution the owner is called back (seed 001 part 1 §4.6.1: 100 % of
complaints and repairs), by someone other than the person who resolved it, and again after every new
resolution until the owner is satisfied (§4.6.4). Plain Python: no framework, no database.

Rules
- A ``case_resolved`` creates one callback, due ``due_hours`` (config ``CALLBACK_DUE_HOURS``, 24) later.
- Any staff member of the tenant whose roles cover the estate (a role with no estate covers all of them) may
  claim it, except ``resolved_by``.
- Attempts: ``no_answer`` / ``wrong_number`` / ``refused`` are failed attempts. After the 1st the callback is
  due again in 2 hours, after the 2nd in 1 day (``RETRY_DELAYS``); the 3rd sends the owner an SMS survey link
  and the callback waits for the owner's answer (status stays ``claimed``/``open``, ``survey_sent``).
- ``reached`` needs a satisfaction. very_satisfied / satisfied / **neutral** complete the callback
  (``callback_completed``, the case closes): a neutral owner has no complaint left to rectify, so reopening
  the case would make work nobody asked for; reporting still sees ``neutral`` in the event and does not count
  it as satisfied. ``dissatisfied`` -> ``callback_dissatisfied`` (the case reopens, goes back to the handler).
- The ``round`` of a callback is 1 + the complaint's earlier dissatisfied callbacks. A dissatisfied answer on
  round ``ESCALATE_AFTER_ROUNDS`` (3) or later carries ``escalate: true``; workflow then escalates the case to
  the site manager (workflow owns the ladder and ``case_escalated``). The callback itself ends ``escalated``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

OUTCOMES = ("no_answer", "wrong_number", "refused", "reached")
FAILED_OUTCOMES = ("no_answer", "wrong_number", "refused")
SATISFACTIONS = ("very_satisfied", "satisfied", "neutral", "dissatisfied")
COMPLETING = ("very_satisfied", "satisfied", "neutral")
STATUSES = ("open", "claimed", "done", "escalated")
FINISHED = ("done", "escalated")
RETRY_DELAYS = (dt.timedelta(hours=2), dt.timedelta(days=1))
SURVEY_AFTER_FAILED = 3
ESCALATE_AFTER_ROUNDS = 3
DEFAULT_DUE_HOURS = 24
STAFF_ROLES = ("agent", "cs_supervisor", "site_manager", "department_head", "head_office", "group_admin")
WORDS_LIMIT = 2000


class CallbackError(ValueError):
    """A caller's mistake; ``field`` names the input at fault, ``code`` what kind of error it is."""

    def __init__(self, field_name: str, message: str, code: str = "validation_failed"):
        super().__init__(message)
        self.field, self.code = field_name, code


def hash_token(token: str) -> str:
    """Only the SHA-256 of a survey token is stored: a leaked table does not answer surveys."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_survey_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits: unguessable


def due_at(resolved_at: dt.datetime, due_hours: float = DEFAULT_DUE_HOURS) -> dt.datetime:
    return resolved_at + dt.timedelta(hours=due_hours)


def covers(roles, estate_code: str) -> bool:
    """Whether ``roles`` ([[role, estate|None], ...]) reach a callback of ``estate_code``."""
    for item in roles or ():
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            continue
        role, estate = item
        if role in STAFF_ROLES and (estate is None or estate == estate_code):
            return True
    return False


def visible_estates(roles) -> set | None:
    """None: every estate (a role without estate); else the estates the site roles name."""
    estates = set()
    for item in roles or ():
        if isinstance(item, (list, tuple)) and len(item) == 2 and item[0] in STAFF_ROLES:
            if item[1] is None:
                return None
            estates.add(item[1])
    return estates


def check_claim(callback: dict, user_id: str | None, roles) -> None:
    """Raise ``CallbackError`` unless ``user_id`` may claim ``callback`` (a mapping of a callbacks row)."""
    if not user_id:
        raise CallbackError("user_id", "a callback is claimed by a signed-in staff member", "forbidden")
    if not covers(roles, callback["estate_code"]):
        raise CallbackError("estate", "this callback is outside your estates", "forbidden")
    if callback["resolved_by"] and callback["resolved_by"] == user_id:
        raise CallbackError("id", "the person who resolved the case cannot call the owner back", "resolver")
    if callback["status"] in FINISHED:
        raise CallbackError("status", f"the callback is {callback['status']}", "conflict")
    if callback["status"] == "claimed" and callback["claimed_by"] != user_id:
        raise CallbackError("status", "someone else claimed this callback", "conflict")


@dataclass(frozen=True)
class Attempt:
    outcome: str
    satisfaction: str | None = None
    words: str = ""
    valid: bool | None = None
    solved: bool | None = None


def parse_attempt(outcome, satisfaction=None, words=None, valid=None, solved=None) -> Attempt:
    if outcome not in OUTCOMES:
        raise CallbackError("outcome", f"outcome must be one of {', '.join(OUTCOMES)}")
    if outcome == "reached":
        if satisfaction not in SATISFACTIONS:
            raise CallbackError("satisfaction", f"satisfaction must be one of {', '.join(SATISFACTIONS)}")
    elif satisfaction is not None:
        raise CallbackError("satisfaction", "satisfaction is recorded only when the owner was reached")
    if words is not None and not isinstance(words, str):
        raise CallbackError("words", "words must be text")
    words = (words or "").strip()
    if len(words) > WORDS_LIMIT:
        raise CallbackError("words", f"words are longer than {WORDS_LIMIT} characters")
    for name, value in (("valid", valid), ("solved", solved)):
        if value is not None and not isinstance(value, bool):
            raise CallbackError(name, f"{name} must be true or false")
    return Attempt(outcome, satisfaction, words, valid, solved)


@dataclass(frozen=True)
class Result:
    """What an attempt does to a callback."""
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    send_survey: bool
    event: str | None  # callback_completed | callback_dissatisfied | None


def apply_attempt(callback: dict, attempt: Attempt, now: dt.datetime) -> Result:
    """The callback after ``attempt`` (``callback``: a mapping with status, attempts, round, survey_sent_at)."""
    if callback["status"] in FINISHED:
        raise CallbackError("status", f"the callback is {callback['status']}", "conflict")
    attempts = int(callback["attempts"] or 0) + 1
    if attempt.outcome in FAILED_OUTCOMES:
        failed = attempts  # every attempt before a "reached" one failed
        if failed >= SURVEY_AFTER_FAILED:
            return Result(callback["status"], attempts, None, not callback.get("survey_sent_at"), None)
        return Result(callback["status"], attempts, now + RETRY_DELAYS[min(failed, len(RETRY_DELAYS)) - 1],
                      False, None)
    return finish(callback, attempt.satisfaction, attempts)


def finish(callback: dict, satisfaction: str, attempts: int) -> Result:
    if satisfaction in COMPLETING:
        return Result("done", attempts, None, False, "callback_completed")
    status = "escalated" if escalates(callback) else "done"
    return Result(status, attempts, None, False, "callback_dissatisfied")


def escalates(callback: dict) -> bool:
    return int(callback.get("round") or 1) >= ESCALATE_AFTER_ROUNDS


def outcome_payload(callback: dict, attempt: Attempt, by: str | None, via: str) -> dict:
    """The body of ``callback_completed`` / ``callback_dissatisfied``."""
    body = {"callback_id": callback["id"], "case_id": callback["complaint_id"],
            "complaint_id": callback["complaint_id"], "reference": callback["reference"],
            "estate_code": callback["estate_code"], "satisfaction": attempt.satisfaction, "words": attempt.words,
            "valid": attempt.valid, "solved": attempt.solved, "by": by, "via": via,
            "round": int(callback.get("round") or 1)}
    if attempt.satisfaction == "dissatisfied":
        body["escalate"] = escalates(callback)
    return body
