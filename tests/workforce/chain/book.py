"""A small organisation to run the planning chain on: a customer-success book, desk history and two
sites (Chicago and Manila) whose opening hours leave a gap the follow-the-sun split reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.success.models import Account, PriceModel, Segment, Stage, Subscription
from opsdesk.success.pipeline.models import Opportunity, OpportunityKind, OpportunityStage
from tests.workforce.test_planning import add_desk_history


def add_book(db: Session, now: datetime) -> dict[str, int]:
    """Three live accounts (12,000 lives), one churned, one in implementation; a term ending in the
    horizon with no renewal yet; an open expansion. Returns ids by name."""
    today = now.date()
    mid = Segment(name="Mid-market", priority=1, rules=[], created_at=now)
    large = Segment(name="Enterprise", priority=2, rules=[], created_at=now)
    db.add_all([mid, large])
    db.flush()
    specs = [
        ("Acme", 2_000, Stage.ADOPTION, mid),
        ("Globex", 9_000, Stage.ADOPTION, large),
        ("Initech", 1_000, Stage.IMPLEMENTATION, mid),
        ("Gone", 5_000, Stage.CHURNED, large),
    ]
    ids = {}
    for name, lives, stage, segment in specs:
        account = Account(
            name=name,
            covered_lives=lives,
            stage=stage,
            stage_since=today,
            segment_id=segment.id,
            created_at=now,
            updated_at=now,
        )
        db.add(account)
        db.flush()
        ids[name] = account.id
    # Acme's term ends in two months with no renewal term: 15% of its lives are expected to leave.
    db.add(
        Subscription(
            account_id=ids["Acme"],
            start_date=today - timedelta(days=300),
            end_date=today + timedelta(days=60),
            price_model=PriceModel.PEPM,
            pepm_cents=500,
            covered_lives=2_000,
            escalator_pct=Decimal(0),
            created_at=now,
        )
    )
    # Initech (a new customer) is negotiating 3,000 more lives at $60 a life a year.
    db.add(
        Opportunity(
            account_id=ids["Initech"],
            name="Initech rollout",
            kind=OpportunityKind.EXPANSION,
            amount_cents=3_000 * 6_000,
            stage=OpportunityStage.NEGOTIATE,
            probability_pct=50,
            close_date=today + timedelta(days=40),
            created_at=now,
            updated_at=now,
        )
    )
    db.commit()
    return ids


def add_history(db: Session, now: datetime) -> None:
    add_desk_history(db, now, days=28, per_day=240)


def _site(name: str, zone: str, headcount: int, hours: str) -> dict[str, Any]:
    return {
        "name": name,
        "timezone": zone,
        "opening_hours": {day: [hours] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "languages": ["en"],
        "skills": ["L1"],
        "headcount": headcount,
        "shifts": {"lengths_hours": [8.5], "start_windows": ["07:00-12:30"], "break_minutes": 30},
    }


def small_assumptions(now: datetime, *, chicago: int = 6, manila: int = 5) -> dict[str, Any]:
    year, month = divmod(now.year * 12 + now.month, 12)
    return {
        "start_month": f"{year:04d}-{month + 1:02d}",
        "months": 4,
        "interval_minutes": 60,
        "schedule_time_limit_seconds": 4,
        "growth": {"extra_monthly_growth_pct": 0.0, "default_renewal_probability": 0.85},
        "contacts": {"fit_weeks": 3, "rate_factor": 1.0},
        "channels": {
            "phone": {
                "aht_seconds": 420,
                "service_level": 0.8,
                "answer_within_seconds": 20,
                "shrinkage": 0.3,
            },
            "chat": {"aht_seconds": 600, "concurrency": 3, "service_level": 0.8, "answer_within_seconds": 60},
            "email": {"aht_seconds": 480, "answer_within_seconds": 14400, "max_occupancy": 0.9},
        },
        "sites": {
            "sites": [
                _site("Chicago", "America/Chicago", chicago, "07:00-21:00"),
                _site("Manila", "Asia/Manila", manila, "07:00-19:00"),
            ]
        },
        "hiring": {"attrition_monthly": 0.03, "lead_time_months": 1, "ramp": [0.5], "absence": 0.1},
        "salaries": {"Chicago": {"all": 5_200_000}, "Manila": {"all": 1_100_000}},
    }


def language_assumptions(now: datetime, *, threshold: float = 0.3) -> dict[str, Any]:
    """The small organisation ten times busier, its advocates' work split by language: English and
    Spanish large, German and Tagalog small; Chicago speaks en/es/de and Manila en/tl."""
    assumptions = small_assumptions(now, chicago=40, manila=30)
    assumptions["contacts"]["rate_factor"] = 10
    chicago, manila = assumptions["sites"]["sites"]
    chicago["languages"], manila["languages"] = ["en", "es", "de"], ["en", "tl"]
    assumptions["sites"]["demand_mix"] = [
        {"skill": "L1", "language": "en", "share": 0.55},
        {"skill": "L1", "language": "es", "share": 0.35},
        {"skill": "L1", "language": "de", "share": 0.05},
        {"skill": "L1", "language": "tl", "share": 0.05},
    ]
    assumptions["queues"] = {"min_own_queue_occupancy": threshold}
    return assumptions
