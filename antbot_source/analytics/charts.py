"""Matplotlib charts of the analytics views, shared by the notebook and the HTML report.

Each function takes the rows of one view as a DataFrame and returns a `Figure` (no pyplot state).
"""

from __future__ import annotations

import io
from datetime import time

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from antbot_source.analytics.formats import campaign_label
from antbot_source.analytics.labels import CAUSE_GROUPS, LOOKUPS

CAUSE_COLOURS = {
    "answered": "#2e7d32",
    "busy": "#f9a825",
    "no answer": "#90a4ae",
    "rejected": "#c62828",
    "invalid number": "#6a1b9a",
    "network": "#1565c0",
    "other": "#bdbdbd",
}


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a `campaign` column holding `campaign_label` of each row."""
    out = frame.copy()
    out["campaign"] = [campaign_label(i, n) for i, n in zip(out["campaign_id"], out["campaign_name"])]
    return out


def _style(ax, title: str) -> None:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)


def asr_acd_by_campaign(campaign_kpis: pd.DataFrame) -> Figure:
    """Bars of ASR and ACD per campaign, from `cdr_campaign_kpis`."""
    data = with_labels(campaign_kpis).sort_values("attempts")
    fig = Figure(figsize=(10, 0.45 * len(data) + 1.6), layout="constrained")
    ax_asr, ax_acd = fig.subplots(1, 2, sharey=True)
    bars = ax_asr.barh(data["campaign"], data["asr"].fillna(0) * 100, color="#2e7d32")
    ax_asr.bar_label(bars, labels=[f"{v:.0%}" for v in data["asr"].fillna(0)], padding=3, fontsize=9)
    ax_asr.set_xlim(0, 100)
    ax_asr.set_xlabel("answered / attempts, %")
    _style(ax_asr, "ASR (answer-seizure ratio)")
    bars = ax_acd.barh(data["campaign"], data["acd_seconds"].fillna(0), color="#1565c0")
    acd_text = ["no answer" if pd.isna(v) else f"{v:.0f} s" for v in data["acd_seconds"]]
    ax_acd.bar_label(bars, labels=acd_text, padding=3, fontsize=9)
    ax_acd.set_xlabel("mean talk time (billsec) of answered calls, s")
    ax_acd.margins(x=0.15)
    _style(ax_acd, "ACD (average call duration)")
    return fig


def _heatmap(fig: Figure, ax, grid: pd.DataFrame, title: str, cmap: str, percent: bool) -> None:
    """`grid` (rows x columns, NaN for no calls) as a heatmap with its labels and a colour bar."""
    limits = {"vmin": 0.0, "vmax": 1.0} if percent else {}
    image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap=cmap, interpolation="nearest", **limits)
    ax.set_facecolor("#f0f0f0")
    ax.set_yticks(range(len(grid.index)), [str(v) for v in grid.index], fontsize=9)
    step = -(-len(grid.columns) // 24)  # at most 24 tick labels
    ticks = range(0, len(grid.columns), step)
    ax.set_xticks(ticks, [str(grid.columns[i]) for i in ticks], fontsize=8)
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    fig.colorbar(image, ax=ax, fraction=0.03, format="{x:.0%}" if percent else None)


def daily_by_campaign(daily: pd.DataFrame) -> Figure:
    """Heatmaps of ASR and ACD per campaign and Vietnam-local day, from `cdr_campaign_daily`."""
    data = with_labels(daily)
    data["day"] = pd.to_datetime(data["day"]).dt.strftime("%m-%d")
    fig = Figure(figsize=(11, 0.5 * data["campaign"].nunique() * 2 + 2.4), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, column, title, cmap in (
        (axes[0], "asr", "ASR by day (Vietnam time; grey: no call)", "RdYlGn"),
        (axes[1], "acd_seconds", "ACD by day, seconds (grey: no answered call)", "Blues"),
    ):
        grid = data.pivot_table(index="campaign", columns="day", values=column, aggfunc="first", dropna=False)
        _heatmap(fig, ax, grid, title, cmap, percent=column == "asr")
    axes[1].set_xlabel("day (month-day)")
    return fig


def hourly_heatmap(hourly: pd.DataFrame) -> Figure:
    """Heatmaps of attempts and ASR by Vietnam-local weekday and hour, from `cdr_hourly_profile`."""
    weekdays = LOOKUPS["lookup_weekday"]
    fig = Figure(figsize=(11, 5.2), layout="constrained")
    axes = fig.subplots(2, 1)
    for ax, column, title, cmap in (
        (axes[0], "attempts", "Call attempts by hour (Vietnam time)", "Blues"),
        (axes[1], "asr", "ASR by hour (Vietnam time; grey: no call)", "RdYlGn"),
    ):
        grid = hourly.pivot_table(index="weekday", columns="hour", values=column, aggfunc="first")
        grid = grid.reindex(index=range(1, 8), columns=range(24))
        grid.index = [weekdays[d] for d in grid.index]
        grid.columns = [f"{h:02d}" for h in grid.columns]
        _heatmap(fig, ax, grid, title, cmap, percent=column == "asr")
    axes[1].set_xlabel("hour of day")
    return fig


def hangup_causes(causes: pd.DataFrame) -> Figure:
    """Stacked bars of each campaign's attempts by hangup-cause group, from `cdr_hangup_causes`."""
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
    _style(ax, "Lateness of call records, per load run")
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
