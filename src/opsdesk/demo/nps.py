"""A year of relationship NPS for the demo: the schedules (every segment asks HR leaders and executives
twice a year; Enterprise asks quarterly and adds benefits leaders), the invitations they sent and the
answers, about a quarter of contacts answering. Better-fitting accounts score higher, so NPS carries the
same signal as engagement. Written as the survey job and the answer pages would have written them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from opsdesk.core.models import Event
from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.success.models import ContactRole, Stage
from opsdesk.success.voice.models import InvitationStatus, NpsInvitation, NpsResponse, NpsSchedule

RESPONSE_RATE = 0.25
COMMENTS = {
    "promoter": ("The team knows our people and our plan.", "Members love the programme."),
    "passive": ("Good, but reporting could be easier.", "Fine overall; onboarding was slow."),
    "detractor": ("Too many billing errors this year.", "Our members find the app confusing."),
}


def create_nps_history(
    session: Session,
    *,
    rng: np.random.Generator,
    now: datetime,
    segment_ids: Mapping[str, int],
    accounts: Sequence[Mapping[str, Any]],
    fit: Sequence[float],
    contacts: Sequence[Mapping[str, Any]],
) -> dict[str, int]:
    enterprise = segment_ids.get("Enterprise")
    schedules: list[tuple[int | None, list[str], int]] = [(None, ["executive", "hr_leader"], 180)]
    if enterprise is not None:
        schedules.append((enterprise, ["benefits_leader", "executive", "hr_leader"], 90))
    bulk_insert(
        session,
        NpsSchedule,
        [
            {
                "segment_id": s,
                "roles": roles,
                "every_days": days,
                "active": True,
                "created_at": now - timedelta(days=400),
                "updated_at": now - timedelta(days=400),
            }
            for s, roles, days in schedules
        ],
    )
    rule = {s: (set(roles), days) for s, roles, days in schedules}
    index_of = {int(a["id"]): i for i, a in enumerate(accounts)}
    invitations: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    first_invitation, first_response = next_id(session, NpsInvitation), next_id(session, NpsResponse)
    offset = {int(a["id"]): float(rng.uniform(0, 1)) for a in accounts}  # each account's day in the cycle
    for contact in contacts:
        account = accounts[index_of[int(contact["account_id"])]]
        if account["stage"] is Stage.CHURNED or not contact["email"]:
            continue
        roles, days = rule.get(account["segment_id"], rule[None])
        if ContactRole(contact["role"]).value not in roles:
            continue
        sent = now - timedelta(days=days * offset[int(account["id"])] + 1)
        while sent > max(now - timedelta(days=365), account["created_at"]):
            invitation_id = first_invitation + len(invitations)
            invitations.append(
                {
                    "id": invitation_id,
                    "account_id": account["id"],
                    "contact_id": contact["id"],
                    "to": contact["email"],
                    "status": InvitationStatus.SENT,
                    "attempts": 1,
                    "next_attempt_at": sent,
                    "last_error": None,
                    "created_at": sent,
                    "sent_at": sent,
                }
            )
            events.append(
                _event("account", account["id"], sent, "nps_survey_sent", {"contact_id": contact["id"]})
            )
            if rng.random() < RESPONSE_RATE:
                at = min(sent + timedelta(hours=float(rng.uniform(1, 72))), now)
                score = int(
                    np.clip(round(rng.normal(5.0 + 4.5 * fit[index_of[int(account["id"])]], 2.0)), 0, 10)
                )
                kind = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
                comment = str(rng.choice(COMMENTS[kind])) if rng.random() < 0.4 else ""
                response_id = first_response + len(responses)
                responses.append(
                    {
                        "id": response_id,
                        "external_id": None,
                        "account_id": account["id"],
                        "contact_id": contact["id"],
                        "invitation_id": invitation_id,
                        "score": score,
                        "comment": comment,
                        "responded_at": at,
                        "created_at": at,
                    }
                )
                events.append(
                    _event(
                        "account",
                        account["id"],
                        at,
                        "nps_response_recorded",
                        {"response_id": response_id, "score": score, "contact_id": contact["id"]},
                    )
                )
                if account["organisation_id"] is not None:
                    events.append(
                        _event(
                            "organisation",
                            account["organisation_id"],
                            at,
                            "nps_received",
                            {"score": score, "contact_user_id": None},
                        )
                    )
            sent -= timedelta(days=days)
    bulk_insert(session, NpsInvitation, invitations)
    bulk_insert(session, NpsResponse, responses)
    events.sort(key=lambda e: e["at"])
    first_event = next_id(session, Event)
    bulk_insert(session, Event, [{"id": first_event + i, **e} for i, e in enumerate(events)])
    return {"NPS invitations": len(invitations), "NPS responses": len(responses)}


def _event(kind: str, subject: int, at: datetime, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": at,
        "actor_id": None,
        "subject_type": kind,
        "subject_id": subject,
        "type": type_,
        "data": data,
    }
