"""Scenarios side by side: per month, each scenario's requirement, hires and cost, and its schedule
coverage, with the difference from the first scenario (the baseline)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MEASURES = (
    ("lives", "covered lives"),
    ("requirement_hours", "required agent-hours per week"),
    ("need_fte", "headcount need (FTE)"),
    ("headcount", "headcount"),
    ("coverage_pct", "productive FTE as % of need"),
    ("hires", "hires starting"),
    ("cost_cents", "salary cost"),
)


def compare(scenarios: Sequence[tuple[int, str, dict[str, Any]]]) -> dict[str, Any]:
    """`scenarios` are (id, name, summary); months are those of the first, the others aligned by label."""
    if not scenarios:
        return {"months": [], "scenarios": [], "measures": []}
    months: list[str] = list(scenarios[0][2]["months"])
    columns = [
        {
            "id": sid,
            "name": name,
            "covered_pct": s["schedule_covered_pct"],
            "total_hires": s["total_hires"],
            "total_cost_cents": s["total_cost_cents"],
        }
        for sid, name, s in scenarios
    ]
    measures = []
    for key, label in MEASURES:
        rows = []
        for month in months:
            values = []
            for _sid, _name, summary in scenarios:
                position = {label_: i for i, label_ in enumerate(summary["months"])}
                i = position.get(month)
                values.append(None if i is None else summary[key][i])
            base = values[0]
            rows.append(
                {
                    "month": month,
                    "values": values,
                    "differences": [
                        None if v is None or base is None else round(v - base, 2) for v in values
                    ],
                }
            )
        measures.append({"key": key, "label": label, "rows": rows})
    return {"months": months, "scenarios": columns, "measures": measures}


def part_label(decision: Mapping[str, Any]) -> str:
    """A stored queue decision's demand part, as the plan names it: channel/skill/language."""
    return f"{decision['channel']}/{decision['skill'] or 'any'}/{decision['language'] or 'any'}"


def compare_queues(scenarios: Sequence[tuple[int, dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """`scenarios` are (id, chain, assumptions): per scenario its first month's queue decisions, which
    parts (channel/skill/language) got their own queue and which were pooled, with the reason, and one
    row per part across the scenarios. A scenario stored before the decisions has `stored` False."""
    columns = []
    parts: dict[str, dict[str, Any]] = {}
    for sid, chain, assumptions in scenarios:
        stored = chain.get("requirement", {}).get("language_queues")
        threshold = (stored or {}).get(
            "min_own_queue_occupancy",
            assumptions.get("queues", {}).get("min_own_queue_occupancy", 0.5),
        )
        own: list[str] = []
        pooled: list[str] = []
        for d in (stored or {}).get("first_month", []):
            part = part_label(d)
            (own if d["queue"] == "own" else pooled).append(part)
            row = parts.setdefault(
                part,
                {
                    "label": part,
                    "key": part.replace("/", "-"),
                    "cells": {},
                },
            )
            row["cells"][sid] = {"queue": d["queue"], "reason": d["reason"]}
        columns.append(
            {"id": sid, "stored": stored is not None, "threshold": threshold, "own": own, "pooled": pooled}
        )
    return {"scenarios": columns, "parts": list(parts.values())}
