"""One person across channels: an address, a chat visitor id, a phone number and a social handle can all
lead to the same requester, and two records of one person can be merged without losing history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsdesk.core import audit, permissions
from opsdesk.core.actions import add_identity
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, OpsDeskError, PermissionDenied, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Identity, IdentityKind, Organisation, Role, User
from opsdesk.core.normalise import normalise_identity
from opsdesk.core.queries import person_by_identity
from opsdesk.desk.access import can_see
from opsdesk.desk.models import Ticket


def current_person(session: Session, user: User) -> User:
    """The record a merged user now lives on."""
    seen = {user.id}
    while user.merged_into_id is not None:
        user = session.get_one(User, user.merged_into_id)
        if user.id in seen:  # a cycle would be a data error; stop rather than loop
            break
        seen.add(user.id)
    return user


def _organisation_for_email(session: Session, address: str) -> Organisation | None:
    domain = address.rsplit("@", 1)[-1]
    return session.scalars(select(Organisation).where(Organisation.domain == domain).limit(1)).first()


def find_or_create_requester(
    session: Session, *, kind: IdentityKind, value: str, name: str | None, clock: Clock
) -> User:
    """The person behind this identity (following merges), creating a requester on first contact.

    A new email requester joins the organisation whose domain matches their address. Two inbound
    messages from a new person at once both end up on one record: the loser of the insert race reads
    the winner's row.
    """
    normalised = normalise_identity(kind, value)
    existing = person_by_identity(session, kind, normalised)
    if existing is not None:
        return existing
    email = normalised if kind is IdentityKind.EMAIL else None
    if email is not None:
        owner = session.scalar(select(User).where(User.email == email))
        if owner is not None:  # an email on the user row without its identity row: repair, don't duplicate
            session.add(Identity(user_id=owner.id, kind=kind, value=normalised, created_at=clock.now()))
            session.flush()
            return current_person(session, owner)
    try:
        with session.begin_nested():
            user = User(
                email=email,
                name=(name or "").strip()[:200] or normalised,
                role=Role.REQUESTER,
                organisation=_organisation_for_email(session, email) if email else None,
                languages=[],
                skills=[],
                created_at=clock.now(),
            )
            session.add(user)
            session.flush()
            session.add(Identity(user_id=user.id, kind=kind, value=normalised, created_at=clock.now()))
            session.flush()
    except IntegrityError:
        winner = person_by_identity(session, kind, normalised)
        if winner is None:
            raise
        return winner
    append_event(
        session,
        subject_type="user",
        subject_id=user.id,
        type="user_created",
        at=clock.now(),
        data={"role": Role.REQUESTER.value, "tier": None, "first_identity": kind.value},
    )
    return user


def find_requester_by_any(
    session: Session, *, identities: list[tuple[IdentityKind, str, str]], name: str | None, clock: Clock
) -> User:
    """The one person any of ``identities`` (kind, value, field) leads to, or a new requester on the
    first of them. Identities of two different people are a Conflict: they must be merged first, by
    someone allowed to (an API caller naming them together is not proof they are one person)."""
    if not identities:
        raise ValidationFailed("give an identity of the requester", field="requester_email")
    found: dict[int, User] = {}
    for kind, value, field in identities:
        try:
            person = person_by_identity(session, kind, value)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=field) from exc
        if person is not None:
            found[person.id] = person
    if len(found) > 1:
        raise Conflict(
            "these identities belong to different people; merge them first", field=identities[0][2]
        )
    if found:
        return next(iter(found.values()))
    kind, value, field = identities[0]
    try:
        return find_or_create_requester(session, kind=kind, value=value, name=name, clock=clock)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=field) from exc


def _authorise(
    session: Session,
    *,
    actor: User | None,
    action: str,
    people: list[User],
    crosses: bool,
    confirmed: bool,
    clock: Clock,
) -> None:
    """Merging people or adding an identity hands one person's tickets (and the mail that threads onto
    them) to another: only support leads and admins may, and across organisations only when they
    confirm it and may themselves read every ticket involved, sensitive ones included. ``actor`` None is
    OpsDesk itself (mail intake). A refusal is audited apart: the request rolls back after it."""
    if actor is None:
        return
    reason: OpsDeskError | None = None
    if not permissions.has(actor, permissions.USER_MERGE):
        reason = PermissionDenied(f"{actor.role.value} may not merge people or add identities")
    elif crosses and not confirmed:
        reason = ValidationFailed(
            "these belong to different organisations (or to none); send confirm_cross_organisation: true",
            field="confirm_cross_organisation",
        )
    elif crosses:
        tickets = session.scalars(select(Ticket).where(Ticket.requester_id.in_([p.id for p in people])))
        if not all(can_see(actor, t) for t in tickets):
            reason = PermissionDenied(
                "only someone who may read every ticket of these people may join them across organisations",
                field="confirm_cross_organisation",
            )
    if reason is None:
        return
    denied = audit.entry(
        actor=actor,
        action=f"{action}_denied",
        subject_type="user",
        subject_id=people[0].id,
        at=clock.now(),
        detail={"people": [p.id for p in people], "reason": reason.message},
    )
    audit.record_apart(session, [denied])
    raise reason


def _crosses(a: int | None, b: int | None) -> bool:
    """People without an organisation are not known to be one organisation's."""
    return a is None or a != b


