"""A one-file HTML report of the analytics views: KPI tiles, tables and inline SVG charts."""

from __future__ import annotations

import base64
import datetime as dt
import html
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from string import Template

import dlt
import pandas as pd

from antbot_source.analytics import charts
from antbot_source.analytics.formats import (
    MISSING,
    fmt_count,
    fmt_hours,
    fmt_percent,
    fmt_seconds,
    gateway_label,
    missing,
)
from antbot_source.analytics.labels import LOOKUPS, MIN_SAMPLE
from antbot_source.compliance.rules import CallingRules, calling_rules

# frame name -> query over the analytics views; {schema} is the quoted dataset name.
QUERIES = {
    "kpis": "SELECT * FROM {schema}.cdr_kpis",
    "campaign_kpis": "SELECT * FROM {schema}.cdr_campaign_kpis ORDER BY attempts DESC",
    "daily": "SELECT * FROM {schema}.cdr_campaign_daily ORDER BY campaign_id, day",
    "hourly": "SELECT * FROM {schema}.cdr_hourly_profile ORDER BY weekday, hour",
    "causes": "SELECT * FROM {schema}.cdr_hangup_causes ORDER BY campaign_id, cause_group",
    "progress": "SELECT * FROM {schema}.campaign_progress ORDER BY campaign_id",
    "span": "SELECT MIN(day_local) AS first_day, MAX(day_local) AS last_day FROM {schema}.cdr_enriched",
    "health": "SELECT * FROM {schema}.load_health WHERE table_name = 'cdr' ORDER BY started_at",
    "trend": "SELECT * FROM {schema}.cdr_daily ORDER BY day, call_kind",
    "gateways": "SELECT * FROM {schema}.cdr_gateway_kpis ORDER BY gateway_id, attempts DESC",
    "survey": "SELECT * FROM {schema}.survey_answer_shares ORDER BY campaign_id, question, subscribers DESC",
    "survey_read": "SELECT COUNT(DISTINCT subscriber_id) AS subscribers, COUNT(*) FILTER (WHERE malformed) "
    "AS malformed FROM {schema}.survey_answers",
    "reminders": "SELECT * FROM {schema}.reminder_outcomes ORDER BY day, calendar_id",
    "compliance_hours": "SELECT hour_local AS hour, COUNT(*) AS calls FROM {schema}.compliance_calls "
                        "GROUP BY hour_local ORDER BY hour_local",
    "compliance_daily": "SELECT * FROM {schema}.compliance_daily ORDER BY campaign_id, day, rule",
    "dnc_ineffective": "SELECT * FROM {schema}.dnc_ineffective ORDER BY dnc_list_id, phone_number",
}
HEALTH_RUNS = 10  # runs listed in the report's load-health table (the chart shows every run)
BEST_HOURS = 5  # hours listed as the best to call


def read_frames(query: Callable[[str], pd.DataFrame], schema: str) -> dict[str, pd.DataFrame]:
    """Every frame the report needs, read with `query` (SQL -> DataFrame) from dataset `schema`."""
    return {name: query(sql.replace("{schema}", schema)) for name, sql in QUERIES.items()}


def read_pipeline_frames(pipeline: dlt.Pipeline) -> dict[str, pd.DataFrame]:
    """`read_frames` over the pipeline's destination and dataset."""
    with pipeline.sql_client() as client:

        def query(sql: str) -> pd.DataFrame:
            with client.execute_query(sql) as cursor:
                return cursor.df()

        return read_frames(query, client.fully_qualified_dataset_name())


def _cell(value: object) -> str:
    """A load-health value as text: numbers with thousands separators."""
    if missing(value):
        return MISSING
    return f"{value:,.0f}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def fmt_day(value: object) -> str:
    return MISSING if missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _html_table(shown: pd.DataFrame, faded: pd.Series | None = None, text_columns: int = 1) -> str:
    """`shown` (text cells) as an HTML table, its first `text_columns` columns aligned left; rows where
    `faded` holds are greyed (class "small"). Nothing when it has no row: its chart says "no data yet"."""
    if shown.empty:
        return ""

    def cell(tag: str, i: int, value: object) -> str:
        align = ' class="text"' if i < text_columns else ""
        return f"<{tag}{align}>{html.escape(str(value))}</{tag}>"

    head = "".join(cell("th", i, c) for i, c in enumerate(shown.columns))
    rows = []
    flags = [False] * len(shown) if faded is None else [bool(f) for f in faded]
    for values, small in zip(shown.itertuples(index=False), flags, strict=True):
        cells = "".join(cell("td", i, v) for i, v in enumerate(values))
        rows.append(f'<tr class="small">{cells}</tr>' if small else f"<tr>{cells}</tr>")
    return f'<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>'


