"""Routing rules (domain/routing.py): validation, the most specific rule, round-robin and least-loaded."""
import pytest

from workflow.domain.routing import Rule, RuleInvalid, match, parse_rules, pick


def rule(scope="estate:DEMO-RES", category=None, team=("a", "b", "c"), strategy="round_robin", last=None):
    return Rule(scope, 0, category, "工程部", tuple(team), strategy, last)


def test_parse_keeps_order_trims_and_dedupes_team():
    [r] = parse_rules("estate:DEMO-RES", [{"category": "sanitation", "department": " 环境部 ",
                                           "team": ["a", " a", "b"]}])
    assert (r.category, r.department, r.team, r.strategy, r.position) == ("sanitation", "环境部", ("a", "b"),
                                                                          "round_robin", 0)


@pytest.mark.parametrize("scope,raw,field", [
    ("estate:", [], "scope"),
    ("region:EAST", [], "scope"),
    ("group", {"x": 1}, "rules"),
    ("group", [{"department": "", "team": ["a"]}], "rules[0].department"),
    ("group", [{"department": "工程部", "team": []}], "rules[0].team"),
    ("group", [{"department": "工程部", "team": [""]}], "rules[0].team"),
    ("group", [{"department": "工程部", "team": ["a"], "strategy": "random"}], "rules[0].strategy"),
    ("group", [{"department": "工程部", "team": ["a"], "category": "bad key!"}], "rules[0].category"),
    ("group", [{"department": "A", "team": ["a"]}, {"department": "B", "team": ["b"]}], "rules[1].category"),
])
def test_bad_rules_name_the_field(scope, raw, field):
    with pytest.raises(RuleInvalid) as err:
        parse_rules(scope, raw)
    assert err.value.field == field


def test_the_most_specific_rule_wins():
    rules = [rule("group", None), rule("group", "sanitation"), rule("estate:DEMO-RES", None),
             rule("estate:DEMO-RES", "greening")]
    assert match(rules, "DEMO-RES", "greening") == rules[3]
    assert match(rules, "DEMO-RES", "sanitation") == rules[2]  # the estate's default beats the group's category
    assert match(rules, "DEMO-OFFICE", "sanitation") == rules[1]
    assert match(rules, "DEMO-OFFICE", None) == rules[0]
    assert match([rules[3]], "DEMO-OFFICE", "greening") is None
    assert match([], "DEMO-RES", None) is None


def test_round_robin_follows_the_team_and_wraps():
    assert pick(rule()) == "a"
    assert pick(rule(last="a")) == "b"
    assert pick(rule(last="c")) == "a"
    assert pick(rule(last="gone")) == "a"  # the last member left the team


def test_least_loaded_takes_the_fewest_active_cases_ties_by_team_order():
    r = rule(strategy="least_loaded")
    assert pick(r, {"a": 3, "b": 1, "c": 1}) == "b"
    assert pick(r, {}) == "a"
    assert pick(r, {"a": 1}) == "b"
