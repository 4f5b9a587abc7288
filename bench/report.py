"""Tables (text and markdown) and per-day plots of the whole-day benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.goals import GoalResult
from bench.strategies import OURS

COLUMNS = (
    ("import_wh", "import Wh", "{:.0f}"),
    ("export_wh", "export Wh", "{:.0f}"),
    ("avoidable_import_wh", "avoid imp", "{:.0f}"),
    ("avoidable_export_wh", "avoid exp", "{:.0f}"),
    ("avoidable_total_wh", "avoid tot", "{:.0f}"),
    ("band_crossings_per_h", "cross/h", "{:.0f}"),
    ("p95_p5_w", "p95-p5 W", "{:.0f}"),
    ("writes_per_h", "writes/h", "{:.0f}"),
    ("max_overshoot_w", "overshoot W", "{:.0f}"),
)


def format_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Plain text: one row per (meter period, strategy)."""
    header = f"{'meter':>6} {'strategy':<22}" + "".join(f"{c[1]:>12}" for c in COLUMNS)
    lines = [header, "-" * len(header)]
    for period, table in results.items():
        for name, row in table.items():
            cells = "".join(f"{fmt.format(row[key]):>12}" for key, _, fmt in COLUMNS)
            lines.append(f"{period:>6} {name:<22}{cells}")
    return "\n".join(lines)


def markdown_days(per_day: dict[str, dict[str, dict[str, float]]], title: str) -> str:
    """Avoidable import+export Wh / writes per h, one row per day, best value in bold."""
    days = list(per_day)
    names = list(per_day[days[0]])
    lines = [f"#### {title}", "", "| day | " + " | ".join(names) + " |"]
    lines.append("|---|" + "---|" * len(names))
    for day in days:
        row = per_day[day]
        candidates = [n for n in names if n != "no_battery"]
        best = min(candidates, key=lambda n: row[n]["avoidable_total_wh"])
        cells = []
        for n in names:
            text = f"{row[n]['avoidable_total_wh']:.0f} / {row[n]['writes_per_h']:.0f}"
            cells.append(f"**{text}**" if n == best else text)
        lines.append(f"| {day} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_summary(results: dict[str, dict[str, dict[str, float]]], title: str) -> str:
    """One row per strategy: avoidable Wh, writes/h and worst overshoot at each meter period."""
    periods = list(results)
    head = " | ".join(f"{p} avoidable Wh | {p} writes/h | {p} overshoot W" for p in periods)
    lines = [f"#### {title}", "", f"| strategy | {head} |", "|---|" + "---|" * 3 * len(periods)]
    for name in results[periods[0]]:
        cells = []
        for p in periods:
            row = results[p][name]
            cells += [
                f"{row['avoidable_total_wh']:.0f}",
                f"{row['writes_per_h']:.0f}",
                f"{row['max_overshoot_w']:.0f}",
            ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_goals(goals: list[GoalResult]) -> str:
    lines = ["| meter | goal | met | numbers |", "|---|---|---|---|"]
    for g in goals:
        lines.append(f"| {g.period} | {g.goal} | {'yes' if g.met else '**NO**'} | {g.detail} |")
    return "\n".join(lines)


def plot_day(series: dict[str, np.ndarray], path: Path, title: str) -> None:
    """Grid, battery, setpoint and SoC of ours (10 s means) over one day; small PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = np.arange(len(series["grid_w"])) * 10 / 3600
    fig, axes = plt.subplots(3, 1, figsize=(9, 5.4), sharex=True)
    axes[0].plot(hours, series["house_w"], lw=0.5, color="0.6", label="house (no battery)")
    axes[0].plot(hours, series["grid_w"], lw=0.6, color="C0", label=f"grid ({OURS})")
    axes[0].set_ylim(-3000, 4000)
    axes[0].set_ylabel("W")
    axes[1].plot(hours, series["battery_w"], lw=0.6, color="C1", label="battery AC (+charge)")
    axes[1].plot(hours, series["setpoint_w"], lw=0.5, color="C3", label="setpoint")
    axes[1].set_ylabel("W")
    axes[2].plot(hours, series["soc"] * 100, lw=0.8, color="C2", label="SoC")
    axes[2].set_ylim(0, 100)
    axes[2].set_ylabel("SoC %")
    axes[2].set_xlabel("hour of day (10 s means)")
    for ax in axes:
        ax.axhline(0, color="k", lw=0.4)
        ax.legend(loc="upper left", fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)
