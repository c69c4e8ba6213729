"""Macros: saved sets of actions an agent applies to a ticket in one click (a reply or note rendered
from a template, plus field, tag, status, group and assignee changes), personal or shared, counted
each time they are used. Applying one is one update: its changes are the agent's (each an event that
names the macro), and the triggers then run once over all of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.desk.automation.changes import RULE_CONTEXT
from opsdesk.desk.automation.facts import Directory, facts_for, template_context, view_of
from opsdesk.desk.automation.models import Macro
from opsdesk.desk.automation.plan import plan_actions, validate_actions
from opsdesk.desk.automation.rules import check_references
from opsdesk.desk.automation.templates import check_template
from opsdesk.desk.automation.triggers import IN_CHAIN, run_triggers
from opsdesk.desk.models import Ticket

MACRO_ACTIONS = frozenset({"set_field", "add_tags", "remove_tags", "assign", "route"})
APPLIED_EVENT = "macro_applied"


def _check(
    session: Session, *, name: str, reply_template: str, actions: Any
) -> tuple[str, list[dict[str, Any]]]:
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise ValidationFailed("a macro needs a name of 1 to 200 characters", field="name")
    checked = validate_actions(actions, field="actions") if actions else []
    for i, action in enumerate(checked):
        if action["action"] not in MACRO_ACTIONS:
            raise ValidationFailed(
                f"macros set fields, tags, status, group and assignee; not {action['action']}",
                field=f"actions[{i}].action",
            )
    check_references(session, checked)
    check_template(reply_template, "reply_template")
    if not checked and not reply_template.strip():
        raise ValidationFailed("a macro needs a reply or at least one action", field="actions")
    return name, checked


def _may_share(user: User) -> None:
    if not permissions.has(user, permissions.SETTINGS_MANAGE):
        raise PermissionDenied("only admins manage shared macros")


def create_macro(
    session: Session,
    *,
    owner: User,
    name: str,
    clock: Clock,
    reply_template: str = "",
    reply_public: bool = True,
    actions: Any = (),
    shared: bool = False,
) -> Macro:
    permissions.require(owner, permissions.TICKET_UPDATE)
    if shared:
        _may_share(owner)
    name, checked = _check(session, name=name, reply_template=reply_template, actions=list(actions))
    now = clock.now()
    macro = Macro(
        name=name,
        owner_id=owner.id,
        shared=shared,
        active=True,
        reply_template=reply_template,
        reply_public=reply_public,
        actions=checked,
        usage_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(macro)
    session.flush()
    append_event(
        session, subject_type="macro", subject_id=macro.id, type="macro_created", at=now, actor=owner,
        data={"name": name, "shared": shared},
    )  # fmt: skip
    return macro


def _may_edit(user: User, macro: Macro) -> None:
    if macro.shared or macro.owner_id != user.id:
        if macro.shared:
            _may_share(user)
        else:
            raise NotFound(f"there is no macro {macro.id}", field="macro_id")


def update_macro(session: Session, *, macro: Macro, user: User, clock: Clock, **changes: Any) -> Macro:
    unknown = set(changes) - {"name", "reply_template", "reply_public", "actions", "shared", "active"}
    if unknown:
        raise ValidationFailed(f"macros have no {', '.join(sorted(unknown))}", field=min(unknown))
    _may_edit(user, macro)
    if changes.get("shared"):
        _may_share(user)
    name, checked = _check(
        session,
        name=changes.get("name", macro.name),
        reply_template=changes.get("reply_template", macro.reply_template),
        actions=changes.get("actions", macro.actions),
    )
    macro.name, macro.actions = name, checked
    for key in ("reply_template", "reply_public", "shared", "active"):
        if key in changes:
            setattr(macro, key, changes[key])
    macro.updated_at = clock.now()
    append_event(
        session, subject_type="macro", subject_id=macro.id, type="macro_changed", at=clock.now(), actor=user,
        data={"fields": sorted(changes)},
    )  # fmt: skip
    return macro


def delete_macro(session: Session, *, macro: Macro, user: User, clock: Clock) -> None:
    _may_edit(user, macro)
    append_event(
        session, subject_type="macro", subject_id=macro.id, type="macro_deleted", at=clock.now(), actor=user,
        data={"name": macro.name},
    )  # fmt: skip
    session.delete(macro)


def macros_for(session: Session, user: User, *, include_inactive: bool = False) -> list[Macro]:
    """The shared macros and the user's own, most used first."""
    query = select(Macro).where(or_(Macro.shared.is_(True), Macro.owner_id == user.id))
    if not include_inactive:
        query = query.where(Macro.active.is_(True))
    return list(session.scalars(query.order_by(Macro.usage_count.desc(), Macro.name)))


def macro_for(session: Session, macro_id: int, user: User) -> Macro:
    macro = session.get(Macro, macro_id)
    if macro is None or not (macro.shared or macro.owner_id == user.id):
        raise NotFound(f"there is no macro {macro_id}", field="macro_id")
    return macro


def apply_macro(
    session: Session, *, ticket: Ticket, macro: Macro, agent: User, clock: Clock
) -> list[dict[str, Any]]:
    """Apply ``macro`` to ``ticket`` as ``agent``; returns the changes made (the same shape a rule's
    firing records). The caller has checked that the agent may see and update the ticket."""
    from opsdesk.desk.automation.execute import carry_out

    permissions.require(agent, permissions.TICKET_UPDATE)
    if not macro.active:
        raise Conflict(f"macro {macro.name!r} is switched off", field="macro_id")
    if macro.reply_template.strip():
        permissions.require(
            agent, permissions.TICKET_REPLY if macro.reply_public else permissions.TICKET_NOTE
        )
    facts = facts_for(
        view_of(session, ticket), Directory(session), now=clock.now(), update="updated", changes={}
    )
    context = template_context(facts, agent=agent)
    planned = plan_actions(macro.actions, facts, context)
    if macro.reply_template.strip():
        planned += plan_actions(
            [{"action": "reply" if macro.reply_public else "note", "template": macro.reply_template}],
            facts,
            context,
        )
    origin = {"macro_id": macro.id, "macro": macro.name}
    chained: set[int] = session.info.setdefault(IN_CHAIN, set())
    chained.add(ticket.id)  # one update: the triggers run once, after every change the macro makes
    session.info[RULE_CONTEXT] = origin
    try:
        carry_out(session, ticket=ticket, planned=planned, actor=agent, clock=clock, origin=origin)
    finally:
        session.info.pop(RULE_CONTEXT, None)
        chained.discard(ticket.id)
    session.execute(
        update(Macro)
        .where(Macro.id == macro.id)
        .values(usage_count=Macro.usage_count + 1)
        .execution_options(synchronize_session=False)
    )
    append_event(
        session, subject_type="ticket", subject_id=ticket.id, type=APPLIED_EVENT, at=clock.now(), actor=agent,
        data={**origin, "changes": planned},
    )  # fmt: skip
    run_triggers(session, ticket=ticket, clock=clock, update_kind="updated")
    return planned
