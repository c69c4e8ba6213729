"""KPI targets and their alerts. A target is a band for one KPI line (a metric, its statistic, for SLA
attainment its target) over the whole desk, a site or a group. :func:`check_targets` reads the KPI for
the last seven full days from the engine (the rows of ``opsdesk kpi``, by site or group when scoped) and
alerts once per excursion: when the value leaves the band it records ``breached_since``, mails
``notify`` and appends an event of the target's ``webhook_event`` type (the KPI, value, band and days),
which the outbound webhooks subscribed to that type deliver; while it stays out nothing more is sent;
back in the band the excursion closes. Each change is an event on the target in the event log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.desk.outbound_webhooks.actions import EVENT_TYPE
from opsdesk.insights.kpis.queries import kpi_rows
from opsdesk.insights.kpis.request import kpi_request
from opsdesk.insights.reports.models import KpiTarget
from opsdesk.insights.reports.weekly import KpiChoice, Line, parse_kpis

SCOPES = ("desk", "site", "group")
WINDOW_DAYS = 7
OWN_EVENTS = frozenset(
    {"kpi_target_set", "kpi_target_breached", "kpi_target_recovered", "kpi_target_deleted"}
)


def _webhook_event(name: str) -> str:
    """An event type of its own, starting ``kpi_``, so no subscriber of desk events receives it."""
    if name and (not EVENT_TYPE.match(name) or not name.startswith("kpi_") or name in OWN_EVENTS):
        raise ValidationFailed(
            "webhook_event is an event type of lowercase words joined by _, starting kpi_ "
            f"(e.g. kpi_alert), other than {', '.join(sorted(OWN_EVENTS))}",
            field="webhook_event",
        )
    return name


def set_target(
    session: Session,
    *,
    kpi: str,
    low: float | None,
    high: float | None,
    now: datetime,
    scope: str = "desk",
    scope_name: str = "",
    sla_target: str = "",
    notify: str = "",
    webhook_event: str = "",
) -> KpiTarget:
    """Create or replace the band of one KPI line in one scope. ``kpi``: as ``--kpi`` of the report;
    ``webhook_event``: the event type each excursion appends for the outbound webhooks (empty: none)."""
    (choice,) = parse_kpis([kpi])
    if scope not in SCOPES:
        raise ValidationFailed(f"scope must be one of {', '.join(SCOPES)}", field="scope")
    if (scope == "desk") != (scope_name == ""):
        raise ValidationFailed("name the site or group (and only for those scopes)", field="scope_name")
    if (choice.metric == "sla_attainment") != bool(sla_target):
        raise ValidationFailed("sla_target names the SLA target, for sla_attainment only", field="sla_target")
    if low is None and high is None:
        raise ValidationFailed("give low, high or both", field="low")
    if low is not None and high is not None and low > high:
        raise ValidationFailed("low is above high", field="low")
    if notify and ("@" not in notify or len(notify) > 254):
        raise ValidationFailed("notify must be an email address", field="notify")
    webhook_event = _webhook_event(webhook_event)
    row = session.scalar(
        select(KpiTarget).where(
            KpiTarget.metric == choice.metric,
            KpiTarget.stat == choice.stat,
            KpiTarget.sla_target == sla_target,
            KpiTarget.scope == scope,
            KpiTarget.scope_name == scope_name,
        )
    )
    if row is None:
        row = KpiTarget(
            metric=choice.metric,
            stat=choice.stat,
            sla_target=sla_target,
            scope=scope,
            scope_name=scope_name,
            created_at=now,
        )
        session.add(row)
    row.low, row.high, row.notify, row.updated_at = low, high, notify, now
    row.webhook_event = webhook_event
    session.flush()
    append_event(
        session,
        subject_type="kpi_target",
        subject_id=row.id,
        type="kpi_target_set",
        at=now,
        data={
            "metric": row.metric,
            "stat": row.stat,
            "scope": scope,
            "low": low,
            "high": high,
            "webhook_event": webhook_event,
        },
    )
    return row


@dataclass(frozen=True)
class Alert:
    target_id: int
    to: str
    subject: str
    body: str


def line_of(target: KpiTarget) -> Line:
    return Line(KpiChoice(target.metric, target.stat), target.sla_target or None)


def outside(target: KpiTarget, value: float) -> bool:
    return (target.low is not None and value < target.low) or (
        target.high is not None and value > target.high
    )


@dataclass(frozen=True)
class Checked:
    alerts: list[Alert]
    skipped: int  # targets with an alert email left unchecked: no mail server


def check_targets(
    session: Session, *, now: datetime, send: Callable[[Alert], None], email: bool = True
) -> Checked:
    """Evaluate every target over the seven full UTC days before ``now``; ``send`` each new excursion's
    alert (in the caller's transaction: a failed send rolls the excursion back, so it is retried).
    A target with no data in the window keeps its state. ``email`` False (no mail server): targets
    with an alert email are left as they are, so their excursion is not recorded unannounced."""
    targets = list(session.scalars(select(KpiTarget).order_by(KpiTarget.id)))
    skipped = 0 if email else sum(1 for t in targets if t.notify)
    if not email:
        targets = [t for t in targets if not t.notify]
    end = now.date() - timedelta(days=1)
    start = end - timedelta(days=WINDOW_DAYS - 1)
    rows_by_scope: dict[str, list[dict[str, object]]] = {}
    alerts: list[Alert] = []
    for target in targets:
        if target.scope not in rows_by_scope:
            metrics = sorted({t.metric for t in targets if t.scope == target.scope})
            by = () if target.scope == "desk" else (target.scope,)
            request = kpi_request(metrics=metrics, start=start, end=end, by=by)
            rows_by_scope[target.scope] = kpi_rows(session, request, now=now)
        value = _value(target, rows_by_scope[target.scope])
        if value is None:
            continue
        if not outside(target, value):
            if target.breached_since is not None:
                target.breached_since, target.breached_value = None, None
                _event(session, target, "kpi_target_recovered", now, value)
            continue
        if target.breached_since is not None:
            continue  # the same excursion: alerted already
        target.breached_since, target.breached_value = now, value
        _event(session, target, "kpi_target_breached", now, value)
        if target.webhook_event:
            append_event(
                session,
                subject_type="kpi_target",
                subject_id=target.id,
                type=target.webhook_event,
                at=now,
                data=webhook_data(target, value, start, end),
            )
        if target.notify:
            alert = _alert(target, value, start, end)
            send(alert)
            alerts.append(alert)
    session.flush()
    return Checked(alerts, skipped)


def webhook_data(target: KpiTarget, value: float, start: date, end: date) -> dict[str, object]:
    """What a webhook receiver is told of an excursion: the KPI line (as ``opsdesk kpi`` names it),
    where, its value and band in the KPI's unit (seconds, or 0-1 for rates), and the days measured."""
    from opsdesk.insights.reports import display

    line = line_of(target)
    return {
        "kpi": line.key,
        "metric": target.metric,
        "stat": target.stat,
        "sla_target": target.sla_target or None,
        "scope": target.scope,
        "scope_name": target.scope_name or None,
        "value": value,
        "shown": display.number(line.choice.kind, value),
        "band": {"low": target.low, "high": target.high},
        "period": {"from": start.isoformat(), "to": end.isoformat()},
    }


def _value(target: KpiTarget, rows: list[dict[str, object]]) -> float | None:
    for row in rows:
        if row["metric"] != target.metric or (row.get("target") or "") != target.sla_target:
            continue
        if target.scope != "desk" and str(row.get(target.scope)) != target.scope_name:
            continue
        value = row.get(target.stat)
        return None if value is None else float(value)  # type: ignore[arg-type]
    return None


def _event(session: Session, target: KpiTarget, type: str, now: datetime, value: float) -> None:
    append_event(
        session, subject_type="kpi_target", subject_id=target.id, type=type, at=now, data={"value": value}
    )


def _alert(target: KpiTarget, value: float, start: date, end: date) -> Alert:
    from opsdesk.insights.reports import display

    line = line_of(target)
    kind = line.choice.kind
    where = "the desk" if target.scope == "desk" else f"{target.scope} {target.scope_name}"
    band = " to ".join(display.number(kind, v) if v is not None else "any" for v in (target.low, target.high))
    shown = display.number(kind, value)
    subject = f"KPI alert: {display.label(line)} for {where} is {shown}, outside {band}"
    body = (
        f"{display.label(line)} for {where} was {shown} from {start} to {end} (UTC days), outside its "
        f"target band {band}.\nYou will hear again only after it has come back into the band and left it.\n"
    )
    return Alert(target.id, target.notify, subject, body)


def alert_mail(alert: Alert, *, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = alert.subject, sender, alert.to
    mail.set_content(alert.body)
    return mail


def delete_target(session: Session, *, target_id: int, now: datetime) -> None:
    from opsdesk.core.errors import NotFound

    row = session.get(KpiTarget, target_id)
    if row is None:
        raise NotFound(f"no KPI target {target_id}", field="target_id")
    append_event(session, subject_type="kpi_target", subject_id=row.id, type="kpi_target_deleted", at=now)
    session.delete(row)
    session.flush()
