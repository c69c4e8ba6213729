"""Reviews as CSV, one row per review, for the spreadsheets QA leads keep. Only reviews the reader
may read are exported (the caller passes ``queries.reviews_query(user)``); reviews of sensitive
tickets in an export are audited as shown, like tickets in a list."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from opsdesk.core.spreadsheet import cell_text
from opsdesk.quality.models import Review

CSV_COLUMNS = (
    "review_id",
    "created_at",
    "ticket_id",
    "agent_id",
    "agent_name",
    "reviewer_id",
    "reviewer_name",
    "rubric",
    "rubric_version",
    "score",
    "corrected_score",
    "effective_score",
    "ratings",
    "open_disputes",
    "comment",
)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def csv_values(review: Review) -> list[str]:
    ratings = "; ".join(f"{r.category_key}={'N/A' if r.value is None else r.value}" for r in review.ratings)
    return [
        str(review.id),
        review.created_at.isoformat(),
        str(review.ticket_id),
        str(review.agent_id),
        cell_text(review.agent.name),
        str(review.reviewer_id),
        cell_text(review.reviewer.name),
        cell_text(review.rubric_version.rubric.name),
        str(review.rubric_version.version),
        _number(review.score),
        _number(review.corrected_score if review.corrected else None),
        _number(review.effective_score),
        ratings,
        str(sum(1 for d in review.disputes if d.status.value == "open")),
        cell_text(review.comment),
    ]


def csv_lines(reviews: Iterable[Review]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for review in reviews:
        writer.writerow(csv_values(review))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()
