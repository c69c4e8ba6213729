"""Calibration results: blind until every participant has rated every item, then per item and per
category the share of reviewer pairs within 10 points, Krippendorff's alpha (interval and ordinal),
the outliers and the agreed score."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.errors import NotFound
from opsdesk.core.models import User
from opsdesk.quality import access
from opsdesk.quality.agreement import Level, krippendorff_alpha, outliers, share_within
from opsdesk.quality.models import CalibrationSession, Review


def calibration_for(session: Session, calibration_id: int, user: User) -> CalibrationSession:
    """The session for its participants and QA leads who may read all of its conversations."""
    calibration = session.get(CalibrationSession, calibration_id)
    if calibration is None or not (
        user.id in {p.reviewer_id for p in calibration.participants}
        or (access.can_manage(user) and all(access.can_review(user, i.ticket) for i in calibration.items))
    ):
        raise NotFound(f"no calibration session #{calibration_id}", field="calibration_id")
    return calibration


def revealed(session: Session, calibration_id: int) -> bool:
    calibration = session.get(CalibrationSession, calibration_id)
    if calibration is None:
        return False
    expected = len(calibration.items) * len(calibration.participants)
    submitted = session.scalar(
        select(func.count(Review.id)).where(Review.calibration_session_id == calibration_id)
    )
    return bool(expected) and submitted == expected


def results(session: Session, calibration: CalibrationSession, user: User) -> dict[str, Any]:
    """What ``user`` may see of the session: before the reveal, who has submitted and their own
    reviews; after it, everything."""
    all_reviews = list(
        session.scalars(
            select(Review).where(Review.calibration_session_id == calibration.id).order_by(Review.id)
        )
    )
    submitted = {p.reviewer_id: 0 for p in calibration.participants}
    for review in all_reviews:
        submitted[review.reviewer_id] = submitted.get(review.reviewer_id, 0) + 1
    shown = revealed(session, calibration.id)
    out: dict[str, Any] = {
        "id": calibration.id,
        "name": calibration.name,
        "rubric_version_id": calibration.rubric_version_id,
        "revealed": shown,
        "submitted": submitted,
        "items_per_reviewer": len(calibration.items),
        "own_reviews": [r.id for r in all_reviews if r.reviewer_id == user.id],
    }
    if not shown:
        return out
    reviewers = sorted(submitted)
    by_item: dict[tuple[int, int], dict[int, Review]] = {}
    for review in all_reviews:
        by_item.setdefault((review.ticket_id, review.agent_id), {})[review.reviewer_id] = review
    items: list[dict[str, Any]] = []
    for item in calibration.items:
        given = by_item.get((item.ticket_id, item.agent_id), {})
        scores = {r: v.score for r, v in given.items() if v.score is not None}
        items.append(
            {
                "item_id": item.id,
                "ticket_id": item.ticket_id,
                "agent_id": item.agent_id,
                "scores": scores,
                "within_10": share_within([list(scores.values())]),
                "outliers": outliers(scores),
                "agreed_score": item.agreed_score,
            }
        )
    overall = [[_score_of(by_item, i, r) for i in calibration.items] for r in reviewers]
    out["items"] = items
    out["overall"] = _agreement(overall)
    out["categories"] = {
        c["key"]: _agreement(
            [[_category_of(by_item, i, r, c["key"]) for i in calibration.items] for r in reviewers]
        )
        for c in calibration.rubric_version.categories
    }
    out["outliers"] = sorted({r for entry in items for r in entry["outliers"]})
    return out


def _score_of(by_item: dict[tuple[int, int], dict[int, Review]], item: Any, reviewer: int) -> float | None:
    review = by_item.get((item.ticket_id, item.agent_id), {}).get(reviewer)
    return review.score if review is not None else None


def _category_of(
    by_item: dict[tuple[int, int], dict[int, Review]], item: Any, reviewer: int, key: str
) -> float | None:
    review = by_item.get((item.ticket_id, item.agent_id), {}).get(reviewer)
    if review is None:
        return None
    return next((r.score for r in review.ratings if r.category_key == key), None)


def _agreement(matrix: list[list[float | None]]) -> dict[str, float | None]:
    """Reviewers x items scores: the within-10 share and alpha (interval, ordinal)."""
    units = [[row[u] for row in matrix if row[u] is not None] for u in range(len(matrix[0]) if matrix else 0)]
    return {
        "within_10": share_within([[v for v in unit if v is not None] for unit in units]),
        "alpha_interval": krippendorff_alpha(matrix, Level.INTERVAL),
        "alpha_ordinal": krippendorff_alpha(matrix, Level.ORDINAL),
    }
