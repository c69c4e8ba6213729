"""Hiring plan arithmetic, checked by hand on a 3-month example, and PLAN.yaml errors naming the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.hiring import (
    HIRING_COLUMNS,
    load_plan,
    parse_plan,
    plan_hiring,
    productivity,
    project_stream,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plan.yaml"

# 10,000 customers x 0.1 contacts x 60 min = 1,000 hours a month; one FTE handles 100 hours (no shrinkage,
# full occupancy), so 10 FTE are required, then 10, then 12 (12,000 customers).
THREE_MONTHS: dict[str, Any] = {
    "start_month": "2027-01",
    "customers": [10000, 10000, 12000],
    "fte": {"hours_per_month": 100, "shrinkage": 0.0, "occupancy": 1.0},
    "attrition_monthly": 0.1,
    "lead_time_months": 1,
    "ramp": [0.5],
    "skills": {"L1": {"contacts_per_customer_month": 0.1, "handle_minutes": 60}},
    "sites": {"Chicago": {"share": {"L1": 1.0}, "headcount": {"L1": 10}}},
}


def test_three_month_plan_by_hand() -> None:
    table = plan_hiring(parse_plan(THREE_MONTHS))
    assert list(table.columns) == HIRING_COLUMNS
    rows = table.to_dict("records")
    # January: no hire can start yet (1 month lead time). 10 people, all productive; 1 leaves.
    assert [rows[0][k] for k in ("month", "required_fte", "productive_fte", "headcount", "attrition")] == [
        "2027-01",
        10.0,
        10.0,
        10.0,
        1.0,
    ]
    # ... but January opens the requisitions for February's hires.
    assert (rows[0]["hires_starting"], rows[0]["requisitions"], rows[0]["requisition_start_month"]) == (
        0,
        5,
        "2027-02",
    )
    # February: hires are fully productive in March (ramp of one month), when 12 FTE are needed. The 9
    # who stayed will be 9 x 0.9 = 8.1 in March; each February hire will be 0.9 x 100% = 0.9, so
    # ceil((12 - 8.1) / 0.9) = ceil(4.33) = 5 hires, requisitioned in January.
    assert rows[1]["hires_starting"] == 5
    assert rows[1]["headcount"] == 14.0  # 9 + 5
    assert rows[1]["productive_fte"] == 11.5  # 9 + 5 x 50%
    assert rows[1]["attrition"] == 1.4
    assert rows[1]["coverage_pct"] == 115.0
    # March: (9 + 5) x 0.9 = 12.6 people, all productive, for 12 required: no more hires.
    assert (rows[2]["headcount"], rows[2]["productive_fte"], rows[2]["hires_starting"]) == (12.6, 12.6, 0)
    assert rows[2]["coverage_pct"] == 105.0
    assert [r["requisitions"] for r in rows] == [5, 0, 0]


def test_lead_time_leaves_the_first_months_to_the_starting_headcount() -> None:
    months = project_stream([10, 12, 14, 14], 10, attrition=0.0, lead_time=2, ramp=[])
    assert [m.hires_starting for m in months] == [0, 0, 4, 0]
    assert [m.requisitions for m in months] == [4, 0, 0, 0]
    assert [m.productive_fte for m in months] == [10, 10, 14, 14]


def test_ramp_curve_and_full_productivity_after_it() -> None:
    assert [productivity([0.25, 0.5, 0.75], month) for month in (1, 2, 3, 4, 12)] == [
        0.25,
        0.5,
        0.75,
        1.0,
        1.0,
    ]
    # No attrition, ramp 50% then 100%: need 4 more FTE from month 2 -> 4 hires start in month 1 and
    # give 2 FTE in month 1 and 4 from month 2.
    months = project_stream([10, 14, 14], 10, attrition=0.0, lead_time=0, ramp=[0.5])
    assert [m.hires_starting for m in months] == [4, 0, 0]
    assert [m.productive_fte for m in months] == [12.0, 14.0, 14.0]


def test_site_share_and_fte_basis() -> None:
    plan = copy.deepcopy(THREE_MONTHS)
    plan["fte"] = {"hours_per_month": 160, "shrinkage": 0.3, "occupancy": 0.85}
    plan["sites"] = {
        "Chicago": {"share": {"L1": 0.25}, "headcount": {"L1": 5}},
        "Manila": {"share": {"L1": 0.75}, "headcount": {"L1": 5}, "attrition_monthly": 0.0},
    }
    table = plan_hiring(parse_plan(plan))
    january = table[table["month"] == "2027-01"].set_index("site")
    # 1,000 hours x 25% / (160 x 0.7 x 0.85 = 95.2 h) = 2.63 FTE; x 75% = 7.88 FTE
    assert january.loc["Chicago", "required_fte"] == 2.63
    assert january.loc["Manila", "required_fte"] == 7.88
    assert january.loc["Manila", "attrition"] == 0.0


def test_example_plan_loads_and_plans_every_site_and_skill() -> None:
    table = plan_hiring(load_plan(EXAMPLE))
    assert table["month"].nunique() == 6
    assert len(table) == 6 * 9  # San Francisco has L1 only
    assert (table["hires_starting"] >= 0).all()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(start_month="2027-13"), "start_month"),
        (lambda d: d.update(customers=[10, -1]), "customers[1]"),
        (lambda d: d.update(ramp=[0.5, 1.5]), "ramp[1]"),
        (lambda d: d.update(attrition_monthly=1.5), "attrition_monthly"),
        (lambda d: d["fte"].update(shrinkage=1), "fte.shrinkage"),
        (lambda d: d["skills"]["L1"].update(handle_minutes=0), "skills.L1.handle_minutes"),
        (lambda d: d["sites"]["Chicago"]["share"].update(L9=0.1), "sites.Chicago.share.L9"),
        (lambda d: d["sites"]["Chicago"]["share"].update(L1=0.5), "sites"),
        (lambda d: d["sites"]["Chicago"].update(heads=3), "sites.Chicago.heads"),
        (lambda d: d.pop("skills"), "skills"),
    ],
)
def test_plan_errors_name_the_key(change: Any, field: str) -> None:
    data = copy.deepcopy(THREE_MONTHS)
    change(data)
    with pytest.raises(ValidationFailed) as caught:
        parse_plan(data)
    assert caught.value.field == field
