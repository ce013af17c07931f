"""Dashboard reads. Every query filters by tenant and by the caller's estates (``Scope``).

Figures that events decide come from the rollups, one statement per figure set: whole months from the smallest
month table that has the dimensions asked for (per estate for the league table, per tenant for head office's
KPIs: a calendar quarter is 3 x estates or a few hundred rows per tenant), the days around them from the smallest
daily table that has them (``complaint_daily_estate`` for totals and per-estate figures), each a range scan of a
primary key that starts ``(tenant_id, month|day, ...)``, whole ISO weeks of the edge days from the week tables;
what changes with the clock ("overdue now") from the overdue ledger plus the facts around its watermark
(``overdue_now``). On PostgreSQL the statements run prepared (``estatedesk_common.prepared``).

The package's parts, in the order they import each other (no cycles): ``_common`` (the table aliases ``d, f, e``,
the estate filter, the rollup tables and ``_pick``), ``periods`` (months, weeks and edge days; ``rollup*``),
``hotspots`` (``hot_spot_candidates``), ``overdue_now`` (``OPEN``, ``overdue``, the ledger's ``watermark``),
``drilldown`` (``estates``, ``handling_p90``, ``facts_page``, ``counts_by_estate_channel``) and ``league_table``
(``league``, the quality counts, ``kpi_context``). Callers use ``queries.<name>`` as before.
"""
from ..domain.facts import COUNTS
from ._common import DAY_TABLES, DIMENSIONS, MONTH_TABLES, WEEK_TABLES, d, e, f
from .drilldown import (METRIC_FILTERS, METRIC_ORDER, counts_by_estate_channel, estate_exists, estates, facts_page,
                        handling_p90)
from .hotspots import HOT_TABLES, hot_ranges, hot_spot_candidates
from .league_table import LEAGUE_COUNTS, LEAGUE_OVERDUE, kpi_context, league
from .overdue_now import OPEN, overdue, watermark
from .periods import month_parts, rollup, rollup_breakdowns, rollup_periods, week_parts

# the private helpers tests, the bench and the docs name as ``queries.<name>``
from ._common import _pick  # noqa: F401
from .hotspots import _add_months, _hot_parts, _hot_shape, _rule  # noqa: F401
from .league_table import _quality_statements  # noqa: F401
from .overdue_now import _overdue_statement  # noqa: F401
from .periods import _bounds, _month_table, _sum_rows, _week_table  # noqa: F401

__all__ = ["COUNTS", "DAY_TABLES", "DIMENSIONS", "HOT_TABLES", "LEAGUE_COUNTS", "LEAGUE_OVERDUE", "METRIC_FILTERS",
           "METRIC_ORDER", "MONTH_TABLES", "OPEN", "WEEK_TABLES", "counts_by_estate_channel", "d", "e", "estate_exists",
           "estates", "f", "facts_page", "handling_p90", "hot_ranges", "hot_spot_candidates", "kpi_context", "league",
           "month_parts", "overdue", "rollup", "rollup_breakdowns", "rollup_periods", "watermark", "week_parts"]
