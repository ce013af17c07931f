"""Dashboard use cases on a migrated temp SQLite: KPI arithmetic, scoping, reclassification, league table,
hot spots, drill-down, validation and rebuild."""
import datetime as dt
import uuid

import pytest

from estatedesk_common.errors import NotFound, ValidationFailed

from reporting import handlers, reports, repository
from reporting.domain.scope import Scope, scope_from_roles
from reporting.rebuild import rebuild

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ALL = Scope(None)
OFFICE = {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai", "region": "WEST"}


def complaint(events, new_uow, tenant, received_at="2026-11-24T02:00:00+00:00", due="2026-11-24T03:00:00+00:00",
              ack=None, estate=None, **fields):
    """One complaint through all its events; returns its id."""
    cid = str(uuid.uuid4())
    extra = {"estate": estate} if estate else {}
    handlers.record_complaint_received(events.received(tenant, complaint_id=cid, received_at=received_at,
                                                       **extra, **fields), new_uow())
    handlers.record_case_opened(events.opened(tenant, cid, first_contact_due=due, received_at=received_at,
                                              **extra, **fields), new_uow())
    if ack:
        handlers.record_notification(events.notification(tenant, cid, sent_at=ack), new_uow())
    return cid


@pytest.fixture
def tenant():
    return str(uuid.uuid4())


def test_kpis_arithmetic(engine, new_uow, events, tenant):
    complaint(events, new_uow, tenant, ack="2026-11-24T02:30:00+00:00", category="greening")          # on time
    complaint(events, new_uow, tenant, ack="2026-11-24T02:40:00+00:00", channel="web")                # on time
    complaint(events, new_uow, tenant, ack="2026-11-24T04:00:00+00:00", severity="major")             # late
    complaint(events, new_uow, tenant)                                                                 # overdue
    complaint(events, new_uow, tenant, due="2026-11-24T09:00:00+00:00")                               # pending
    k = reports.kpis(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24")
    assert k["received"] == 5 and k["overdue_now"] == 1
    assert k["first_contact"] == {"with_deadline": 5, "on_time": 2, "late": 1, "overdue_now": 1, "pending": 1,
                                  "by_proxy": 3, "on_time_pct": 50.0}
    assert k["acknowledged_within_first_contact_pct"] == 50.0
    assert k["by_channel"] == [{"key": "hotline", "received": 4}, {"key": "web", "received": 1}]
    assert k["by_category"] == [{"key": None, "received": 4}, {"key": "greening", "received": 1}]
    assert {r["key"]: r["received"] for r in k["by_severity"]} == {None: 4, "major": 1}
    assert k["first_contact_on_time_pct"] == 50.0 and k["notes"]["first_contact_on_time_pct"].startswith("3 of")
    assert k["repeat_complaints"] == 0 and k["escalations_by_level"] == [{"level": n, "cases": 0} for n in (1, 2, 3)]
    for name in ("reopen_rate_pct", "callback_coverage_pct", "satisfaction_pct", "resolved_within_limit_pct"):
        assert k[name] is None and name not in k["notes"]  # measured: nothing resolved yet
    for name in ("nonconformity_records", "capa_open", "capa_overdue"):
        assert k[name] == 0 and name not in k["notes"]  # measured (test_reporting_quality): none recorded
    assert k["extensions_requested"] == 0 and k["extensions_approved"] == 0 and "extensions_requested" not in k["notes"]
    assert k["per_1000_units"] is None and k["notes"]["per_1000_units"].startswith("unit counts not known")
    # the clock moves: the pending one is overdue at 09:01; figures stored by events do not change
    later = reports.kpis(tenant, ALL, engine, NOW.replace(hour=9, minute=1), "2026-11-24", "2026-11-24")
    assert later["first_contact"]["overdue_now"] == 2 and later["acknowledged_within_first_contact_pct"] == 40.0


def test_empty_period_has_no_percentage(engine, tenant):
    k = reports.kpis(tenant, ALL, engine, NOW, "2026-01-01", "2026-01-31")
    assert k["received"] == 0 and k["acknowledged_within_first_contact_pct"] is None


def test_site_roles_see_only_their_estates(engine, new_uow, events, tenant):
    complaint(events, new_uow, tenant)
    complaint(events, new_uow, tenant, estate=OFFICE)
    site = scope_from_roles([["site_manager", "DEMO-RES"]])
    assert reports.kpis(tenant, site, engine, NOW, "2026-11-24", "2026-11-24")["received"] == 1
    assert reports.kpis(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24")["received"] == 2
    table = reports.league_table(tenant, site, engine, NOW, "2026-11-24", "2026-11-24")
    assert [r["estate"] for r in table["rows"]] == ["DEMO-RES"]
    page = reports.drilldown(tenant, site, engine, NOW, "received", "2026-11-24", "2026-11-24")
    assert page["total"] == 1 and page["items"][0]["estate"] == "DEMO-RES"
    assert handlers.complaint_counts(tenant, None, None, engine, site)["total"] == 1


@pytest.mark.parametrize("scope, estate", [
    (scope_from_roles([["site_manager", "DEMO-RES"]]), "DEMO-OFFICE"),   # exists, not mine
    (scope_from_roles([["site_manager", "DEMO-RES"]]), "NOPE"),          # does not exist
    (ALL, "NOPE"),
])
def test_an_estate_outside_scope_is_not_found_like_a_missing_one(engine, new_uow, events, tenant, scope, estate):
    complaint(events, new_uow, tenant)
    complaint(events, new_uow, tenant, estate=OFFICE)
    with pytest.raises(NotFound) as info:
        reports.kpis(tenant, scope, engine, NOW, "2026-11-24", "2026-11-24", estate)
    assert info.value.to_dict() == {"error": "not_found", "status": 404, "message": "no such estate",
                                    "details": {"field": "estate"}}
    with pytest.raises(NotFound):
        reports.drilldown(tenant, scope, engine, NOW, "received", "2026-11-24", "2026-11-24", estate=estate)


def test_another_tenants_estate_is_not_found(engine, new_uow, events, tenant):
    complaint(events, new_uow, tenant, estate=OFFICE)
    with pytest.raises(NotFound):
        reports.kpis(str(uuid.uuid4()), ALL, engine, NOW, "2026-11-24", "2026-11-24", "DEMO-OFFICE")
    assert reports.league_table(str(uuid.uuid4()), ALL, engine, NOW, "2026-11-24", "2026-11-24")["rows"] == []


def test_reclassification_moves_counts_once(engine, new_uow, events, tenant):
    cid = complaint(events, new_uow, tenant, ack="2026-11-24T02:30:00+00:00", category="greening",
                    severity="minor")
    event = events.reclassified(tenant, cid, "facilities", "moderate", old_category="greening",
                                old_severity="minor")
    assert handlers.record_complaint_reclassified(event, new_uow()) is True
    assert handlers.record_complaint_reclassified(event, new_uow()) is False  # redelivery
    with engine.connect() as conn:
        rows = repository.daily_rows(conn, tenant)
    assert [(r["category"], r["severity"], r["received"], r["first_contact_on_time"], r["reclassified"])
            for r in rows] == [("facilities", "moderate", 1, 1, 1)]
    k = reports.kpis(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24")
    assert k["by_category"] == [{"key": "facilities", "received": 1}] and k["reclassified"] == 1


def test_a_reclassification_before_the_complaint_is_not_undone_by_it(engine, new_uow, events, tenant):
    cid = str(uuid.uuid4())
    handlers.record_complaint_reclassified(events.reclassified(tenant, cid, "security", "major"), new_uow())
    handlers.record_complaint_received(events.received(tenant, complaint_id=cid, category="noise"), new_uow())
    with engine.connect() as conn:
        rows = repository.daily_rows(conn, tenant)
    assert [(r["category"], r["severity"], r["received"], r["reclassified"]) for r in rows] == [
        ("security", "major", 1, 1)]


def test_a_case_opened_first_is_kept_and_counted_once(engine, new_uow, events, tenant):
    cid = str(uuid.uuid4())
    handlers.record_notification(events.notification(tenant, cid, sent_at="2026-11-24T02:20:00+00:00"), new_uow())
    handlers.record_case_opened(events.opened(tenant, cid), new_uow())
    handlers.record_complaint_received(events.received(tenant, complaint_id=cid), new_uow())
    with engine.connect() as conn:
        rows = repository.daily_rows(conn, tenant)
        fact = repository.get_fact(conn, tenant, cid)
    assert [(r["received"], r["first_contact_due"], r["first_contact_on_time"]) for r in rows] == [(1, 1, 1)]
    assert fact.reference == "TS20261124-7KQ2MX" and fact.acknowledged_at is not None


def test_league_table_period_over_period_and_sorting(engine, new_uow, events, tenant):
    for day in ("2026-11-23", "2026-11-24", "2026-11-24"):
        complaint(events, new_uow, tenant, received_at=f"{day}T02:00:00+00:00", due=f"{day}T03:00:00+00:00",
                  ack=f"{day}T04:00:00+00:00")                                                      # late
    complaint(events, new_uow, tenant, estate=OFFICE, ack="2026-11-24T02:10:00+00:00")             # on time
    table = reports.league_table(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24")
    assert (table["previous_from"], table["previous_to"]) == ("2026-11-23", "2026-11-23")
    res, office = table["rows"]
    assert (res["estate"], res["rank"], res["received"], res["previous_received"], res["received_change"],
            res["received_change_pct"], res["on_time_pct"]) == ("DEMO-RES", 1, 2, 1, 1, 100.0, 0.0)
    assert (office["received"], office["previous_received"], office["received_change_pct"],
            office["on_time_pct"], office["units"]) == (1, 0, None, 100.0, None)
    by_pct = reports.league_table(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24", sort="on_time_pct")
    assert [r["estate"] for r in by_pct["rows"]] == ["DEMO-OFFICE", "DEMO-RES"]
    west = reports.league_table(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24", region="WEST")
    assert [r["estate"] for r in west["rows"]] == ["DEMO-OFFICE"]


def test_hot_spots_against_the_previous_four_weeks(engine, new_uow, events, tenant):
    for week in range(4):  # one greening complaint a week in the 4 weeks before
        day = dt.date(2026, 11, 16) - dt.timedelta(weeks=week)
        complaint(events, new_uow, tenant, received_at=f"{day}T02:00:00+00:00", category="greening")
    for _ in range(6):
        complaint(events, new_uow, tenant, received_at="2026-11-24T02:00:00+00:00", category="greening")
    complaint(events, new_uow, tenant, received_at="2026-11-24T02:00:00+00:00", category="lift")
    spots = reports.hot_spots(tenant, ALL, engine, "2026-11-23", "2026-11-29")
    assert spots["baseline_from"] == "2026-10-26" and spots["baseline_to"] == "2026-11-22"
    assert [(c["category"], c["count"], c["baseline"]) for c in spots["categories"]] == [
        ("greening", 6, [1, 1, 1, 1])]
    assert [(e["estate"], e["count"]) for e in spots["estates"]] == [("DEMO-RES", 7)]
    assert [(p["estate"], p["category"]) for p in spots["estate_categories"]] == [("DEMO-RES", "greening")]
    site = scope_from_roles([["site_manager", "DEMO-OFFICE"]])
    assert reports.hot_spots(tenant, site, engine, "2026-11-23", "2026-11-29")["categories"] == []


def test_drilldown_lists_the_cases_behind_a_figure(engine, new_uow, events, tenant):
    on_time = complaint(events, new_uow, tenant, ack="2026-11-24T02:30:00+00:00", channel="web")
    overdue = complaint(events, new_uow, tenant, received_at="2026-11-24T01:00:00+00:00")
    page = reports.drilldown(tenant, ALL, engine, NOW, "overdue_now", "2026-11-24", "2026-11-24")
    assert [i["complaint_id"] for i in page["items"]] == [overdue]
    assert page["items"][0]["first_contact_status"] == "overdue"
    page = reports.drilldown(tenant, ALL, engine, NOW, "first_contact_on_time", "2026-11-24", "2026-11-24")
    assert [(i["complaint_id"], i["reference"], i["estate_name"], i["channel"]) for i in page["items"]] == [
        (on_time, "TS20261124-7KQ2MX", "锦绣花园", "web")]
    everything = reports.drilldown(tenant, ALL, engine, NOW, "received", "2026-11-24", "2026-11-24", limit=1)
    assert everything["total"] == 2 and [i["complaint_id"] for i in everything["items"]] == [on_time]
    second = reports.drilldown(tenant, ALL, engine, NOW, "received", "2026-11-24", "2026-11-24", limit=1, offset=1)
    assert [i["complaint_id"] for i in second["items"]] == [overdue]
    web = reports.drilldown(tenant, ALL, engine, NOW, "received", "2026-11-24", "2026-11-24", channel="web")
    assert web["total"] == 1


@pytest.mark.parametrize("call, field", [
    (lambda e, t: reports.kpis(t, ALL, e, NOW, "2026-11-30", "2026-11-01"), "from"),
    (lambda e, t: reports.kpis(t, ALL, e, NOW, "2025-01-01", "2026-01-02"), "to"),
    (lambda e, t: reports.kpis(t, ALL, e, NOW, None, "2026-01-02"), "from"),
    (lambda e, t: reports.kpis(t, ALL, e, NOW, "2026-01-02", None), "to"),
    (lambda e, t: reports.league_table(t, ALL, e, NOW, "2026-11-01", "2026-11-30", sort="name"), "sort"),
    (lambda e, t: reports.hot_spots(t, ALL, e, "2026-11-30", "2026-11-01"), "from"),
    (lambda e, t: reports.drilldown(t, ALL, e, NOW, "happiness", "2026-11-01", "2026-11-30"), "metric"),
    (lambda e, t: reports.drilldown(t, ALL, e, NOW, "received", "2026-11-01", "2026-11-30", limit=0), "limit"),
    (lambda e, t: reports.drilldown(t, ALL, e, NOW, "received", "2026-11-01", "2026-11-30", offset=-1), "offset"),
    (lambda e, t: reports.export(t, ALL, e, NOW, "everything", "csv", "2026-11-01", "2026-11-30"), "report"),
    (lambda e, t: reports.export(t, ALL, e, NOW, "kpis", "pdf", "2026-11-01", "2026-11-30"), "format"),
])
def test_bad_requests_name_the_field(engine, tenant, call, field):
    with pytest.raises(ValidationFailed) as info:
        call(engine, tenant)
    assert info.value.field == field


def test_rebuild_recomputes_the_rollup_from_the_facts(engine, new_uow, events, tenant):
    cid = complaint(events, new_uow, tenant, ack="2026-11-24T02:30:00+00:00", category="greening")
    handlers.record_complaint_reclassified(events.reclassified(tenant, cid, "lift", "major"), new_uow())
    complaint(events, new_uow, tenant, estate=OFFICE)
    handlers.record_notification(events.notification(tenant, str(uuid.uuid4())), new_uow())  # fact without day
    with engine.connect() as conn:
        before = repository.daily_rows(conn, tenant)
    with engine.begin() as conn:  # drift: a bucket damaged by hand
        repository.add_to_rollups(conn, tenant, (dt.date(2026, 11, 24), "DEMO-RES", "hotline", "x", ""),
                                {"received": 7})
    summary = rebuild(engine, batch=2, progress=False)
    with engine.connect() as conn:
        after = repository.daily_rows(conn, tenant)
    assert after == before and summary["facts"] == 3 and summary["rollup_rows"] == 2


@pytest.mark.parametrize("start, end, months, edges", [
    ("2026-10-01", "2026-12-31", ("2026-10-01", "2026-12-01"), []),
    # the bench's rolling 91 days: August's 8 days, and November less its 8 days after the range
    ("2026-08-24", "2026-11-22", ("2026-09-01", "2026-11-01"), [("2026-08-24", "2026-08-31", 1),
                                                                ("2026-11-23", "2026-11-30", -1)]),
    ("2026-08-17", "2026-10-15", ("2026-09-01", "2026-09-01"), [("2026-08-17", "2026-08-31", 1),
                                                                ("2026-10-01", "2026-10-15", 1)]),
    ("2026-11-02", "2026-11-30", ("2026-11-01", "2026-11-01"), [("2026-11-01", "2026-11-01", -1)]),
    ("2026-11-01", "2026-11-29", ("2026-11-01", "2026-11-01"), [("2026-11-30", "2026-11-30", -1)]),
    ("2026-11-10", "2026-11-25", ("2026-11-01", "2026-11-01"), [("2026-11-01", "2026-11-09", -1),
                                                                ("2026-11-26", "2026-11-30", -1)]),
    ("2026-11-23", "2026-11-29", None, [("2026-11-23", "2026-11-29", 1)]),
    ("2026-11-28", "2026-12-03", None, [("2026-11-28", "2026-11-30", 1), ("2026-12-01", "2026-12-03", 1)]),
    ("2026-12-15", "2027-02-28", ("2026-12-01", "2027-02-01"), [("2026-12-01", "2026-12-14", -1)]),
    ("2026-12-18", "2027-02-28", ("2027-01-01", "2027-02-01"), [("2026-12-18", "2026-12-31", 1)]),
    ("2024-02-01", "2024-02-29", ("2024-02-01", "2024-02-01"), []),
])
def test_month_parts(start, end, months, edges):
    from reporting.queries import month_parts
    d = dt.date.fromisoformat
    got_months, got_edges = month_parts(d(start), d(end))
    assert got_months == (tuple(map(d, months)) if months else None)
    assert got_edges == [(d(a), d(b), sign) for a, b, sign in edges]
    # the signed parts cover start..end exactly, each day once
    days = {}
    if got_months:
        day = got_months[0]
        while day <= got_months[1] + dt.timedelta(days=31) and (day.year, day.month) <= (got_months[1].year,
                                                                                          got_months[1].month):
            days[day] = days.get(day, 0) + 1
            day += dt.timedelta(days=1)
    for lo, hi, sign in got_edges:
        for k in range((hi - lo).days + 1):
            days[lo + dt.timedelta(days=k)] = days.get(lo + dt.timedelta(days=k), 0) + sign
    wanted = {d(start) + dt.timedelta(days=k) for k in range((d(end) - d(start)).days + 1)}
    assert {day for day, n in days.items() if n} == wanted and set(days.values()) <= {0, 1}



@pytest.mark.parametrize("lo, hi, sign, parts", [
    # an edge of the bench's rolling 91 days: the week of Monday Aug 24 and Monday Aug 31
    ("2026-08-24", "2026-08-31", 1, [("week", "2026-08-24", "2026-08-24"), ("day", "2026-08-31", "2026-08-31")]),
    # taken away: November less the week of Nov 23 and Nov 30
    ("2026-11-23", "2026-11-30", -1, [("week", "2026-11-23", "2026-11-23"), ("day", "2026-11-30", "2026-11-30")]),
    # days before and after, two whole weeks (lo / hi of a week range are its first and last Monday)
    ("2026-11-03", "2026-11-23", 1, [("day", "2026-11-03", "2026-11-08"), ("week", "2026-11-09", "2026-11-16"),
                                     ("day", "2026-11-23", "2026-11-23")]),
    # a week straddling two months, and one straddling two years
    ("2026-09-28", "2026-10-06", 1, [("week", "2026-09-28", "2026-09-28"), ("day", "2026-10-05", "2026-10-06")]),
    ("2026-12-26", "2027-01-10", -1, [("day", "2026-12-26", "2026-12-27"), ("week", "2026-12-28", "2027-01-04")]),
    ("2026-11-23", "2026-11-29", 1, [("week", "2026-11-23", "2026-11-23")]),  # exactly one week
    # shorter than a week, or 7 days that are not Monday .. Sunday: days alone
    ("2026-11-24", "2026-11-29", 1, [("day", "2026-11-24", "2026-11-29")]),
    ("2026-11-26", "2026-12-02", -1, [("day", "2026-11-26", "2026-12-02")]),
    ("2026-11-30", "2026-11-30", 1, [("day", "2026-11-30", "2026-11-30")]),
])
def test_week_parts_read_only_whole_weeks_inside_the_range(lo, hi, sign, parts):
    from reporting.queries import week_parts
    d = dt.date.fromisoformat
    got = week_parts(d(lo), d(hi), sign)
    assert got == [(grain, d(a), d(b), sign) for grain, a, b in parts]
    covered = []
    for grain, a, b, _ in got:
        last = b + dt.timedelta(days=6) if grain == "week" else b
        assert grain == "day" or (a.weekday() == 0 and b.weekday() == 0)
        covered += [a + dt.timedelta(days=k) for k in range((last - a).days + 1)]
    assert covered == [d(lo) + dt.timedelta(days=k) for k in range((d(hi) - d(lo)).days + 1)]  # each day once


def test_rollup_bounds_read_the_edge_ranges_whole_weeks_from_the_week_table_with_the_dimensions():
    from reporting import queries
    from reporting.tables import monthly_by_estate, weekly_by_category, weekly_by_estate, weekly_by_tenant
    d = dt.date.fromisoformat
    periods = [(d("2026-08-24"), d("2026-11-22")), (d("2026-05-25"), d("2026-08-23"))]
    shape, params = queries._bounds(periods, monthly_by_estate)
    assert shape == ((True, (("week", 1), ("day", 1), ("week", -1), ("day", -1))),
                     (True, (("week", 1), ("week", -1), ("day", -1))))
    assert (params["p0_e0_lo"], params["p0_e0_hi"], params["p1_e0_lo"], params["p1_e1_lo"]) == (
        d("2026-08-24"), d("2026-08-24"), d("2026-05-25"), d("2026-08-24"))
    days, _ = queries._bounds(periods, monthly_by_estate, weeks=False)
    assert days == ((True, (("day", 1), ("day", -1))), (True, (("day", 1), ("day", -1))))
    assert queries._bounds(periods[:1], None)[0] == ((False, (("day", 1),)),)  # no month table: the days alone
    assert queries._week_table((), True) is weekly_by_estate
    assert queries._week_table(("channel", "category", "severity"), True) is weekly_by_tenant
    assert queries._week_table(("estate", "category"), False) is weekly_by_category
    assert queries._week_table(("category",), False) is weekly_by_category  # a site's caller: never tenant-wide
    assert queries._week_table(("channel",), False) is None and queries._week_table(("day",), True) is None


def _covered(parts) -> dict:
    """day -> how many times the signed ``hot_ranges`` parts count it (quarters, months and weeks by their days)."""
    from reporting.queries import _add_months
    days: dict = {}
    for grain, lo, hi, sign in parts:
        last = {"day": hi, "week": hi + dt.timedelta(days=6)}.get(grain) or _add_months(
            hi, 3 if grain == "quarter" else 1) - dt.timedelta(days=1)
        for k in range((last - lo).days + 1):
            day = lo + dt.timedelta(days=k)
            days[day] = days.get(day, 0) + sign
    return {day: n for day, n in days.items() if n}


@pytest.mark.parametrize("start, end, grains", [
    ("2026-07-01", "2026-09-30", ["quarter"]),                      # a calendar quarter: one quarter row per key
    # the bench's rolling 91 days: Sep-Nov, the week of Aug 24 and Aug 31, less the week of Nov 23 and Nov 30
    ("2026-08-24", "2026-11-22", ["month", "week", "day", "week", "day"]),
    # Jan less 1-14 (Jan 1-4, the week of Jan 5, Jan 12-14) .. Dec less 21-31 (the week of Dec 21, Dec 28-31)
    ("2026-01-15", "2026-12-20", ["quarter", "day", "week", "day", "week", "day"]),
    ("2026-02-01", "2026-10-31", ["month", "quarter", "month"]),    # Feb-Mar, Q2-Q3, Oct
    ("2026-11-10", "2026-11-25", ["month", "day", "week", "day", "day"]),
    ("2026-11-23", "2026-11-29", ["week"]),
    ("2026-11-24", "2026-11-29", ["day"]),
])
def test_hot_ranges_cover_the_period_with_quarters_months_and_days(start, end, grains):
    from reporting.queries import _hot_shape, hot_ranges
    from reporting.domain.rollup import earlier_period
    d = dt.date.fromisoformat
    parts = hot_ranges(d(start), d(end))
    assert [grain for grain, *_ in parts] == grains
    assert _covered(parts) == {d(start) + dt.timedelta(days=k): 1 for k in range((d(end) - d(start)).days + 1)}
    # the hot-spot statement reads each range once, for every period it counts in (the days at a boundary of two
    # consecutive periods are added to one and taken from the other's whole month)
    periods = [(d(start), d(end))] + [earlier_period(d(start), d(end), k) for k in range(1, 5)]
    (n, ranges), params = _hot_shape(periods)
    assert n == 5 and len(params) == 2 * len(ranges)
    bounds = [(grain, params[f"r{j}_lo"], params[f"r{j}_hi"]) for j, (grain, _) in enumerate(ranges)]
    assert len(set(bounds)) == len(bounds)
    for i, (lo, hi) in enumerate(periods):
        mine = [(grain, a, b, sign) for (grain, a, b), (_, uses) in zip(bounds, ranges) for k, sign in uses if k == i]
        assert _covered(mine) == _covered(hot_ranges(lo, hi)), i

def _daily_only(conn, tenant, start, end, by):
    from reporting import queries
    out = {}
    for row in queries._sum_rows(conn, queries.d, "day", start, end, tenant, ALL, by):
        if row["received"]:
            out[tuple(row[n] for n in by)] = {c: int(row[c]) for c in queries.COUNTS}
    return out


def test_month_tables_agree_with_the_daily_rollup_and_survive_rebuild(engine, new_uow, events, tenant):
    from reporting import queries
    ids = []
    for at, channel, category in [("2026-10-15T02:00:00+00:00", "web", "greening"),
                                  ("2026-10-31T17:00:00+00:00", "hotline", "lift"),   # Nov 1 in Shanghai
                                  ("2026-11-01T02:00:00+00:00", "hotline", "greening"),
                                  ("2026-11-30T02:00:00+00:00", "wechat", None),
                                  ("2026-12-01T02:00:00+00:00", "web", "lift")]:
        due = (dt.datetime.fromisoformat(at) + dt.timedelta(hours=1)).isoformat()
        ack = (dt.datetime.fromisoformat(at) + dt.timedelta(minutes=30)).isoformat()
        ids.append(complaint(events, new_uow, tenant, received_at=at, due=due, ack=ack, channel=channel,
                             category=category, severity="minor"))
    handlers.record_complaint_reclassified(events.reclassified(tenant, ids[2], "security", "major",
                                                               at="2026-11-02T00:00:00+00:00"), new_uow())

    def compare():
        with engine.connect() as conn:
            for start, end in [("2026-10-01", "2026-12-31"), ("2026-10-16", "2026-11-30"), ("2026-11-01", "2026-11-01"),
                               ("2026-09-01", "2026-10-31")]:
                s, e = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
                for by in [(), ("estate",), ("category",), ("channel",), ("severity",), ("estate", "category")]:
                    got = {tuple(r[n] for n in by): {c: r[c] for c in queries.COUNTS}
                           for r in queries.rollup(conn, tenant, s, e, ALL, by) if r["received"]}
                    assert got == _daily_only(conn, tenant, s, e, by), (start, end, by)

    compare()
    with engine.connect() as conn:
        whole = queries.rollup(conn, tenant, dt.date(2026, 10, 1), dt.date(2026, 12, 31), ALL, ("category",))
    assert {r["category"]: r["received"] for r in whole if r["received"]} == {"greening": 1, "lift": 2, "": 1,
                                                                              "security": 1}
    rebuild(engine, progress=False)
    compare()


def test_hot_spots_over_whole_months_use_the_previous_months(engine, new_uow, events, tenant):
    for month in (7, 8, 9, 10):  # one greening complaint a month, then a burst in November
        complaint(events, new_uow, tenant, received_at=f"2026-{month:02d}-10T02:00:00+00:00", category="greening")
    for _ in range(6):
        complaint(events, new_uow, tenant, received_at="2026-11-10T02:00:00+00:00", category="greening")
    spots = reports.hot_spots(tenant, ALL, engine, "2026-11-01", "2026-11-30")
    assert (spots["baseline_from"], spots["baseline_to"]) == ("2026-07-01", "2026-10-31")
    assert [(c["category"], c["count"], c["baseline"]) for c in spots["categories"]] == [
        ("greening", 6, [1, 1, 1, 1])]
    table = reports.league_table(tenant, ALL, engine, NOW, "2026-11-01", "2026-11-30")
    assert (table["previous_from"], table["previous_to"]) == ("2026-10-01", "2026-10-31")
    assert (table["rows"][0]["received"], table["rows"][0]["previous_received"]) == (6, 1)


def test_the_sql_hot_spot_rule_is_the_domain_rule():
    """``queries._rule`` (no square roots, no division) keeps exactly the count vectors ``domain.hotspots`` flags,
    boundary cases included (z exactly 2, count exactly 1.5 x mean, std, sqrt(mean) and 1 each deciding)."""
    import itertools

    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select

    from reporting import queries
    from reporting.domain import hotspots
    meta = MetaData()
    t = Table("v", meta, *[Column(f"c{k}", Integer) for k in range(5)])
    engine = create_engine("sqlite://")
    meta.create_all(engine)
    vectors = [(c0, *base) for c0 in range(0, 16) for base in itertools.product(range(0, 7), repeat=4)]
    with engine.begin() as conn:
        conn.execute(t.insert(), [dict(zip(t.c.keys(), v)) for v in vectors])
        kept = set(conn.execute(select(t).where(queries._rule([t.c[f"c{k}"] for k in range(5)], 5))).all())
    assert kept == {v for v in vectors if hotspots.score(v[0], list(v[1:]))["hot"]}
    assert len(kept) > 1000