def _table(frame: pd.DataFrame, columns: dict[str, tuple[str, Callable[[object], str]]],
           first: dict[str, list[str]] | None = None) -> str:
    """`frame` as an HTML table: the campaign label first (or the `first` columns given), then
    column -> (heading, formatter); rows whose `sample_ok` is FALSE are greyed."""
    shown = pd.DataFrame(first if first is not None else {"campaign": charts.with_labels(frame)["campaign"]})
    for column, (heading, fmt) in columns.items():
        shown[heading] = frame[column].map(fmt).to_numpy()
    faded = ~frame["sample_ok"].astype(bool) if "sample_ok" in frame else None
    return _html_table(shown, faded, text_columns=len(first) if first is not None else 1)


def best_hours(hourly: pd.DataFrame) -> str:
    """The hours with the highest ASR among those with enough attempts, as an HTML table."""
    if hourly.empty:
        return '<p class="empty">no data yet</p>'
    ranked = hourly[hourly["sample_ok"].astype(bool)].nlargest(BEST_HOURS, "asr")
    if ranked.empty:
        return f'<p class="empty">no weekday-hour has {MIN_SAMPLE} attempts yet</p>'
    shown = pd.DataFrame({
        "weekday": ranked["weekday_name"].astype(str),
        "hour": [f"{int(h):02d}:00" for h in ranked["hour"]],
        "attempts": ranked["attempts"].map(fmt_count),
        "ASR": ranked["asr"].map(fmt_percent),
    })
    return _html_table(shown, text_columns=2)


def survey_text(read: pd.Series) -> str:
    """What the survey chart rests on: how many subscribers answered, how many answers were unreadable."""
    if not read["subscribers"]:
        return "No survey answers yet."
    return (f"Answers that {fmt_count(read['subscribers'])} subscribers gave (collected_data), per question; "
            f"{fmt_count(read['malformed'])} answers could not be read as questions and answers (malformed text) "
            f"and are left out. Faded: fewer than {MIN_SAMPLE} respondents.")


def gateway_table(gateways: pd.DataFrame) -> str:
    names = [gateway_label(i, n) for i, n in zip(gateways["gateway_id"], gateways["gateway_name"], strict=True)]
    first = {"gateway": names, "campaign": list(charts.with_labels(gateways)["campaign"])}
    return _table(gateways, {
        "attempts": ("attempts", fmt_count),
        "answered": ("answered", fmt_count),
        "asr": ("ASR", fmt_percent),
        "ner": ("NER", fmt_percent),
        "acd_seconds": ("ACD", fmt_seconds),
        "ended_network": ("network failures", fmt_count),
        "ended_invalid_number": ("invalid numbers", fmt_count),
    }, first)


def reminder_table(reminders: pd.DataFrame) -> str:
    """Reminder calls per calendar: how many, and what became of them."""
    if reminders.empty:
        return ""  # the chart above says "no data yet"
    data = charts.with_outcome(reminders).assign(calendar=reminders["calendar_name"].fillna("(no calendar)"))
    counts = data.pivot_table(index="calendar", columns="outcome", values="alarms", aggfunc="sum", fill_value=0)
    order = [o for o in charts.REMINDER_COLOURS if o in counts.columns]
    shown = pd.DataFrame({"calendar": counts.index, "reminders": counts.sum(axis=1).map(fmt_count).to_numpy()})
    for outcome in order:
        shown[charts.outcome_name(outcome)] = counts[outcome].map(fmt_count).to_numpy()
    return _html_table(shown)


def _svg64(fig) -> str:
    return base64.b64encode(charts.to_svg(fig)).decode("ascii")


