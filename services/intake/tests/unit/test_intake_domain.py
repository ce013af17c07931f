import datetime as dt

import pytest

from intake.domain.complaint import Estate, InvalidComplaint, make_reference, new_complaint, to_event_payload

ESTATE = Estate("DEMO-RES", "锦绣花园", "residential", "Asia/Shanghai", "EAST")
NOW = dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.timezone.utc)


def complaint(**over):
    data = {"estate": "DEMO-RES", "channel": "web", "description": " 电梯困人 ",
            "complainant": {"name": "王先生", "phone": "13800138000", "unit": "1栋101"}}
    data.update(over)
    return new_complaint(data, "t1", ESTATE, NOW, "u1")


def test_a_valid_complaint_is_normalised():
    c = complaint()
    assert c.description == "电梯困人" and c.channel == "web" and c.status == "received"
    assert c.complainant.phone == "13800138000" and not c.urgent


def test_reference_uses_the_site_local_date():
    # 16:30 UTC on the 24th is 00:30 on the 25th in Shanghai
    assert make_reference(NOW, "Asia/Shanghai", token="7KQ2MX") == "TS20261125-7KQ2MX"
    assert complaint().reference.startswith("TS20261125-")


@pytest.mark.parametrize("over, field", [
    ({"description": "   "}, "description"),
    ({"description": "x" * 5001}, "description"),
    ({"channel": "pigeon"}, "channel"),
    ({"complainant": {"name": "王"}}, "complainant.phone"),
    ({"complainant": {"phone": "12ab"}}, "complainant.phone"),
    ({"complainant": {"email": "not-mail"}}, "complainant.email"),
    ({"complainant": "王先生"}, "complainant"),
    ({"urgent": "yes"}, "urgent"),
    ({"category": 5}, "category"),
    ({"location": "3栋"}, "location"),
    ({"location": {"building": "x" * 41}}, "location.building"),
    ({"location": {"facility": 7}}, "location.facility"),
])
def test_invalid_input_names_the_field(over, field):
    with pytest.raises(InvalidComplaint) as err:
        complaint(**over)
    assert err.value.field == field


def test_event_payload_carries_the_estate_snapshot_for_other_services():
    payload = to_event_payload(complaint())
    assert payload["estate"] == {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential",
                                 "timezone": "Asia/Shanghai", "region": "EAST"}
    assert payload["received_at"] == "2026-11-24T16:30:00+00:00"


def test_event_payload_carries_the_unit_count_only_when_known():
    """``estate.units`` is optional (reporting's complaints per 1,000 units): absent when no unit is registered."""
    estate = Estate("DEMO-RES", "锦绣花园", "residential", "Asia/Shanghai", "EAST", units=8)
    with_units = to_event_payload(new_complaint({"estate": "DEMO-RES", "channel": "web", "description": "电梯困人",
                                                 "complainant": {"name": "王先生", "phone": "13800138000"}},
                                                "t1", estate, NOW, "u1"))
    assert with_units["estate"]["units"] == 8
    assert "units" not in to_event_payload(complaint())["estate"]


def test_event_payload_carries_the_location_only_when_one_is_named():
    assert "location" not in to_event_payload(complaint())
    assert "location" not in to_event_payload(complaint(location={"building": " ", "facility": ""}))
    payload = to_event_payload(complaint(location={"building": " 3栋 ", "facility": None}))
    assert payload["location"] == {"building": "3栋", "facility": None}
    assert payload["schema_version"] == 1  # an optional field: consumers that do not know it ignore it
    assert to_event_payload(complaint(location={"facility": "地下车库"}))["location"] == {
        "building": None, "facility": "地下车库"}


def test_control_characters_are_removed_from_the_canonical_text():
    c = complaint(description="电梯\x00困人\x07\r\n第二行\t完", complainant={"name": "王\x1b先生", "phone": "13800138000"})
    assert c.description == "电梯困人\r\n第二行\t完" and c.complainant.name == "王先生"
    with pytest.raises(InvalidComplaint):
        complaint(description="\x00\x01 ")
