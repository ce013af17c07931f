"""Routing rules: estate + category -> responsible department and a team, one member picked per case. No
framework imports.

Seed 002 §3 and seed 001 part 3: a complaint goes to the department responsible for its kind of problem at its
site. A tenant keeps rules per scope: ``group`` (every estate) and ``estate:<code>``. A rule names an optional
``category`` (none = every category), the ``department`` and the ``team`` (user names as the gateway knows them;
workflow stores strings), and how a member is picked: ``round_robin`` (the member after the one picked last by
that rule) or ``least_loaded`` (the member with the fewest active cases, team order breaking ties).

The most specific rule wins: estate + category, then estate's default (no category), then the group's rule for
the category, then the group's default. No rule: the case stays unassigned (the supervisor assigns by hand).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

STRATEGIES = ("round_robin", "least_loaded")
STRATEGY_ZH = {"round_robin": "轮流分配", "least_loaded": "按当前工作量最少分配"}
MAX_RULES = 100
MAX_TEAM = 50
SCOPE = re.compile(r"^(group|estate:[A-Za-z0-9_\-]{1,40})$")
CATEGORY = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
# an automatic assignment meets the stages met by ``assign`` (the supervisor's assignment, seed 002 moderate; the
# department's start of handling, seed 002 minor: "assignment is immediate"; a tenant's own stages with
# ``met_by: [assign]``) except these: a person forms the special team; the committee stage is met at receipt
NOT_BY_ROUTING = ("special_team", "committee_forward")


class RuleInvalid(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Rule:
    scope: str
    position: int
    category: str | None
    department: str
    team: tuple[str, ...]
    strategy: str
    last_assignee: str | None = None

    @property
    def estate(self) -> str | None:
        return self.scope[len("estate:"):] if self.scope.startswith("estate:") else None

    def describe_zh(self) -> str:
        where = f"项目 {self.estate}" if self.estate else "集团"
        return f"{where}{'类别 ' + self.category if self.category else '默认'}规则"


def parse_rules(scope: str, raw) -> list[Rule]:
    """Validate the rules a caller saves for ``scope``; at most one rule per category (and one default)."""
    if not isinstance(scope, str) or not SCOPE.match(scope):
        raise RuleInvalid("scope", "scope must be group or estate:<code>")
    if not isinstance(raw, list):
        raise RuleInvalid("rules", "rules must be a list")
    if len(raw) > MAX_RULES:
        raise RuleInvalid("rules", f"at most {MAX_RULES} rules per scope")
    rules, seen = [], set()
    for i, item in enumerate(raw):
        where = f"rules[{i}]"
        if not isinstance(item, dict):
            raise RuleInvalid(where, f"{where} must be an object")
        category = item.get("category") or None
        if category is not None and (not isinstance(category, str) or not CATEGORY.match(category)):
            raise RuleInvalid(f"{where}.category", "category must be a category key (letters, digits, _ or -)")
        if category in seen:
            raise RuleInvalid(f"{where}.category", f"two rules for {'category ' + category if category else 'the default'}")
        seen.add(category)
        department = item.get("department")
        if not isinstance(department, str) or not department.strip() or len(department.strip()) > 100:
            raise RuleInvalid(f"{where}.department", "department is required (at most 100 characters)")
        team = item.get("team")
        if not isinstance(team, list) or not team or len(team) > MAX_TEAM:
            raise RuleInvalid(f"{where}.team", f"team must list 1 to {MAX_TEAM} users")
        members = []
        for member in team:
            if not isinstance(member, str) or not member.strip() or len(member.strip()) > 100:
                raise RuleInvalid(f"{where}.team", "each team member is a user name of at most 100 characters")
            if member.strip() not in members:
                members.append(member.strip())
        strategy = item.get("strategy") or "round_robin"
        if strategy not in STRATEGIES:
            raise RuleInvalid(f"{where}.strategy", f"strategy must be one of {', '.join(STRATEGIES)}")
        rules.append(Rule(scope, i, category, department.strip(), tuple(members), strategy))
    return rules


def match(rules, estate: str, category: str | None) -> Rule | None:
    """The most specific rule for a case at ``estate`` of ``category`` (see the module docstring)."""
    def find(scope, cat):
        return next((r for r in rules if r.scope == scope and r.category == cat), None)

    order = [(f"estate:{estate}", category), (f"estate:{estate}", None), ("group", category), ("group", None)]
    for scope, cat in order:
        found = find(scope, cat)
        if found is not None:
            return found
    return None


def pick(rule: Rule, loads: dict | None = None) -> str:
    """The member who gets the case. ``loads``: {member: active cases} for ``least_loaded``."""
    if rule.strategy == "least_loaded":
        loads = loads or {}
        return min(rule.team, key=lambda m: (loads.get(m, 0), rule.team.index(m)))
    if rule.last_assignee in rule.team:
        return rule.team[(rule.team.index(rule.last_assignee) + 1) % len(rule.team)]
    return rule.team[0]


def as_dict(rule: Rule) -> dict:
    return {"scope": rule.scope, "estate": rule.estate, "category": rule.category, "department": rule.department,
            "team": list(rule.team), "strategy": rule.strategy, "last_assignee": rule.last_assignee}
