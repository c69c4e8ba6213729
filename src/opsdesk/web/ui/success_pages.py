"""Customer-success pages: the portfolio with CSM books, one account's 360 view, and retention (the ARR
bridge, GRR/NRR/logo churn by segment and over time, cohorts). Reads only; every number comes from the
success queries and the retention maths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from opsdesk.core import permissions
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Event, Role, User
from opsdesk.insights.account_signals import csat_by_organisation
from opsdesk.insights.account_timeline import organisation_timeline, replies_to
from opsdesk.success import access, queries
from opsdesk.success.arr import anniversary
from opsdesk.success.health import queries as health_queries
from opsdesk.success.health import raw_signals
from opsdesk.success.health.measures import MEASURES
from opsdesk.success.health.models import HealthScore
from opsdesk.success.models import Account, ArrMovement, MovementKind, Stage
from opsdesk.success.playbooks import queries as playbook_queries
from opsdesk.success.playbooks.models import TaskStatus
from opsdesk.success.voice import queries as voice_queries
from opsdesk.success.voice.models import Severity
from opsdesk.success.voice.queries import nps_responses, nps_summary
from opsdesk.web.api.params import From, OptionalFilter, PathId, QueryFilter, To
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import PageUser
from opsdesk.web.ui.charts import heat_class, line_chart, waterfall
from opsdesk.web.ui.render import page, templates

if TYPE_CHECKING:
    import pandas as pd

router = APIRouter(include_in_schema=False)
templates.env.globals["has_permission"] = permissions.has
COHORT_MONTHS = (0, 1, 3, 6, 9, 12, 18, 24, 30, 36)
BRIDGE_LINES = [
    ("Start", "start_arr"),
    ("New", "new"),
    ("Reactivated", "reactivation"),
    ("Expansion", "expansion"),
    ("Escalators", "escalator"),
    ("Contraction", "contraction"),
    ("Churn", "churn"),
    ("End", "end_arr"),
]


def dollars(cents: int | float | None) -> str:
    if cents is None:
        return ""
    return f"{'-' if cents < 0 else ''}${abs(cents) / 100:,.0f}"


def percent(value: float | None) -> str:
    return "" if value is None or value != value else f"{value * 100:.1f}%"


templates.env.filters["dollars"] = dollars
templates.env.filters["percent"] = percent


@dataclass(frozen=True)
class PortfolioRow:
    account: Account
    arr_cents: int
    children: int
    renewal: date | None
    health: HealthScore | None


SORTS: dict[str, Callable[[PortfolioRow], Any]] = {
    "name": lambda r: r.account.name.casefold(),
    "arr": lambda r: r.arr_cents,
    "lives": lambda r: r.account.covered_lives,
    "health": lambda r: r.health.effective_score if r.health else None,
    "renewal": lambda r: r.renewal,
}
ASCENDING_FIRST = {"name", "renewal"}  # a first click sorts A-Z and soonest renewal first
PageSize = Annotated[int, Query(ge=10, le=200)]


def sort_rows(rows: list[PortfolioRow], column: str, descending: bool) -> list[PortfolioRow]:
    """Sorted on one column, ties by name; rows without a value (no health, no renewal) always last."""
    key = SORTS[column]
    by_name = sorted(rows, key=SORTS["name"])
    present = [r for r in by_name if key(r) is not None]
    return sorted(present, key=key, reverse=descending) + [r for r in by_name if key(r) is None]


@router.get("/customers")
def portfolio(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    segment: QueryFilter = "",
    csm: OptionalFilter = None,
    stage: QueryFilter = "",
    health: QueryFilter = "",
    sort: Literal["name", "arr", "lives", "health", "renewal"] = "arr",
    order: Literal["asc", "desc"] | None = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    per_page: PageSize = 50,
) -> Response:
    """The portfolio, a page at a time. A CSM lands on their own book (``csm`` absent); choosing "All"
    (``csm=``) shows everyone's."""
    permissions.require(user, permissions.SUCCESS_READ)
    if csm is None:
        csm = user.email if user.role is Role.CSM and user.email else ""
    today = clock.now().date()
    people_and_segments = (selectinload(Account.owner), selectinload(Account.segment))
    accounts = session.scalars(select(Account).options(*people_and_segments).order_by(Account.name)).all()
    children: dict[int, int] = {}
    for account in accounts:
        if account.parent_id is not None:
            children[account.parent_id] = children.get(account.parent_id, 0) + 1
    arr, scores, renewals = (
        queries.customer_arr_today(session, today),
        health_queries.latest_scores(session),
        queries.next_renewals(session, today),
    )
    rows = [
        PortfolioRow(a, arr.get(a.id, 0), children.get(a.id, 0), renewals.get(a.id), scores.get(a.id))
        for a in accounts
        if a.parent_id is None
    ]
    books = _books(session, today)

    def keep(row: PortfolioRow) -> bool:
        name = row.account.segment.name if row.account.segment else ""
        band = row.health.effective_band.value if row.health and row.health.effective_band else "none"
        return (
            (not segment or name == segment)
            and (not csm or (row.account.owner is not None and row.account.owner.email == csm))
            and (not stage or row.account.stage.value == stage)
            and (not health or band == health)
        )

    descending = (order or ("asc" if sort in ASCENDING_FIRST else "desc")) == "desc"
    shown = sort_rows([r for r in rows if keep(r)], sort, descending)
    pages = max(1, -(-len(shown) // per_page))
    page_number = min(page_number, pages)
    filters = {"segment": segment, "csm": csm, "stage": stage, "health": health}

    def link(**changes: Any) -> str:
        params = {**filters, "sort": sort, "order": "desc" if descending else "asc", "per_page": per_page}
        params.update(changes)
        return "/customers?" + urlencode({k: v for k, v in params.items() if v is not None})

    def sort_link(column: str) -> str:
        if column == sort:
            return link(sort=column, order="asc" if descending else "desc", page=None)
        return link(sort=column, order="asc" if column in ASCENDING_FIRST else "desc", page=None)

    csms = session.scalars(select(User).where(User.role == Role.CSM).order_by(User.email)).all()
    return page(
        request,
        "success/portfolio.html",
        user,
        rows=shown[(page_number - 1) * per_page : page_number * per_page],
        total=len(shown),
        page_number=page_number,
        pages=pages,
        first_shown=(page_number - 1) * per_page + 1 if shown else 0,
        link=link,
        sort_link=sort_link,
        sort=sort,
        descending=descending,
        per_page=per_page,
        books=books,
        segments=[s.name for s in queries.segments(session)],
        csms=csms,
        stages=[s.value for s in Stage],
        filters=filters,
        total_arr=sum(r.arr_cents for r in shown),
        total_churned=sum(1 for r in shown if r.account.stage is Stage.CHURNED),
        total_lives=sum(r.account.covered_lives for r in shown),
    )


def _books(session: Session, today: date) -> list[dict[str, Any]]:
    """Per CSM: the active customers in their book, its ARR, covered lives and red health, and the
    customers they lost; counted as ``opsdesk portfolio`` and the dashboards count them."""
    from opsdesk.success import portfolio as book_of_business

    frame, unowned = book_of_business.team_books(session, today)
    names = {e: n for e, n in session.execute(select(User.email, User.name).where(User.role == Role.CSM))}
    books = [
        {
            "csm": names.get(row["csm"]) or row["csm"],
            "email": row["csm"],
            "customers": int(row["accounts"]),
            "arr": int(row["arr_cents"]),
            "lives": int(row["covered_lives"]),
            "red": int(row["red"]),
            "churned": int(row["churned"]),
        }
        for row in frame.to_dict("records")
    ]
    if unowned["accounts"]:
        books.append(
            {
                "csm": "(unassigned)",
                "email": "",
                "customers": unowned["accounts"],
                "arr": unowned["arr_cents"],
                "lives": unowned["covered_lives"],
                "red": unowned["red"],
                "churned": 0,
            }
        )
    return sorted(books, key=lambda b: -b["arr"])


# --- one account -------------------------------------------------------------------------------------

EVENT_TEXT = {
    "account_created": "Account created",
    "account_stage_changed": "Stage changed",
    "account_updated": "Account updated",
    "account_segment_changed": "Segment changed",
    "contact_saved": "Contact saved",
    "subscription_created": "Contract term added",
    "subscription_updated": "Contract term changed",
    "subscription_amended": "Contract amended",
    "handoff_completed": "Hand-off completed",
    "phase_owner_changed": "Phase owner changed",
    "opportunity_won_contract_updated": "Deal won, contract updated",
}


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: str
    title: str
    detail: str
    link: str = ""


def _event_detail(type_: str, data: dict[str, Any]) -> str:
    if type_ == "account_stage_changed":
        return f"{data.get('from', '')} → {data.get('to', '')} on {data.get('on', '')}"
    if type_ in ("subscription_created", "subscription_updated"):
        return f"{data.get('start', '')} to {data.get('end', '')}"
    if type_ == "subscription_amended":
        return f"effective {data.get('effective', '')}"
    if type_ == "handoff_completed":
        answers = data.get("checklist") or []
        done = sum(1 for a in answers if isinstance(a, dict) and a.get("done"))
        note = f"; {data['note']}" if data.get("note") else ""
        return f"{data.get('from', '')} → {data.get('to', '')}: {done} of {len(answers)} checks done{note}"
    shown = {k: v for k, v in data.items() if not k.endswith("_id") and v not in (None, "", [], {})}
    prefix = ""
    if "to" in shown:  # any status-like change: health bands, task and escalation states
        prefix = f"{shown.pop('from', 'none')} → {shown.pop('to')}"
    rest = ", ".join(_detail_part(k, v) for k, v in shown.items())
    return f"{prefix} ({rest})" if prefix and rest else prefix or rest


def _detail_part(key: str, value: Any) -> str:
    """``amount_cents: 1630000`` reads as ``amount: $16,300``: the timeline shows money as the pages do."""
    if key.endswith("_cents") and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{key.removesuffix('_cents').replace('_', ' ')}: {dollars(value)}"
    return f"{key.replace('_', ' ')}: {value}"


def _movement_detail(move: ArrMovement) -> str:
    after = dollars(move.arr_after_cents)
    if move.kind is MovementKind.RENEWAL:
        return f"{dollars(move.renewal_base_cents)} came up for renewal; ARR {after}"
    return f"{dollars(move.amount_cents)}; ARR {after}"


def _timeline(session: Session, account: Account, reader: User, now: datetime) -> list[Moment]:
    """Account events (stages, contracts, tasks, escalations ... whatever the success packages log),
    ARR movements up to today, the linked organisation's tickets and the tickets holding replies to the
    account's playbook emails, newest first."""
    moments = [
        Moment(
            e.at,
            "event",
            EVENT_TEXT.get(e.type, e.type.replace("_", " ").capitalize()),
            _event_detail(e.type, e.data or {}),
        )
        for e in session.scalars(
            select(Event).where(Event.subject_type == "account", Event.subject_id == account.id)
        )
    ]
    if account.parent_id is None:
        for move in session.scalars(
            select(ArrMovement).where(
                ArrMovement.customer_id == account.id, ArrMovement.effective_on <= now.date()
            )
        ):
            moments.append(
                Moment(
                    datetime.combine(move.effective_on, time(0), tzinfo=now.tzinfo),
                    "arr",
                    f"ARR {move.kind.value.replace('_', ' ')}",
                    _movement_detail(move),
                )
            )
    for r in replies_to(session, playbook_queries.sent_message_ids(session, account.id), reader=reader):
        moments.append(
            Moment(
                r.at,
                "ticket",
                f"Reply to a playbook email #{r.ticket_number}",
                r.subject,
                f"/tickets/{r.ticket_number}",
            )
        )
    if account.organisation_id is not None:
        since = now - timedelta(days=365)
        for t in organisation_timeline(session, account.organisation_id, reader=reader, since=since):
            title = {"ticket_opened": "Ticket opened", "ticket_solved": "Ticket solved"}.get(
                t.kind, f"CSAT {t.detail}" if t.kind.startswith("csat") else t.kind
            )
            moments.append(
                Moment(
                    t.at, "ticket", f"{title} #{t.ticket_number}", t.subject, f"/tickets/{t.ticket_number}"
                )
            )
    moments.sort(key=lambda m: m.at, reverse=True)
    return moments[:300]


@router.get("/customers/retention")
def retention_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    start: From = None,
    end: To = None,
    by: Literal["segment", "csm", "cohort", "region"] = "segment",
) -> Response:
    """The bridge for a period (default: the twelve months to today) by group, with an all-customers
    row the groups add up to; the trend and cohorts always end today."""
    from opsdesk.success import retention

    permissions.require(user, permissions.SUCCESS_READ)
    today = clock.now().date()
    last = end or today
    first = start or anniversary(last, -1) + timedelta(days=1)
    try:
        if last < first:
            raise ValidationFailed("the period ends before it starts", field="to")
        queries.refuse_unfinished_period(last, today)
    except ValidationFailed as refused:
        # A period typed into the form comes back in the form with the reason beside its field, not
        # as an error page that loses the form.
        return page(
            request,
            "success/retention.html",
            user,
            status_code=422,
            error=refused.message,
            error_field=refused.field,
            year_start=first,
            today=last,
            by=by,
            by_choices=("segment", "csm", "cohort", "region"),
        )
    movements, customers = queries.movements_frame(session), queries.customers_frame(session)
    year = retention.bridge(movements, customers, [(first, last)], None)
    groups = retention.bridge(movements, customers, [(first, last)], by)
    bridge_row = year.iloc[0] if not year.empty else None
    bridge_chart = waterfall(
        [
            (label, float(bridge_row[key]) / 100 * (-1 if key in ("contraction", "churn") else 1))
            for label, key in BRIDGE_LINES
        ]
        if bridge_row is not None
        else [],
        title=f"ARR bridge, {first} to {last}",
    )
    trend, trend_labels = _trailing_trend(movements, customers, today)
    trend_chart = line_chart(
        {k: [None if v != v else v * 100 for v in vs] for k, vs in trend.items()},
        trend_labels,
        title="Trailing twelve-month GRR, NRR and logo churn (%)",
    )
    cohorts = retention.cohort_table(movements, today)
    return page(
        request,
        "success/retention.html",
        user,
        year=bridge_row,
        year_start=first,
        today=last,
        by=by,
        by_choices=("segment", "csm", "cohort", "region"),
        by_group=groups.to_dict("records"),
        bridge_chart=bridge_chart,
        trend_chart=trend_chart,
        cohort_rows=_cohort_rows(cohorts),
        cohort_months=COHORT_MONTHS,
        heat=heat_class,
    )


def _trailing_trend(
    movements: pd.DataFrame, customers: pd.DataFrame, today: date
) -> tuple[dict[str, list[float]], list[str]]:
    """GRR, NRR and logo churn over the twelve months to today and to every third month before it,
    three years back."""
    import pandas as pd

    from opsdesk.success import retention

    ends = [pd.Timestamp(today) - pd.DateOffset(months=3 * k) for k in range(11, -1, -1)]
    series: dict[str, list[float]] = {"GRR": [], "NRR": [], "Logo churn": []}
    labels: list[str] = []
    for stamp in ends:
        end = pd.Timestamp(stamp).date()
        start = anniversary(end, -1) + timedelta(days=1)
        row = retention.bridge(movements, customers, [(start, end)], None) if not movements.empty else None
        if row is None or row.empty:
            continue
        series["GRR"].append(float(row["grr"].iloc[0]))
        series["NRR"].append(float(row["nrr"].iloc[0]))
        series["Logo churn"].append(float(row["logo_churn"].iloc[0]))
        labels.append(end.strftime("%b %y"))
    return series, labels


def _cohort_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Net dollar retention of each start-month cohort at the shown month offsets."""
    rows: list[dict[str, Any]] = []
    if table.empty:
        return rows
    for cohort, part in table.groupby("cohort", sort=True):
        by_month = part.set_index("month")
        rows.append(
            {
                "cohort": cohort,
                "customers": int(by_month.loc[0, "customers"]) if 0 in by_month.index else 0,
                "base": int(by_month.loc[0, "base_arr"]) if 0 in by_month.index else 0,
                "ndr": {m: float(by_month.loc[m, "ndr"]) for m in COHORT_MONTHS if m in by_month.index},
            }
        )
    return rows


@router.get("/customers/{account_id}")
def account_page(
    account_id: PathId, request: Request, user: PageUser, session: SessionDep, clock: ClockDep
) -> Response:
    import pandas as pd

    permissions.require(user, permissions.SUCCESS_READ)
    account = queries.account(session, account_id)
    now = clock.now()
    today = now.date()
    root_id = queries.ultimate_parents(session).get(account.id, account.id)
    customer_arr = queries.customer_arr_today(session, today).get(root_id, 0)
    own_arr = queries.arr_on(session, account.id, today)
    renewal = queries.next_renewals(session, today).get(account.id)
    view = health_queries.account_health(session, account, now=now)
    scored = view.scorecard_id is not None and view.effective_score is not None
    measures = [
        {
            "label": MEASURES[key].label if key in MEASURES else key,
            "unit": MEASURES[key].unit if key in MEASURES else "",
            **values,
        }
        for key, values in sorted(
            view.measures.items(), key=lambda kv: -float(kv[1].get("contribution") or 0)
        )
    ]
    through = now + timedelta(seconds=1)  # what is recorded up to this moment, this one included
    good, bad = (
        csat_by_organisation(
            session, [account.organisation_id], start=now - raw_signals.SUPPORT_WINDOW, end=through
        ).get(account.organisation_id, (0, 0))
        if account.organisation_id is not None
        else (0, 0)
    )
    nps = nps_summary(session, account.id, since=now - raw_signals.NPS_WINDOW, until=through)
    usage, _trend = health_queries.account_utilisation(session, account, as_of=today, months=24)
    usage_chart = line_chart(
        {
            "Engaged members (% of covered lives)": [
                None if v != v else float(v) for v in usage.get("engaged_rate_pct", pd.Series(dtype=float))
            ]
        },
        [pd.Timestamp(m).strftime("%b %y") for m in usage.get("month", [])],
        title="Monthly member engagement",
    )
    return page(
        request,
        "success/account.html",
        user,
        account=account,
        children=session.scalars(
            select(Account).where(Account.parent_id == account.id).order_by(Account.name)
        ).all(),
        customer_arr=customer_arr,
        own_arr=own_arr,
        renewal=renewal,
        health=view,
        scored=scored,
        measures=measures,
        csat={"good": good, "bad": bad, "pct": good * 100 / (good + bad) if good + bad else None},
        nps=nps,
        nps_answers=nps_responses(session, account.id)[:5],
        usage_chart=usage_chart,
        timeline=_timeline(session, account, user, now),
        plays=playbook_queries.account_episodes(session, account.id),
        open_tasks=playbook_queries.tasks(session, account_id=account.id, status=TaskStatus.OPEN),
        escalations=voice_queries.escalations(session, account_id=account.id),
        playbooks=[p for p in playbook_queries.playbooks(session) if p.active],
        may_work=access.may_work(user, account),
        severities=[s.value for s in Severity],
    )
