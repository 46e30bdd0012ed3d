"""Matplotlib charts of the analytics views, shared by the notebook and the HTML report.

Each function takes the rows of one view as a DataFrame and returns a `Figure` (no pyplot state).
"""

from __future__ import annotations

import io
from datetime import time

import numpy as np
import pandas as pd
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure

from antbot_source.analytics.formats import campaign_label, gateway_label
from antbot_source.analytics.labels import CAUSE_GROUPS, LOOKUPS, MIN_SAMPLE

CAUSE_COLOURS = {
    "answered": "#2e7d32",
    "busy": "#f9a825",
    "no answer": "#90a4ae",
    "rejected": "#c62828",
    "invalid number": "#6a1b9a",
    "network": "#1565c0",
    "other": "#bdbdbd",
}
KIND_COLOURS = {"campaign": "#1565c0", "otp": "#f9a825", "alarm": "#6a1b9a", "other": "#bdbdbd"}
# what became of a reminder call: its result once it succeeded, else its status
REMINDER_COLOURS = {
    "confirmed": "#2e7d32",
    "rescheduled": "#f9a825",
    "cancelled": "#c62828",
    "none": "#a5d6a7",  # succeeded without a result
    "failure": "#6d4c41",
    "retry": "#ff8a65",
    "in process": "#64b5f6",
    "pending": "#cfd8dc",
    "other": "#9e9e9e",
}
SMALL = f"fewer than {MIN_SAMPLE} attempts"
FADED = 0.3  # opacity of what rests on too small a sample


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a `campaign` column holding `campaign_label` of each row."""
    out = frame.copy()
    kinds = out["call_kind"] if "call_kind" in out else [None] * len(out)
    out["campaign"] = [campaign_label(i, n, k) for i, n, k in zip(out["campaign_id"], out["campaign_name"], kinds)]
    return out


def no_data(title: str, note: str = "no data yet") -> Figure:
    """A small figure holding its title and `note`, for a chart with nothing to draw."""
    fig = Figure(figsize=(10, 1.4), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.text(0.5, 0.4, note, ha="center", va="center", fontsize=12, color="#757575", transform=ax.transAxes)
    return fig


def _style(ax, title: str) -> None:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)


def asr_acd_by_campaign(campaign_kpis: pd.DataFrame) -> Figure:
    """Bars of ASR and ACD per campaign, from `cdr_campaign_kpis`; faded: too few attempts to read."""
    title = "ASR (answer-seizure ratio)"
    if campaign_kpis.empty:
        return no_data(title)
    data = with_labels(campaign_kpis).sort_values("attempts")
    data["campaign"] = [f"{c} ({n:,})" for c, n in zip(data["campaign"], data["attempts"])]
    alpha = np.where(data["sample_ok"].astype(bool), 1.0, FADED)
    fig = Figure(figsize=(10, 0.45 * len(data) + 1.6), layout="constrained")
    ax_asr, ax_acd = fig.subplots(1, 2, sharey=True)
    bars = ax_asr.barh(data["campaign"], data["asr"].fillna(0) * 100, color="#2e7d32")
    ax_asr.bar_label(bars, labels=[f"{v:.0%}" for v in data["asr"].fillna(0)], padding=3, fontsize=9)
    ax_asr.set_xlim(0, 100)
    ax_asr.set_xlabel("answered / attempts, % (attempts in brackets)")
    _style(ax_asr, title)
    bars_acd = ax_acd.barh(data["campaign"], data["acd_seconds"].fillna(0), color="#1565c0")
    acd_text = ["no answer" if pd.isna(v) else f"{v:.0f} s" for v in data["acd_seconds"]]
    ax_acd.bar_label(bars_acd, labels=acd_text, padding=3, fontsize=9)
    for bar, bar_acd, a in zip(bars, bars_acd, alpha, strict=True):
        bar.set_alpha(a)
        bar_acd.set_alpha(a)
    ax_acd.set_xlabel("mean talk time (billsec) of answered calls, s")
    ax_acd.margins(x=0.15)
    _style(ax_acd, "ACD (average call duration)")
    return fig


def _heatmap(fig: Figure, ax, grid: pd.DataFrame, title: str, cmap: str, percent: bool,
             counts: pd.DataFrame | None = None) -> None:
    """`grid` (rows x columns, NaN for no calls) as a heatmap with its labels and a colour bar; with
    `counts` (the same shape), each cell's count written in it."""
    limits = {"vmin": 0.0, "vmax": 1.0} if percent else {}
    image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap=cmap, interpolation="nearest", **limits)
    ax.set_facecolor("#f0f0f0")
    ax.set_yticks(range(len(grid.index)), [str(v) for v in grid.index], fontsize=9)
    step = max(1, -(-len(grid.columns) // 24))  # at most 24 tick labels
    ticks = range(0, len(grid.columns), step)
    ax.set_xticks(ticks, [str(grid.columns[i]) for i in ticks], fontsize=8)
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    fig.colorbar(image, ax=ax, fraction=0.03, format="{x:.0%}" if percent else None)
    if counts is not None:
        values = counts.to_numpy(dtype=float)
        high = np.nanmax(values) if np.isfinite(values).any() else 0
        for (row, column), value in np.ndenumerate(values):
            if np.isfinite(value):
                colour = "white" if value > high * 0.6 else "#424242"
                ax.text(column, row, f"{value:.0f}", ha="center", va="center", fontsize=6.5, color=colour)


def _readable(data: pd.DataFrame, column: str) -> pd.Series:
    """`column` where the row's sample is big enough, else NaN (drawn grey)."""
    return data[column].where(data["sample_ok"].astype(bool))


def daily_by_campaign(daily: pd.DataFrame) -> Figure:
    """Heatmaps of ASR and ACD per campaign and Vietnam-local day, from `cdr_campaign_daily`."""
    if daily.empty:
        return no_data("ASR and ACD by day")
    data = with_labels(daily)
    data["day"] = pd.to_datetime(data["day"]).dt.strftime("%m-%d")
    fig = Figure(figsize=(11, 0.5 * data["campaign"].nunique() * 2 + 2.4), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, column, title, cmap in (
        (axes[0], "asr", f"ASR by day (Vietnam time; grey: no call or {SMALL})", "RdYlGn"),
        (axes[1], "acd_seconds", f"ACD by day, seconds (grey: no answered call or {SMALL})", "Blues"),
    ):
        data["shown"] = _readable(data, column)
        grid = data.pivot_table(index="campaign", columns="day", values="shown", aggfunc="first", dropna=False)
        _heatmap(fig, ax, grid, title, cmap, percent=column == "asr")
    axes[1].set_xlabel("day (month-day)")
    return fig


def hourly_heatmap(hourly: pd.DataFrame) -> Figure:
    """Heatmaps of attempts (written in each cell) and ASR by Vietnam-local weekday and hour, from
    `cdr_hourly_profile`; an hour with too few attempts shows no ASR."""
    if hourly.empty:
        return no_data("Call attempts and ASR by hour")
    weekdays = LOOKUPS["lookup_weekday"]
    data = hourly.assign(shown=_readable(hourly, "asr"))
    fig = Figure(figsize=(11, 5.6), layout="constrained")
    axes = fig.subplots(2, 1)

    def grid_of(column: str) -> pd.DataFrame:
        grid = data.pivot_table(index="weekday", columns="hour", values=column, aggfunc="first")
        grid = grid.reindex(index=range(1, 8), columns=range(24))
        grid.index = [weekdays[d] for d in grid.index]
        grid.columns = [f"{h:02d}" for h in grid.columns]
        return grid

    attempts = grid_of("attempts")
    _heatmap(fig, axes[0], attempts, "Call attempts by hour (Vietnam time)", "Blues", percent=False,
             counts=attempts)
    _heatmap(fig, axes[1], grid_of("shown"), f"ASR by hour (Vietnam time; grey: no call or {SMALL})", "RdYlGn",
             percent=True)
    axes[1].set_xlabel("hour of day")
    return fig


def hangup_causes(causes: pd.DataFrame) -> Figure:
    """Stacked bars of each campaign's attempts by hangup-cause group, from `cdr_hangup_causes`."""
    if causes.empty:
        return no_data("Why calls ended")
    data = with_labels(causes)
    shares = data.pivot_table(index="campaign", columns="cause_group", values="share", aggfunc="sum")
    shares = shares.reindex(columns=list(CAUSE_GROUPS)).fillna(0).sort_index(ascending=False)
    fig = Figure(figsize=(10, 0.45 * len(shares) + 1.8), layout="constrained")
    ax = fig.subplots()
    left = np.zeros(len(shares))
    for group in CAUSE_GROUPS:
        values = shares[group].to_numpy() * 100
        ax.barh(shares.index, values, left=left, color=CAUSE_COLOURS[group], label=group)
        left += values
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of attempts, %")
    _style(ax, "Why calls ended (A-legs, by hangup cause)")
    ax.legend(ncols=len(CAUSE_GROUPS), fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.25), frameon=False)
    return fig


def campaign_funnel(progress: pd.DataFrame) -> Figure:
    """Grouped bars per campaign: subscribers, attempted, reached, completed, from `campaign_progress`."""
    if progress.empty:
        return no_data("Campaign funnel")
    data = with_labels(progress).sort_values("subscribers")
    stages = (
        ("subscribers", "#b0bec5"),
        ("attempted", "#64b5f6"),
        ("reached", "#2e7d32"),
        ("completed", "#f9a825"),
    )
    fig = Figure(figsize=(10, 0.7 * len(data) + 1.8), layout="constrained")
    ax = fig.subplots()
    height = 0.8 / len(stages)
    positions = np.arange(len(data))
    for i, (stage, colour) in enumerate(stages):
        offset = (len(stages) - 1 - i) * height - 0.4 + height / 2
        ax.barh(positions + offset, data[stage], height=height, color=colour, label=stage)
    ax.set_yticks(positions, data["campaign"])
    ax.set_xlabel("subscribers")
    _style(ax, "Campaign funnel")
    ax.legend(ncols=len(stages), fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12), frameon=False)
    return fig


def lateness_over_runs(health: pd.DataFrame) -> Figure:
    """How late CDRs arrived, run by run, against the look-back, from the `cdr` rows of `load_health`."""
    title = "Lateness of call records, per load run"
    if health.empty or health["max_lateness_s"].isna().all():
        return no_data(title, "no data yet: lateness is measured from the second load run on")
    data = health.sort_values("started_at")
    runs = pd.to_datetime(data["started_at"], utc=True)
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax = fig.subplots()
    to_h = 1 / 3600
    ax.plot(runs, data["max_lateness_s"].astype(float) * to_h, "o-", color="#c62828", label="deepest late row")
    ax.plot(runs, data["p95_lateness_s"].astype(float) * to_h, "s--", color="#f9a825", label="95th percentile")
    ax.step(runs, data["lookback_s"].astype(float) * to_h, where="post", color="#1565c0", label="look-back")
    healed = data["healed_rows"].fillna(0) > 0
    if healed.any():
        ax.scatter(runs[healed], data["max_lateness_s"][healed].astype(float) * to_h, s=120, facecolors="none",
                   edgecolors="#6a1b9a", label="rows healed by the verification")
    ax.set_ylabel("hours behind the previous cursor")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    _style(ax, title)
    ax.grid(axis="y", alpha=0.3)
    return fig


def daily_trend(daily: pd.DataFrame) -> Figure:
    """Attempts per Vietnam-local day by call kind (stacked bars) and the day's ASR (line), from `cdr_daily`;
    the ASR of a day with too few attempts is drawn hollow."""
    title = "Calls per day by kind, and ASR (Vietnam time)"
    if daily.empty:
        return no_data(title)
    data = daily.assign(day=pd.to_datetime(daily["day"]))
    volume = data.pivot_table(index="day", columns="call_kind", values="attempts", aggfunc="sum", fill_value=0)
    volume = volume.reindex(columns=[k for k in KIND_COLOURS if k in volume.columns])
    totals = data.groupby("day")[["attempts", "answered"]].sum()
    asr = totals["answered"] / totals["attempts"]
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax = fig.subplots()
    bottom = np.zeros(len(volume))
    kinds = LOOKUPS["lookup_call_kind"]
    for kind in volume.columns:
        ax.bar(volume.index, volume[kind], bottom=bottom, width=0.8, color=KIND_COLOURS[kind], label=kinds[kind])
        bottom += volume[kind].to_numpy()
    ax.set_ylabel("attempts (A-legs)")
    ax_asr = ax.twinx()
    ax_asr.plot(asr.index, asr * 100, "-", color="#2e7d32", linewidth=1.5, label="ASR, all calls")
    ok = totals["attempts"] >= MIN_SAMPLE
    ax_asr.plot(asr.index[ok], asr[ok] * 100, "o", color="#2e7d32", markersize=4)
    ax_asr.plot(asr.index[~ok], asr[~ok] * 100, "o", markerfacecolor="white", color="#2e7d32", markersize=4,
                label=f"ASR of a day with {SMALL}")
    ax_asr.set_ylim(0, 100)
    ax_asr.set_ylabel("ASR, %")
    ax_asr.spines[["top"]].set_visible(False)
    ax.xaxis.set_major_formatter(DateFormatter("%m-%d"))
    handles = ax.get_legend_handles_labels()[0] + ax_asr.get_legend_handles_labels()[0]
    ax.legend(handles=handles, ncols=len(handles), fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12),
              frameon=False)
    _style(ax, title)
    ax.grid(axis="x", visible=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def gateway_outcomes(gateway_kpis: pd.DataFrame) -> Figure:
    """One stacked bar per gateway and campaign: how its attempts ended, from `cdr_gateway_kpis`."""
    title = "How calls ended, per gateway and campaign"
    if gateway_kpis.empty:
        return no_data(title)
    data = with_labels(gateway_kpis)
    gateway = [gateway_label(i, n) for i, n in zip(data["gateway_id"], data["gateway_name"], strict=True)]
    data["row"] = [f"{g} · {c} ({n:,})" for g, c, n in zip(gateway, data["campaign"], data["attempts"], strict=True)]
    data = data.assign(gateway=gateway).sort_values(["gateway", "attempts"], ascending=[False, True])
    fig = Figure(figsize=(10, 0.42 * len(data) + 1.8), layout="constrained")
    ax = fig.subplots()
    left = np.zeros(len(data))
    alpha = np.where(data["sample_ok"].astype(bool), 1.0, FADED)
    for group in CAUSE_GROUPS:
        column = "answered" if group == "answered" else f"ended_{group.replace(' ', '_')}"
        values = data[column].to_numpy(dtype=float) / data["attempts"].to_numpy(dtype=float) * 100
        bars = ax.barh(data["row"], values, left=left, color=CAUSE_COLOURS[group], label=group)
        for bar, a in zip(bars, alpha, strict=True):
            bar.set_alpha(a)
        left += values
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"share of attempts, % (attempts in brackets; faded: {SMALL})")
    _style(ax, title)
    ax.legend(ncols=len(CAUSE_GROUPS), fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.2), frameon=False)
    return fig


