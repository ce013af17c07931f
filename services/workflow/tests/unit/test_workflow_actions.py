import pytest

from workflow.domain.actions import InvalidAction, decide


def test_contact_meets_first_contact_and_status_never_moves_back():
    d = decide("contact", "open", {})
    assert d.status == "contacted" and "first_contact" in d.stages
    assert decide("assign", "contacted", {"assignee": "工程部 李工"}).status == "contacted"


@pytest.mark.parametrize("action, status, data, field", [
    ("fly", "open", {}, "action"),
    ("assign", "open", {}, "assignee"),
    ("plan", "open", {"note": "  "}, "note"),
    ("resolve", "open", {"cause": "bad luck", "remedy": "x"}, "cause"),
    ("resolve", "open", {"cause": "facility_fault"}, "remedy"),
    ("resolve", "open", {"cause": "facility_fault", "remedy": "换件", "loss_amount": -1}, "loss_amount"),
    ("contact", "closed", {}, "action"),
    ("accept", "open", {}, "action"),
    ("cancel", "open", {}, "reason"),
])
def test_invalid_actions_name_the_field(action, status, data, field):
    with pytest.raises(InvalidAction) as err:
        decide(action, status, data)
    assert err.value.field == field


def test_a_loss_of_500_yuan_needs_a_nonconformity_record():
    assert decide("resolve", "in_progress", {"cause": "staff_fault_with_loss", "remedy": "赔偿",
                                             "loss_amount": 500}).details["nonconformity_required"]
    assert not decide("resolve", "in_progress", {"cause": "facility_fault", "remedy": "维修",
                                                 "loss_amount": 499.5}).details["nonconformity_required"]
    assert decide("accept", "resolved", {}).status == "closed"
