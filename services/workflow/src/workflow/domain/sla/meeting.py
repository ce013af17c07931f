"""Which case actions meet which stage: a stage's ``met_by`` in the policy document. No framework imports.

``met_by`` lists actions from ``ACTIONS``: the staff actions of ``act`` (``contact``, ``assign``, ``plan``,
``progress``, ``resolve``, ``accept``) and ``callback`` (notify's callback answered, satisfied or not). A stage
that does not say ``met_by`` is met by the defaults for its name (``DEFAULT_MET_BY``: the presets' stage names),
so documents written before ``met_by`` existed keep working; a stage with neither is met by no action (it
breaches unless the case is closed or cancelled first), so a custom stage should name its actions.

A stage met by ``accept`` or ``callback`` lives on after the case is resolved (``lives_after_resolution``): its
warning and breach still fire until it is met or the case is closed or cancelled.
"""
from __future__ import annotations

ACTIONS = ("contact", "assign", "plan", "progress", "resolve", "accept", "callback")
POST_RESOLUTION = frozenset({"accept", "callback"})  # actions that come after the resolution
DEFAULT_MET_BY = {
    "first_contact": ("contact",),
    "committee_forward": ("contact", "assign"),
    "assignment": ("assign",),
    "start": ("assign",),
    "special_team": ("assign",),
    "plan": ("plan",),
    "department_plan": ("plan",),
    "plan_told": ("plan",),
    "site_investigation": ("plan",),
    "on_site": ("plan", "progress"),  # seed 000 urgent: on site within the hour, said by a plan or an update
    "progress_check": ("progress",),
    "resolution": ("resolve",),
    "simple_fix": ("resolve",),
    "reply": ("contact", "resolve"),  # seed 000 suggestion: listened to and answered
    "owner_acceptance": ("accept",),
    "callback": ("callback",),
}


def met_by(name: str, explicit=None) -> tuple[str, ...]:
    """The actions that meet stage ``name``: its own ``met_by``, else the default for the name, else none."""
    return tuple(explicit) if explicit is not None else DEFAULT_MET_BY.get(name, ())


def stages_met(action: str, actions_of: dict, stages) -> list[str]:
    """Of ``stages`` (names), those ``action`` meets; ``actions_of`` {stage: actions} (a stage not in it: the
    default for its name)."""
    return [s for s in stages if action in actions_of.get(s, met_by(s))]


def lives_after_resolution(actions) -> bool:
    return bool(set(actions) & POST_RESOLUTION)