ANSWERS_SHOWN = 6  # the most frequent answers of a question; the rest are drawn as one "other" segment


def survey_answers(shares: pd.DataFrame) -> Figure:
    """One stacked bar per campaign and question: the share of each answer, from `survey_answer_shares`;
    faded: a question with too few respondents."""
    title = "Survey answers, per campaign and question"
    if shares.empty:
        return no_data(title)
    data = shares.assign(answer=shares["answer"].fillna("(null)").replace("", "(empty)"))
    rows = data.groupby(["campaign_name", "question"], dropna=False)
    fig = Figure(figsize=(10, 0.5 * rows.ngroups + 1.4), layout="constrained")
    ax = fig.subplots()
    palette = ["#1565c0", "#2e7d32", "#f9a825", "#c62828", "#6a1b9a", "#00838f", "#bdbdbd"]
    labels = []
    for y, ((campaign, question), group) in enumerate(rows):
        group = group.sort_values(["share", "answer"], ascending=[False, True])
        top, rest = group.head(ANSWERS_SHOWN), group.iloc[ANSWERS_SHOWN:]
        # in the answers' own order (1 to 5, no before yes), each answer keeps its colour from row to row
        top = top.sort_values("answer", key=lambda answers: answers.map(_answer_order))
        parts = [(a, s, palette[i]) for i, (a, s) in enumerate(zip(top["answer"], top["share"], strict=True))]
        if len(rest):
            parts.append(("other", rest["share"].sum(), palette[-1]))
        alpha = 1.0 if bool(group["sample_ok"].iloc[0]) else FADED
        left = 0.0
        for answer, share, colour in parts:
            ax.barh(y, share * 100, left=left, color=colour, alpha=alpha, edgecolor="white")
            if share >= 0.06:
                ax.text(left + share * 50, y, f"{answer} {share:.0%}", ha="center", va="center", fontsize=7.5,
                        color="white" if alpha == 1.0 else "#424242", clip_on=True)
            left += share * 100
        name = campaign_label(group["campaign_id"].iloc[0], campaign)
        labels.append(f"{name} · {question} ({int(group['respondents'].iloc[0]):,})")
    ax.set_yticks(range(len(labels)), labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"share of the question's respondents, % (respondents in brackets; faded: fewer than {MIN_SAMPLE})")
    _style(ax, title)
    return fig