def _compliance_tables(frames: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """(breaches per rule and campaign, the ineffective DNC entries) as HTML tables."""
    daily = charts.with_labels(frames["compliance_daily"])
    per_rule = daily.pivot_table(index="campaign", columns="rule", values="breaches", aggfunc="sum")
    per_rule = per_rule.reindex(columns=["outside_hours", "repeat_24h", "dnc"], fill_value=0)
    calls = daily.drop_duplicates(["campaign", "day"]).groupby("campaign")["counted_calls"].sum()
    shown = pd.DataFrame({"counted calls": calls.map(fmt_count)})
    for rule, heading in (("outside_hours", "outside the hours"), ("repeat_24h", "repeat within 24 h"),
                          ("dnc", "on a DNC list")):
        shown[heading] = per_rule[rule].map(fmt_count)
    breaches = shown.reset_index().to_html(index=False, border=0, escape=True)
    dnc = frames["dnc_ineffective"]
    if dnc.empty:
        return breaches, "<p>Every DNC entry blocks every form the contacts store its number in.</p>"
    shown = dnc.rename(columns={"dnc_list_name": "DNC list", "phone_number": "entry as stored",
                                "unblocked_forms": "contacts' forms it misses"})
    return breaches, shown[["DNC list", "entry as stored", "contacts' forms it misses"]].to_html(
        index=False, border=0, escape=True)


def render_report(frames: dict[str, pd.DataFrame], dataset: str, rules: CallingRules | None = None) -> str:
    """The report's HTML text, self-contained (no network); the compliance section draws `rules`
    (by default the configured ones)."""
    rules = rules or calling_rules()
    kpis = frames["kpis"].iloc[0]
    tiles = [
        ("attempts", fmt_count(kpis["attempts"])),
        ("answered", fmt_count(kpis["answered"])),
        ("ASR", fmt_percent(kpis["asr"])),
        ("NER", fmt_percent(kpis["ner"])),
        ("ACD", fmt_seconds(kpis["acd_seconds"])),
        ("talk time", fmt_hours(kpis["billsec_total"])),
        ("machine share", fmt_percent(kpis["machine_share"])),
    ]
    tiles_html = "\n".join(
        f'<div class="tile"><div class="value">{html.escape(v)}</div><div class="name">{n}</div></div>'
        for n, v in tiles
    )
    campaign_table = _table(
        frames["campaign_kpis"],
        {
            "attempts": ("attempts", fmt_count),
            "answered": ("answered", fmt_count),
            "asr": ("ASR", fmt_percent),
            "ner": ("NER", fmt_percent),
            "acd_seconds": ("ACD", fmt_seconds),
            "billsec_total": ("talk time", fmt_hours),
            "machine_share": ("machine share", fmt_percent),
        },
    )
    kinds = LOOKUPS["lookup_call_kind"]
    trend = frames["trend"]
    kind_totals = trend.groupby("call_kind")["attempts"].sum() if not trend.empty else pd.Series(dtype=int)
    kinds_text = ", ".join(f"{kinds.get(k, k)} {fmt_count(n)}" for k, n in kind_totals.items()) or "none yet"
    survey_note = survey_text(frames["survey_read"].iloc[0])
    progress_table = _table(
        frames["progress"],
        {
            "status_label": ("status", lambda v: "–" if pd.isna(v) else str(v)),
            "subscribers": ("subscribers", fmt_count),
            "attempted_share": ("attempted", fmt_percent),
            "reached": ("reached", fmt_count),
            "completed": ("completed", fmt_count),
            "completion_rate": ("completion rate", fmt_percent),
            "attempts_per_subscriber": ("attempts / subscriber", lambda v: "–" if pd.isna(v) else f"{v:.2f}"),
            "dnc_refusals": ("DNC refusals", fmt_count),
        },
    )
    health = frames["health"]
    health_table = health.tail(HEALTH_RUNS).assign(
        run=lambda f: pd.to_datetime(f["started_at"], utc=True).dt.strftime("%Y-%m-%d %H:%M"),
        warnings=lambda f: f["warnings"].fillna(""),
    )[["run", "rows_loaded", "requests", "late_rows", "max_lateness_s", "healed_rows", "surplus_rows", "warnings"]]
    span = frames["span"].iloc[0]
    compliance_table, dnc_table = _compliance_tables(frames)
    template = Template(files("antbot_source.analytics").joinpath("report.html").read_text())
    return template.substitute(
        min_sample=MIN_SAMPLE,
        call_kinds=html.escape(kinds_text),
        chart_trend=_svg64(charts.daily_trend(trend)),
        chart_gateways=_svg64(charts.gateway_outcomes(frames["gateways"])),
        gateway_table=gateway_table(frames["gateways"]),
        best_hours=best_hours(frames["hourly"]),
        chart_survey=_svg64(charts.survey_answers(frames["survey"])),
        survey_note=html.escape(survey_note),
        chart_reminders=_svg64(charts.reminder_outcomes(frames["reminders"])),
        reminder_table=reminder_table(frames["reminders"]),
        dataset=html.escape(dataset),
        first_day=fmt_day(span["first_day"]),
        last_day=fmt_day(span["last_day"]),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        tiles=tiles_html,
        campaign_table=campaign_table,
        progress_table=progress_table,
        chart_campaigns=_svg64(charts.asr_acd_by_campaign(frames["campaign_kpis"])),
        chart_daily=_svg64(charts.daily_by_campaign(frames["daily"])),
        chart_hourly=_svg64(charts.hourly_heatmap(frames["hourly"])),
        chart_causes=_svg64(charts.hangup_causes(frames["causes"])),
        chart_funnel=_svg64(charts.campaign_funnel(frames["progress"])),
        chart_lateness=_svg64(charts.lateness_over_runs(health)),
        compliance_rules=html.escape(
            f"{rules.first_hour:%H:%M}-{rules.last_hour:%H:%M} {rules.timezone}, at most "
            f"{rules.max_calls_per_24h} call(s) per number in 24 hours, no number on a DNC list"),
        compliance_table=compliance_table,
        dnc_table=dnc_table,
        chart_compliance_hours=_svg64(charts.calls_by_local_hour(
            frames["compliance_hours"], rules.first_hour, rules.last_hour, rules.timezone)),
        chart_compliance_daily=_svg64(charts.breaches_by_day(frames["compliance_daily"])),
        health_table=_html_table(health_table.map(_cell)),
    )


def write_report(pipeline: dlt.Pipeline, out: Path) -> Path:
    """Write the report of the pipeline's dataset to `out`; return the path."""
    out.write_text(render_report(read_pipeline_frames(pipeline), pipeline.dataset_name), encoding="utf-8")
    return out
