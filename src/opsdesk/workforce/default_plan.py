"""The demo organisation's planning configuration (what `opsdesk demo` builds its first plan from).

Sites and headcounts are those of the demo's people (opsdesk.demo.people.SITES, checked by a test):
L1 advocates and L2 engineers in Chicago, Seattle, San Francisco, Manila and Dublin. Opening hours
follow the sun so that every UTC hour the demo's customers write in has a site open. The hiring plan
grows the customer base 2.5% a month from the demo's 20,000 customers, with attrition eating into the
starting headcount, so hires appear a few months out.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

# (site, zone, L1 advocates, L2 engineers, languages, weekday hours, weekend hours, shift start window)
DEMO_SITES: list[tuple[str, str, int, int, list[str], str, str, str]] = [
    ("Chicago", "America/Chicago", 22, 10, ["en", "es"], "07:00-21:00", "08:00-18:00", "07:00-12:30"),
    ("Seattle", "America/Los_Angeles", 14, 8, ["en"], "06:00-20:00", "08:00-18:00", "06:00-11:30"),
    (
        "San Francisco",
        "America/Los_Angeles",
        10,
        8,
        ["en", "es", "zh"],
        "07:00-19:00",
        "08:00-18:00",
        "07:00-10:30",
    ),
    ("Manila", "Asia/Manila", 26, 6, ["en", "tl"], "07:00-19:00", "08:00-18:00", "07:00-10:30"),
    ("Dublin", "Europe/Dublin", 16, 6, ["en", "fr", "de"], "07:00-20:00", "08:00-18:00", "07:00-11:30"),
]
# The sites whose L1 advocates all speak Spanish beside English (the demo's people and its scenarios).
DEMO_SPANISH_SITES = ("Chicago", "San Francisco")
DEMO_CUSTOMERS = 20_000
MONTHLY_GROWTH = 0.025
PLAN_MONTHS = 12

CHANNELS: dict[str, dict[str, Any]] = {
    # Erlang C, 80% answered within 20 s.
    "phone": {"aht_seconds": 420, "service_level": 0.8, "answer_within_seconds": 20, "shrinkage": 0.3},
    # Three sessions at once per agent, 80% answered within 60 s.
    "chat": {
        "aht_seconds": 600,
        "concurrency": 3,
        "service_level": 0.8,
        "answer_within_seconds": 60,
        "shrinkage": 0.3,
    },
    # Deferred work: every email answered within 4 hours, social posts within 1 hour.
    "email": {"aht_seconds": 480, "answer_within_seconds": 4 * 3600, "shrinkage": 0.3, "max_occupancy": 0.9},
    "social": {"aht_seconds": 300, "answer_within_seconds": 3600, "shrinkage": 0.3, "max_occupancy": 0.9},
}


def _site(
    name: str, zone: str, l1: int, l2: int, languages: list[str], week: str, weekend: str, starts: str
) -> dict[str, Any]:
    hours = {day: [week] for day in ("mon", "tue", "wed", "thu", "fri")} | {
        "sat": [weekend],
        "sun": [weekend],
    }
    return {
        "name": name,
        "timezone": zone,
        "opening_hours": hours,
        "languages": languages,
        "skills": ["L1", "L2"],
        "headcount": l1 + l2,
        "teams": [
            {"name": "L1", "skills": ["L1"], "languages": ["en"], "headcount": l1},
            {"name": "L2", "skills": ["L1", "L2"], "languages": ["en"], "headcount": l2},
        ],
        # Weekend hours are shorter: an 8.5 h shift starting at 08:00 or 09:00 still fits them.
        "shifts": {"lengths_hours": [8.5], "start_windows": [starts, "08:00-09:30"], "break_minutes": 30},
    }


def _next_month(now: datetime) -> str:
    year, month = divmod(now.year * 12 + now.month, 12)
    return f"{year:04d}-{month + 1:02d}"


def default_plan(now: datetime) -> dict[str, Any]:
    """The demo's plan configuration, its hiring plan starting the month after `now`."""
    l1_total = sum(site[2] for site in DEMO_SITES)
    l2_total = sum(site[3] for site in DEMO_SITES)
    return {
        "interval_minutes": 60,
        "horizon_days": 14,
        "actual_days": 21,
        "backtest_days": 7,
        "schedule_time_limit_seconds": 10,
        "channels": copy.deepcopy(CHANNELS),  # a caller may edit its copy
        "sites": {
            "demand_mix": [{"skill": "L1", "share": 0.85}, {"skill": "L2", "share": 0.15}],
            "sites": [_site(*site) for site in DEMO_SITES],
        },
        "hiring": {
            "start_month": _next_month(now),
            "customers": [round(DEMO_CUSTOMERS * (1 + MONTHLY_GROWTH) ** m) for m in range(PLAN_MONTHS)],
            "fte": {"hours_per_month": 160, "shrinkage": 0.3, "occupancy": 0.85},
            "attrition_monthly": 0.03,
            "lead_time_months": 2,
            "ramp": [0.4, 0.7, 0.9],
            "skills": {
                "L1": {"contacts_per_customer_month": 1.0, "handle_minutes": 18},
                "L2": {"contacts_per_customer_month": 0.13, "handle_minutes": 45},
            },
            "sites": {
                name: {"share": {"L1": l1 / l1_total, "L2": l2 / l2_total}, "headcount": {"L1": l1, "L2": l2}}
                for name, _zone, l1, l2, *_rest in DEMO_SITES
            },
        },
    }
