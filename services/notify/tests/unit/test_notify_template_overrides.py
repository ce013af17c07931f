"""Template overrides: the sandboxed check (line numbers, unsafe access, autoescape), the estate -> tenant ->
default lookup, who may save, and the acknowledgement sent with an override (throwaway SQLite, no broker)."""
import uuid

import pytest
from sqlalchemy import func, select

from estatedesk_common.envelope import Envelope
from notify import handlers, template_overrides as overrides, templates
from notify.domain.template_overrides import MAX_SOURCE, MESSAGES, InvalidOverride, sample_context
from notify.exceptions import Forbidden, ValidationFailed
from notify.tables import messages, template_overrides as table

ADMIN = [["group_admin", None]]
MANAGER = [["site_manager", "DEMO-RES"]]
ACK = "acknowledgement"


def _save(new_uow, tenant, parts, estate=None, roles=ADMIN, locale="zh_CN", message=ACK):
    return overrides.save_template(tenant, "u-1", roles, new_uow(), message, locale, parts, estate)


def _subject(engine, tenant, estate):
    with engine.connect() as conn:
        context = sample_context(ACK, "zh_CN")
        return overrides.scoped(conn, tenant, estate).render(ACK, "zh_CN", context).subject


def _count(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize("message, parts", sorted(MESSAGES.items()))
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_shipped_default_passes_the_check_against_its_sample(message, parts, locale):
    """The sample context has every variable the real message has (else a copy of the default is refused)."""
    for part in parts:
        source = templates.default_source(message, locale, part)
        assert source, (message, locale, part)
        assert templates.check(part, source, sample_context(message, locale))


def test_the_sandbox_refuses_reaching_outside_with_the_line():
    with pytest.raises(InvalidOverride) as caught:
        templates.check("body_txt", "您好\n{{ reference }}\n{{ ''.__class__.__mro__ }}", {"reference": "X"})
    assert caught.value.line == 3 and caught.value.field == "parts.body_txt"
    assert "not allowed" in str(caught.value) and "__class__" in str(caught.value)


def test_attr_filter_and_huge_repetition_are_refused_too():
    with pytest.raises(InvalidOverride, match="not allowed"):
        templates.check("subject", "{{ reference|attr('__class__') }}", {"reference": "X"})
    with pytest.raises(InvalidOverride, match="repetition") as caught:
        templates.check("body_txt", "a\n{{ 'x' * 100000000 }}", {})
    assert caught.value.line == 2


def test_a_syntax_error_names_its_line():
    with pytest.raises(InvalidOverride) as caught:
        templates.check("body_html", "<p>\n{{ reference }}\n{% if %}</p>", {"reference": "X"})
    assert caught.value.line == 3
    assert str(caught.value).startswith("syntax error")


def test_an_unknown_variable_is_refused_even_in_a_branch_not_taken():
    with pytest.raises(InvalidOverride) as caught:
        templates.check("body_txt", "{{ reference }}\n{% if false %}\n{{ owner.phone }}{% endif %}",
                        {"reference": "X"})
    assert caught.value.line == 3 and "'owner'" in str(caught.value)


def test_an_override_in_html_is_autoescaped_and_text_is_not():
    scoped = templates.Scoped({(ACK, "zh_CN", "body_html"): "<p>{{ description }}</p>",
                               (ACK, "zh_CN", "body_txt"): "{{ description }}"})
    context = sample_context(ACK, "zh_CN") | {"description": "<script>x</script>"}
    out = scoped.render(ACK, "zh_CN", context)
    assert out.html == "<p>&lt;script&gt;x&lt;/script&gt;</p>"
    assert out.text == "<script>x</script>"
    assert "您的投诉已受理" in out.subject  # the part not overridden is the default


def test_lookup_order_estate_then_tenant_then_default(engine, new_uow):
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    _save(new_uow, tenant, {"subject": "集团：{{ reference }}"})
    _save(new_uow, tenant, {"subject": "项目：{{ reference }}"}, estate="DEMO-RES", roles=MANAGER)
    assert _subject(engine, tenant, "DEMO-RES") == "项目：TS20261124-7KQ2MX"
    assert _subject(engine, tenant, "DEMO-NEW") == "集团：TS20261124-7KQ2MX"
    assert _subject(engine, other, "DEMO-RES").startswith("【锦绣花园】您的投诉已受理")  # another tenant: default
    assert overrides.delete_template(tenant, MANAGER, new_uow(), ACK, "zh_CN", "DEMO-RES")["deleted"] == 1
    assert _subject(engine, tenant, "DEMO-RES") == "集团：TS20261124-7KQ2MX"
    overrides.delete_template(tenant, ADMIN, new_uow(), ACK, "zh_CN", None, "subject")
    assert _subject(engine, tenant, "DEMO-RES").startswith("【锦绣花园】")


def test_saving_again_bumps_the_version_and_get_shows_what_is_in_force(engine, new_uow):
    tenant = str(uuid.uuid4())
    _save(new_uow, tenant, {"subject": "A {{ reference }}"})
    _save(new_uow, tenant, {"subject": "B {{ reference }}"})
    got = _save(new_uow, tenant, {"sms": "【{{ estate_name }}】已受理 {{ reference }}"}, estate="DEMO-RES")
    assert got["parts"]["subject"]["inherited"] == "B {{ reference }}"
    assert got["parts"]["subject"]["in_force"] == "tenant" and got["parts"]["sms"]["in_force"] == "estate"
    assert got["parts"]["body_html"]["in_force"] == "default" and "<html" in got["parts"]["body_html"]["default"]
    tenant_level = overrides.get_template(tenant, ADMIN, engine, ACK, "zh_CN")
    assert (tenant_level["parts"]["subject"]["override"], tenant_level["parts"]["subject"]["version"]) == (
        "B {{ reference }}", 2)
    listed = overrides.list_template_overrides(tenant, MANAGER, engine)["overrides"]
    assert {(o["part"], o["estate"]) for o in listed} == {("subject", None), ("sms", "DEMO-RES")}


def test_a_bad_template_is_never_saved_and_the_error_names_part_and_line(engine, new_uow):
    tenant = str(uuid.uuid4())
    with pytest.raises(ValidationFailed) as caught:
        _save(new_uow, tenant, {"subject": "好 {{ reference }}", "body_txt": "第一行\n{{ reference.__class__ }}"})
    assert caught.value.details["field"] == "parts.body_txt" and caught.value.details["line"] == 2
    assert set(caught.value.details["errors"]) == {"body_txt"}
    with pytest.raises(ValidationFailed, match="at most"):
        _save(new_uow, tenant, {"body_txt": "x" * (MAX_SOURCE + 1)})
    with pytest.raises(ValidationFailed) as caught:
        _save(new_uow, tenant, {"body_txt": "x"}, message="staff_alert", estate=None, locale="de")
    assert caught.value.details["field"] == "locale"
    assert _count(engine) == 0  # the good subject was not saved either


def test_preview_renders_without_saving_and_reports_each_bad_part(engine, new_uow):
    tenant = str(uuid.uuid4())
    out = overrides.preview_template(tenant, ADMIN, engine, ACK, "en", {"subject": "Hi {{ reference }}",
                                                                        "body_html": "{% for %}", "sms": None})
    assert out["parts"]["subject"] == "Hi TS20261124-7KQ2MX"
    assert "TS20261124-7KQ2MX" in out["parts"]["sms"] and "Jinxiu Garden" in out["parts"]["sms"]
    assert out["errors"]["body_html"]["line"] == 1
    assert _count(engine) == 0


def test_who_may_save(new_uow):
    tenant = str(uuid.uuid4())
    for roles, estate in ((MANAGER, None), (MANAGER, "DEMO-NEW"), ([["agent", "DEMO-RES"]], "DEMO-RES"),
                          ([["cs_supervisor", "DEMO-RES"]], "DEMO-RES")):
        with pytest.raises(Forbidden):
            _save(new_uow, tenant, {"subject": "x"}, estate=estate, roles=roles)
    _save(new_uow, tenant, {"subject": "x"}, estate="DEMO-RES", roles=MANAGER)
    _save(new_uow, tenant, {"subject": "x"}, estate="DEMO-NEW", roles=[["head_office", None]])
    with pytest.raises(ValidationFailed) as caught:  # superior reports know no estate
        _save(new_uow, tenant, {"subject": "x"}, estate="DEMO-RES", message="superior_report")
    assert caught.value.details["field"] == "estate"


def test_the_acknowledgement_is_sent_with_the_estates_override(engine, new_uow, make_case_opened):
    tenant = str(uuid.uuid4())
    _save(new_uow, tenant, {"subject": "【{{ estate_name }}】已收到您的投诉 {{ reference }}",
                            "body_html": "<p>{{ description }}</p>"}, estate="DEMO-RES", roles=MANAGER)
    payload = make_case_opened(description="<b>漏水</b>")
    assert handlers.on_case_opened(Envelope(event_type="case_opened", tenant_id=tenant, payload=payload),
                                   new_uow()) == {"email"}
    with engine.connect() as conn:
        row = conn.execute(select(messages)).mappings().one()
    assert row["subject"] == f"【锦绣花园】已收到您的投诉 {payload['reference']}"
    assert row["body_html"] == "<p>&lt;b&gt;漏水&lt;/b&gt;</p>"
    assert "您的投诉已受理" in row["body_text"]  # not overridden: the default