def _answer_order(answer: str) -> tuple[int, float, str]:
    """Numbers first, by value; then text, alphabetically."""
    try:
        return (0, float(answer), answer)
    except ValueError:
        return (1, 0.0, answer)


def with_outcome(outcomes: pd.DataFrame) -> pd.DataFrame:
    """`outcomes` (rows of `reminder_outcomes`) with an `outcome` column: the result label of a reminder
    that succeeded (status 5), else the status label; "other" for a code without a label."""
    done = outcomes["status"] == 5
    outcome = np.where(done, outcomes["result_label"], outcomes["status_label"])
    return outcomes.assign(outcome=pd.Series(outcome, index=outcomes.index).fillna("other"))


def outcome_name(outcome: str) -> str:
    return "succeeded, no result" if outcome == "none" else outcome


def reminder_outcomes(outcomes: pd.DataFrame) -> Figure:
    """Reminder calls per day of their notice, stacked by what became of them, from `reminder_outcomes`."""
    title = "Reminder calls per day, by outcome (Vietnam time)"
    if outcomes.empty or outcomes["day"].isna().all():
        return no_data(title)
    data = outcomes.dropna(subset=["day"]).assign(day=lambda f: pd.to_datetime(f["day"]))
    counts = with_outcome(data).pivot_table(index="day", columns="outcome", values="alarms", aggfunc="sum",
                                            fill_value=0)
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax = fig.subplots()
    bottom = np.zeros(len(counts))
    for outcome, colour in REMINDER_COLOURS.items():
        if outcome in counts:
            ax.bar(counts.index, counts[outcome], bottom=bottom, width=0.8, color=colour,
                   label=outcome_name(outcome))
            bottom += counts[outcome].to_numpy()
    ax.set_ylabel("reminder calls")
    ax.xaxis.set_major_formatter(DateFormatter("%m-%d"))
    ax.legend(ncols=len(counts.columns), fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12), frameon=False)
    _style(ax, title)
    ax.grid(axis="x", visible=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def calls_by_local_hour(hours: pd.DataFrame, first_hour: time, last_hour: time, timezone: str) -> Figure:
    """Counted calls per local hour (`compliance_calls`), the calling hours [first, last) drawn behind."""
    calls = hours.set_index("hour")["calls"].reindex(range(24), fill_value=0)
    first = first_hour.hour + first_hour.minute / 60
    last = last_hour.hour + last_hour.minute / 60
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.axvspan(first, last, color="#c8e6c9", label=f"calling hours {first_hour:%H:%M}-{last_hour:%H:%M}")
    inside = [first <= h and h + 1 <= last for h in calls.index]
    ax.bar(calls.index + 0.5, calls.to_numpy(), width=0.8,
           color=["#2e7d32" if ok else "#c62828" for ok in inside])
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 2), [f"{h:02d}" for h in range(0, 25, 2)])
    ax.set_xlabel(f"local hour ({timezone})")
    ax.set_ylabel("counted calls")
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    _style(ax, "Counted calls by local hour (red: outside the calling hours)")
    return fig


def breaches_by_day(daily: pd.DataFrame) -> Figure:
    """Breaches of any rule per campaign and local day, from `compliance_daily`."""
    if daily.empty:
        return no_data("Breaches by day")
    data = with_labels(daily)
    data["day"] = pd.to_datetime(data["day"]).dt.strftime("%m-%d")
    grid = data.pivot_table(index="campaign", columns="day", values="breaches", aggfunc="sum")
    fig = Figure(figsize=(11, 0.5 * max(len(grid), 1) + 2), layout="constrained")
    ax = fig.subplots()
    _heatmap(fig, ax, grid, "Breaches by day (hours, 24-hour repeats, DNC; grey: no counted call)", "Reds",
             percent=False)
    ax.set_xlabel("day (month-day)")
    return fig


def to_svg(fig: Figure) -> bytes:
    """The figure as a standalone SVG document (text drawn as paths: no fonts needed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()
