"""The pure rules of CSAT: how an answer on each scale maps to good or bad, and who is surveyed.

Follows Zendesk's semantics, which support leaders already report on: a rating is good or bad; on a
1-5 scale 4 and 5 are good and 1-3 bad; CSAT = good / (good + bad)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from opsdesk.core.errors import ValidationFailed


class Scale(enum.StrEnum):
    GOOD_BAD = "good_bad"
    ONE_TO_FIVE = "one_to_five"


class Rating(enum.StrEnum):
    GOOD = "good"
    BAD = "bad"


class Via(enum.StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    API = "api"


GOOD_FROM = 4  # on 1-5, this score and above is good

# The reasons a customer may give for a rating (Zendesk's defaults); offered mainly after a bad one.
REASONS = (
    "The issue took too long to resolve",
    "The issue was not resolved",
    "The agent's knowledge is unsatisfactory",
    "The agent's attitude is unsatisfactory",
    "Some other reason",
)


@dataclass(frozen=True)
class Answer:
    """One answer, normalised: always good or bad, with the 1-5 score when the scale has one."""

    scale: Scale
    rating: Rating
    score: int | None


def answer(scale: Scale, choice: str | int) -> Answer:
    """The answer a survey choice means: ``good``/``bad`` on good/bad, ``1``..``5`` on 1-5."""
    text = str(choice).strip().lower()
    if scale is Scale.GOOD_BAD:
        if text not in (Rating.GOOD, Rating.BAD):
            raise ValidationFailed("on the good/bad scale a rating is good or bad", field="rating")
        return Answer(scale, Rating(text), None)
    if not (text.isdigit() and 1 <= int(text) <= 5):
        raise ValidationFailed("on the 1-5 scale a rating is a whole number from 1 to 5", field="score")
    score = int(text)
    return Answer(scale, Rating.GOOD if score >= GOOD_FROM else Rating.BAD, score)


def choices(scale: Scale) -> list[str]:
    """What the email offers, best first."""
    return ["good", "bad"] if scale is Scale.GOOD_BAD else ["5", "4", "3", "2", "1"]


def choice_label(scale: Scale, choice: str) -> str:
    if scale is Scale.GOOD_BAD:
        return "Good, I'm satisfied" if choice == "good" else "Bad, I'm unsatisfied"
    return {
        "5": "5 - Very satisfied",
        "4": "4 - Satisfied",
        "3": "3 - Neither",
        "2": "2 - Dissatisfied",
        "1": "1 - Very dissatisfied",
    }[choice]


def check_reason(reason: str | None) -> str | None:
    if reason is None or reason == "":
        return None
    if reason not in REASONS:
        raise ValidationFailed(f"the reason must be one of: {'; '.join(REASONS)}", field="reason")
    return reason


class Skip(enum.StrEnum):
    """Why a solved ticket gets no survey."""

    MERGED = "merged"
    NO_AGENT_REPLY = "no_public_agent_reply"
    OPTED_OUT = "opted_out"
    NO_ADDRESS = "no_email_address"
    STAFF_REQUESTER = "staff_requester"  # agents do not rate tickets, even their own
    ALREADY_RATED = "already_rated"  # rated in the chat or through the API before the email was due


@dataclass(frozen=True)
class TicketFacts:
    merged: bool
    public_agent_replies: int
    requester_opted_out: bool
    requester_email: str | None
    requester_is_staff: bool
    already_rated: bool = False


def skip_reason(facts: TicketFacts) -> Skip | None:
    """None when the ticket's requester is to be surveyed; else the first reason not to."""
    if facts.merged:
        return Skip.MERGED
    if facts.public_agent_replies == 0:
        return Skip.NO_AGENT_REPLY
    if facts.already_rated:
        return Skip.ALREADY_RATED
    if facts.requester_is_staff:
        return Skip.STAFF_REQUESTER
    if facts.requester_opted_out:
        return Skip.OPTED_OUT
    if not facts.requester_email:
        return Skip.NO_ADDRESS
    return None


def csat_pct(good: int, bad: int) -> float | None:
    """good / (good + bad) as a percentage; None with no ratings (unrated tickets are left out)."""
    return good * 100.0 / (good + bad) if good + bad else None
