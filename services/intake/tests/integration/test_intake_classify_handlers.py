"""Classification on a real database (SQLite, or Postgres via TEST_DATABASE_URL): automatic category on
registration, agents' corrections written atomically with their event, tenant isolation, learning."""
import uuid

import pytest
from sqlalchemy import func, select

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.errors import NotFound, ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from intake import classification, classification_repository, handlers
from intake.seed import seed_demo
from intake.tables import classification_feedback, complaints, reliability

pytestmark = pytest.mark.integration

TENANT = DEMO_TENANT["id"]
LIFT = {"estate": "DEMO-RES", "channel": "hotline", "description": "3栋电梯困人十分钟了，里面有老人，赶紧来人",
        "complainant": {"name": "王先生", "phone": "13800138000", "unit": "1栋101"}}


@pytest.fixture
def engine(intake_engine):
    seed_demo(intake_engine)
    return intake_engine


@pytest.fixture
def uow(clock):
    return lambda engine: UnitOfWork(engine, reliability, clock)


@pytest.fixture
def cache():
    return classification.ClassifierCache()


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def outbox_bodies(engine):
    with engine.connect() as conn:
        return [r.body for r in conn.execute(select(reliability.outbox.c.body).order_by(reliability.outbox.c.id))]


def test_a_complaint_without_category_gets_an_automatic_one(engine, uow, cache):
    result = handlers.register_complaint(LIFT, TENANT, "agent-1", uow(engine), cache)
    assert result["category"] == "facilities_equipment" and result["category_source"] == "auto"
    assert result["severity"] == "major" and result["severity_source"] == "auto"
    assert len(result["classification"]["categories"]) == 3
    assert "困人" in result["classification"]["urgency_hints"]
    (body,) = outbox_bodies(engine)
    assert body["payload"]["category"] == "facilities_equipment" and body["payload"]["category_source"] == "auto"
    assert body["payload"]["severity"] == "major"
    stored = handlers.get_complaint(result["id"], TENANT, engine)
    assert stored["category_source"] == "auto"
    assert stored["classification"]["categories"][0]["category"] == "facilities_equipment"


def test_a_category_the_caller_gives_is_kept_as_the_agents(engine, uow, cache):
    result = handlers.register_complaint(dict(LIFT, category="security", severity="moderate"), TENANT, None,
                                         uow(engine), cache)
    assert (result["category"], result["category_source"]) == ("security", "agent")
    assert (result["severity"], result["severity_source"]) == ("moderate", "agent")
    assert result["classification"]["categories"][0]["category"] == "facilities_equipment"  # still suggested


def test_urgent_without_severity_is_the_top_of_the_scheme(engine, uow, cache):
    result = handlers.register_complaint(dict(LIFT, description="建议多放几张长椅", urgent=True), TENANT, None,
                                         uow(engine), cache)
    assert result["severity"] == "major" and result["category"] == "suggestion"


def test_unknown_category_on_registration_writes_nothing(engine, uow, cache):
    with pytest.raises(ValidationFailed) as err:
        handlers.register_complaint(dict(LIFT, category="lift"), TENANT, None, uow(engine), cache)
    assert err.value.details["field"] == "category"
    assert count(engine, complaints) == 0 and count(engine, reliability.outbox) == 0


def test_a_correction_updates_the_complaint_and_writes_feedback_and_event_together(engine, uow, cache):
    created = handlers.register_complaint(LIFT, TENANT, "agent-1", uow(engine), cache)
    result = classification.correct_classification(created["id"], "security", "moderate", TENANT, "agent-2",
                                                   uow(engine), cache)
    assert result["category"] == "security" and result["category_source"] == "agent"
    assert result["severity"] == "moderate" and result["severity_source"] == "agent"
    assert result["previous"]["category"] == "facilities_equipment"
    stored = handlers.get_complaint(created["id"], TENANT, engine)
    assert (stored["category"], stored["category_source"], stored["severity"]) == ("security", "agent", "moderate")
    assert count(engine, classification_feedback, classification_feedback.c.tenant_id == TENANT) == 1
    with engine.connect() as conn:
        feedback = conn.execute(select(classification_feedback)).one()
    assert (feedback.complaint_id, feedback.category, feedback.corrected_by) == (created["id"], "security", "agent-2")
    assert feedback.text == LIFT["description"]
    event = outbox_bodies(engine)[-1]
    assert event["event_type"] == "complaint_reclassified" and event["tenant_id"] == TENANT
    assert event["payload"]["old"]["category"] == "facilities_equipment"
    assert event["payload"]["new"] == {"category": "security", "severity": "moderate",
                                       "category_source": "agent", "severity_source": "agent"}
    assert event["payload"]["reference"] == created["reference"]