def merge_requesters(
    session: Session,
    *,
    keep: User,
    merge: User,
    actor: User | None,
    clock: Clock,
    confirm_cross_organisation: bool = False,
) -> User:
    """Move ``merge``'s identities and tickets onto ``keep``; ``merge`` stays as a pointer to ``keep``.

    Messages keep their original author id (who wrote them is history); readers follow merged_into_id.
    """
    keep = current_person(session, keep)
    merge = current_person(session, merge)
    if keep.id == merge.id:
        raise ValidationFailed("a requester cannot be merged into themselves", field="merge")
    for person, field in ((keep, "keep"), (merge, "merge")):
        if person.role is not Role.REQUESTER:
            raise ValidationFailed(
                f"only requesters can be merged; {person.name} is {person.role}", field=field
            )
    crosses = _crosses(keep.organisation_id, merge.organisation_id)
    _authorise(
        session,
        actor=actor,
        action="requester_merge",
        people=[merge, keep],
        crosses=crosses,
        confirmed=confirm_cross_organisation,
        clock=clock,
    )
    organisations = {"from_organisation": merge.organisation_id, "into_organisation": keep.organisation_id}
    identities = list(merge.identities)
    tickets = list(session.scalars(select(Ticket).where(Ticket.requester_id == merge.id).order_by(Ticket.id)))
    for identity in identities:
        identity.user = keep
    for ticket in tickets:
        ticket.requester = keep
    moved_email = merge.email
    merge.email = None
    merge.merged_into_id = keep.id
    merge.active = False
    if keep.organisation_id is None and merge.organisation_id is not None:
        keep.organisation_id = merge.organisation_id
    session.flush()  # the address leaves `merge` before `keep` takes it: users.email is unique
    if keep.email is None and moved_email is not None:
        keep.email = moved_email
        session.flush()
    identity_ids = [i.id for i in identities]
    ticket_ids = [t.id for t in tickets]
    now = clock.now()
    append_event(
        session,
        subject_type="user",
        subject_id=merge.id,
        type="requester_merged",
        at=now,
        actor=actor,
        data={"into": keep.id, "identity_ids": identity_ids, "ticket_ids": ticket_ids},
    )
    append_event(
        session,
        subject_type="user",
        subject_id=keep.id,
        type="requester_merged_from",
        at=now,
        actor=actor,
        data={"from": merge.id, "identity_ids": identity_ids, "ticket_ids": ticket_ids},
    )
    for ticket_id in ticket_ids:
        append_event(
            session,
            subject_type="ticket",
            subject_id=ticket_id,
            type="requester_changed",
            at=now,
            actor=actor,
            data={"from": merge.id, "to": keep.id},
        )
    audit.record(
        session,
        actor=actor,
        action="requester_merged",
        subject_type="user",
        subject_id=keep.id,
        at=now,
        detail={"merged": merge.id, "ticket_ids": ticket_ids, "cross_organisation": crosses, **organisations},
    )
    return keep


def link_identity(
    session: Session,
    *,
    user: User,
    kind: IdentityKind,
    value: str,
    actor: User | None,
    clock: Clock,
    confirm_cross_organisation: bool = False,
) -> Identity:
    """Attach another channel identity to a person; one that belongs to someone else raises Conflict
    (the two records must be merged instead). Mail from an added address threads onto the person's
    tickets as theirs, so an address of another organisation's domain (or of none, for a person of
    one) crosses organisations as a merge does."""
    person = current_person(session, user)
    crosses = False
    if kind is IdentityKind.EMAIL:
        owner = _organisation_for_email(session, normalise_identity(kind, value))
        crosses = (owner.id if owner else None) != person.organisation_id
    _authorise(
        session,
        actor=actor,
        action="identity_add",
        people=[person],
        crosses=crosses,
        confirmed=confirm_cross_organisation,
        clock=clock,
    )
    identity = add_identity(session, user=person, kind=kind, value=value, clock=clock)
    if actor is not None:
        audit.record(
            session,
            actor=actor,
            action="identity_added",
            subject_type="user",
            subject_id=person.id,
            at=clock.now(),
            detail={"kind": kind.value, "value": identity.value, "cross_organisation": crosses},
        )
    return identity