def test_a_correction_without_severity_keeps_the_severity(engine, uow, cache):
    created = handlers.register_complaint(LIFT, TENANT, None, uow(engine), cache)
    result = classification.correct_classification(created["id"], "security", None, TENANT, None, uow(engine),
                                                   cache)
    assert (result["severity"], result["severity_source"]) == ("major", "auto")


def test_a_failed_correction_leaves_no_trace(engine, uow, cache, monkeypatch):
    created = handlers.register_complaint(LIFT, TENANT, None, uow(engine), cache)
    failing = uow(engine)
    monkeypatch.setattr(failing, "publish", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("broker gone")))
    with pytest.raises(RuntimeError):
        classification.correct_classification(created["id"], "security", None, TENANT, None, failing, cache)
    assert handlers.get_complaint(created["id"], TENANT, engine)["category"] == "facilities_equipment"
    assert count(engine, classification_feedback) == 0 and len(outbox_bodies(engine)) == 1
    with engine.connect() as conn:
        assert classification_repository.version(conn, TENANT) == 1  # the seed's, not bumped


def test_another_tenants_complaint_cannot_be_corrected(engine, uow, cache):
    mine = handlers.register_complaint(LIFT, TENANT, None, uow(engine), cache)
    with pytest.raises(NotFound) as err:
        classification.correct_classification(mine["id"], "security", None, OTHER_TENANT["id"], None,
                                              uow(engine), cache)
    assert err.value.code == "complaint_not_found"
    assert count(engine, classification_feedback) == 0 and len(outbox_bodies(engine)) == 1
    assert handlers.get_complaint(mine["id"], TENANT, engine)["category_source"] == "auto"


@pytest.mark.parametrize("complaint_id, category, severity, error, field", [
    (None, "greening", None, ValidationFailed, "category"),       # id filled in below
    (None, "", None, ValidationFailed, "category"),
    (None, "security", "", ValidationFailed, "severity"),
    (None, "security", "x" * 41, ValidationFailed, "severity"),
    ("not-an-id", "security", None, NotFound, "id"),
    (str(uuid.uuid4()), "security", None, NotFound, "id"),
])
def test_bad_corrections(engine, uow, cache, complaint_id, category, severity, error, field):
    created = handlers.register_complaint(LIFT, TENANT, None, uow(engine), cache)
    if category == "greening":
        category = "no_such_category"
    with pytest.raises(error) as err:
        classification.correct_classification(complaint_id or created["id"], category, severity, TENANT, None,
                                              uow(engine), cache)
    assert err.value.details["field"] == field
    assert count(engine, classification_feedback) == 0


def test_corrections_retrain_the_tenants_model_once_and_only_for_that_tenant(engine, uow, cache):
    text = "地下车库的积水很深，车都开不进去"
    before = classification.suggest_classification(text, TENANT, engine, cache)
    assert before["category"] != "municipal"
    assert classification.suggest_classification(text, TENANT, engine, cache) == before
    builds = cache.builds
    for description in ("地下车库积水是市政管网排不出去造成的", "车库的积水来自外面的市政道路", text):
        created = handlers.register_complaint(dict(LIFT, description=description), TENANT, None, uow(engine), cache)
        classification.correct_classification(created["id"], "municipal", "moderate", TENANT, "agent-1",
                                              uow(engine), cache)
    after = classification.suggest_classification(text, TENANT, engine, cache)
    assert after["category"] == "municipal"
    assert after["categories"][0]["name"] == "市政"
    rebuilt = cache.builds
    assert rebuilt > builds
    classification.suggest_classification(text, TENANT, engine, cache)
    assert cache.builds == rebuilt  # no retraining without a new correction
    other = classification.suggest_classification(text, OTHER_TENANT["id"], engine, cache)
    assert other["category"] == before["category"]  # another tenant's model did not learn from these


def test_suggest_reports_keywords_and_rejects_empty_text(engine, cache):
    result = classification.suggest_classification("楼下草坪上全是狗屎，没人清理", TENANT, engine, cache)
    assert result["category"] == "sanitation" and result["categories"][0]["name"] == "环境卫生"
    assert result["categories"][0]["name_en"] == "Sanitation"
    assert "狗屎" in [m["keyword"] for m in result["matched_keywords"]]
    with pytest.raises(ValidationFailed) as err:
        classification.suggest_classification("   ", TENANT, engine, cache)
    assert err.value.details["field"] == "text"


def test_a_tenant_without_rules_or_categories_gets_the_defaults(intake_engine, cache):
    tenant = str(uuid.uuid4())
    result = classification.suggest_classification("电梯坏了", tenant, intake_engine, cache)
    assert result["category"] == "facilities_equipment"
