"""Every KPI definition on small histories whose numbers are worked out by hand in the comments."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.desk.sla.business_hours import BusinessHours
from opsdesk.insights.exports.parquet import write_parquet
from opsdesk.insights.kpis import duck_engine
from opsdesk.insights.kpis.duck_source import DuckSource
from opsdesk.insights.kpis.engine import compute
from opsdesk.insights.kpis.request import kpi_request
from tests.insights.kpis.fixture import T0, History, at

NOW = T0 + timedelta(days=20)
ENGINES = ("pandas", "duckdb", "facts")
engine = {"name": "pandas"}


@pytest.fixture(autouse=True, params=ENGINES)
def each_engine(request: pytest.FixtureRequest) -> None:
    """Every hand-computed history runs through both engines: the frame definitions, and DuckDB (its
    SQL definitions where it has them, the frame definitions over DuckDB's reads for the rest), the
    latter also over a Parquet export whose per-ticket facts it reads instead of the events."""
    engine["name"] = request.param


def rows(
    history: History, *metrics: str, by: str | None = None, now: datetime = NOW, **options: Any
) -> list[dict[str, Any]]:
    request = kpi_request(
        metrics=metrics,
        start=options.pop("start", "2026-03-01"),
        end=options.pop("end", "2026-03-31"),
        by=by,
        business_hours=options.pop("business_hours", False),
        date_basis=options.pop("date_basis", "created"),
    )
    if engine["name"] == "duckdb":
        return duck_engine.compute(DuckSource.of_frames(history.frames()), request, now=now, **options)
    if engine["name"] == "facts":
        with tempfile.TemporaryDirectory() as folder:
            measures = {k: v for k, v in options.items() if k in ("policies", "schedules")}
            write_parquet(history.frames(), Path(folder), now=now, **{"policies": {}, **measures})
            source = DuckSource.of_parquet(Path(folder))
            assert source.facts is not None
            return duck_engine.compute(source, request, now=now, **options)
    return compute(history.frames(), request, now=now, **options)


def one(history: History, metric: str, **options: Any) -> dict[str, Any]:
    (row,) = rows(history, metric, **options)
    return row


def test_first_reply_skips_bots_and_an_agents_opening_comment() -> None:
    h = History()
    h.ticket(1, T0)  # requester wrote; a bot answered at 5 min, an agent at 20 min: 1200 s
    h.message(1, T0, "requester")
    h.message(1, at(5), "system")
    h.message(1, at(20), "agent")
    h.message(1, at(90), "agent")
    h.ticket(2, at(0), by_agent=True)  # agent opened with a public comment: it ends at their next, 60 min
    h.message(2, at(0), "agent")
    h.message(2, at(60), "agent")
    h.ticket(3, at(0), by_agent=True)  # agent opened with an internal note: the first public comment counts
    h.message(3, at(0), "agent", public=False)
    h.message(3, at(30), "agent")
    h.ticket(4, at(0))  # no reply yet: no sample
    h.message(4, at(0), "requester")
    h.message(4, at(10), "agent", public=False)
    row = one(h, "first_reply_time")
    # samples 1200, 3600, 1800: mean 2200, median 1800, p90 = 1800 + 0.8 * (3600 - 1800) = 3240
    assert row == {
        "metric": "first_reply_time",
        "n": 3,
        "mean_s": 2200.0,
        "median_s": 1800.0,
        "p90_s": 3240.0,
    }


def test_next_reply_runs_from_the_oldest_unanswered_message() -> None:
    h = History()
    h.ticket(1, T0)
    h.message(1, T0, "requester")
    h.message(1, at(10), "agent")  # first reply: not a next reply
    h.message(1, at(20), "requester")  # oldest unanswered
    h.message(1, at(25), "requester")
    h.message(1, at(50), "system")  # a bot does not answer
    h.message(1, at(80), "agent")  # 60 min after 20
    h.message(1, at(85), "agent")  # nothing owed: no sample
    h.message(1, at(100), "requester")
    h.message(1, at(102), "agent")  # 2 min
    h.message(1, at(200), "requester")  # still unanswered: no sample
    row = one(h, "next_reply_time")
    assert (row["n"], row["mean_s"], row["median_s"]) == (2, 1860.0, 1860.0)
    assert row["p90_s"] == 120 + 0.9 * 3480


def test_resolutions_and_status_times_of_a_reopened_ticket() -> None:
    h = History()
    h.ticket(1, T0)
    h.status(1, at(10), "open")  # new 10 min
    h.status(1, at(40), "pending")  # open 30
    h.status(1, at(100), "open")  # pending 60
    h.status(1, at(110), "on_hold")  # open 10
    h.status(1, at(130), "solved")  # on-hold 20; first solve at 130 min
    h.status(1, at(1000), "open")  # reopened: time solved is not waiting time
    h.status(1, at(1005), "solved")  # open 5; latest solve at 1005 min
    h.status(1, at(2000), "closed")
    h.ticket(2, T0)  # solved, reopened and still open: no full resolution, no status times
    h.status(2, at(60), "solved")
    h.status(2, at(70), "open")
    got = {
        r["metric"]: r
        for r in rows(
            h,
            "first_resolution_time",
            "full_resolution_time",
            "requester_wait_time",
            "agent_wait_time",
            "agent_work_time",
            "on_hold_time",
        )
    }
    assert got["first_resolution_time"]["n"] == 2
    assert got["first_resolution_time"]["mean_s"] == (130 + 60) * 60 / 2
    assert (got["full_resolution_time"]["n"], got["full_resolution_time"]["mean_s"]) == (1, 1005 * 60.0)
    assert got["requester_wait_time"]["mean_s"] == (10 + 30 + 10 + 20 + 5) * 60  # new, open, on-hold
    assert got["agent_wait_time"]["mean_s"] == 60 * 60.0  # pending
    assert got["agent_work_time"]["mean_s"] == (10 + 30 + 10 + 5) * 60  # new and open
    assert got["on_hold_time"]["mean_s"] == 20 * 60.0


def test_reopen_one_touch_and_escalation_rates_count_tickets_solved_at_least_once() -> None:
    h = History()
    h.ticket(1, T0)  # one reply, solved: one touch
    h.message(1, at(1), "agent")
    h.status(1, at(2), "solved")
    h.ticket(2, T0)  # two replies, solved, reopened and still open: counts as solved once, reopened
    h.message(2, at(1), "agent")
    h.message(2, at(3), "agent")
    h.status(2, at(4), "solved")
    h.message(2, at(5), "requester")
    h.status(2, at(5), "open")
    h.ticket(3, T0, by_agent=True)  # agent's opening comment + one reply: one touch
    h.message(3, at(0), "agent")
    h.message(3, at(6), "agent")
    h.status(3, at(7), "solved")
    h.event(3, at(8), "escalated")
    h.ticket(4, T0)  # never solved: outside both rates; merged away (closed without a resolution)
    h.message(4, at(1), "agent")
    h.status(4, at(9), "closed")
    h.tickets[3]["merged"] = True
    got = {r["metric"]: r for r in rows(h, "reopen_rate", "one_touch_rate", "escalation_rate")}
    assert got["reopen_rate"] == {
        "metric": "reopen_rate",
        "n": 3,
        "value": pytest.approx(1 / 3, abs=1e-6),
        "numerator": 1,
        "denominator": 3,
    }
    assert (got["one_touch_rate"]["numerator"], got["one_touch_rate"]["denominator"]) == (2, 3)
    assert (got["escalation_rate"]["numerator"], got["escalation_rate"]["denominator"]) == (1, 4)


def test_merged_tickets_have_no_resolution_and_leave_the_backlog() -> None:
    h = History()
    h.ticket(1, T0)
    h.ticket(2, T0)
    h.status(2, at(30), "closed")  # merged into 1
    h.tickets[1]["merged"] = True
    h.ticket(3, T0)
    h.status(3, at(60), "solved")
    got = {
        r["metric"]: r
        for r in rows(
            h, "tickets_created", "tickets_solved", "full_resolution_time", "backlog", end="2026-03-02"
        )
    }
    assert got["tickets_created"]["value"] == 3
    assert got["tickets_solved"]["value"] == 1
    assert got["full_resolution_time"]["n"] == 1
    assert got["backlog"]["value"] == 1  # only ticket 1 is unsolved at the end of 2 March


def test_backlog_at_the_end_of_each_day_never_past_now() -> None:
    h = History()
    h.ticket(1, T0)  # Monday 2 March
    h.status(1, at(60 * 24), "solved")  # Tuesday 09:00
    h.ticket(2, at(60 * 24))  # Tuesday
    h.status(2, at(60 * 50), "pending")  # pending is unsolved
    result = rows(h, "backlog", by="day", start="2026-03-01", end="2026-03-05", now=at(60 * 52))
    assert [(r["day"], r["value"]) for r in result] == [
        ("2026-03-02", 1),
        ("2026-03-03", 1),
        ("2026-03-04", 1),
    ]


def test_csat_takes_the_latest_rating_per_ticket_at_its_time() -> None:
    h = History()
    h.ticket(1, T0)
    h.event(1, at(10), "csat_received", rating="bad", score=None, scale="good_bad")
    h.event(1, at(20), "csat_received", rating="good", score=None, scale="good_bad")  # replaces the bad one
    h.ticket(2, T0)
    h.event(2, at(10), "csat_received", rating="good", score=4, scale="one_to_five")  # 4 of 5 is good
    h.ticket(3, T0)
    h.event(3, at(10), "csat_received", rating="bad", score=3, scale="one_to_five")
    h.ticket(4, T0)  # unrated: left out
    h.ticket(5, T0)
    h.event(5, datetime(2026, 4, 2, tzinfo=UTC), "csat_received", rating="bad", scale="good_bad")  # April
    row = one(h, "csat")
    assert (row["numerator"], row["denominator"], row["value"]) == (2, 3, pytest.approx(0.666667))


@dataclass(frozen=True)
class Policy:
    targets: Mapping[str, Mapping[str, timedelta]]
    pausing_statuses: frozenset[str] = frozenset({"pending"})


def test_sla_attainment_per_target_pauses_while_pending() -> None:
    minutes = timedelta(minutes=1)
    policy = Policy({"normal": {"first_reply": 30 * minutes, "resolution": 120 * minutes}})
    h = History()
    h.ticket(1, T0, policy_id=1)  # reply at 20 (met); 60 min pending does not count: 130 - 60 = 70 (met)
    h.message(1, T0, "requester")
    h.message(1, at(20), "agent")
    h.status(1, at(30), "pending")
    h.status(1, at(90), "open")
    h.status(1, at(130), "solved")
    h.ticket(2, T0, policy_id=1)  # reply at 45 (breached); resolution still running at now: left out
    h.message(2, T0, "requester")
    h.message(2, at(45), "agent")
    h.ticket(3, T0)  # no policy: no targets
    h.message(3, at(500), "agent")
    result = rows(h, "sla_attainment", policies={1: policy}, now=at(100))
    assert [(r["target"], r["numerator"], r["denominator"]) for r in result] == [("first_reply", 1, 2)]
    later = rows(h, "sla_attainment", policies={1: policy}, now=at(400))
    assert [(r["target"], r["numerator"], r["denominator"]) for r in later] == [
        ("first_reply", 1, 2),
        ("resolution", 1, 2),  # ticket 2 passed 120 min unsolved: breached
    ]


CHICAGO = BusinessHours.from_spec(
    timezone="America/Chicago",
    intervals=[{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)],
)


def test_business_hours_across_the_spring_forward_weekend() -> None:
    """Chicago moves to CDT on Sunday 8 March 2026. Friday 16:00 CST (22:00 UTC) -> Monday 09:00 CDT
    (14:00 UTC) is 64 real hours, and 2 business hours (Friday 16-17, Monday 08-09)."""
    h = History()
    friday = datetime(2026, 3, 6, 22, 0, tzinfo=UTC)
    h.ticket(1, friday, schedule_id=5)
    h.message(1, friday, "requester")
    h.message(1, datetime(2026, 3, 9, 14, 0, tzinfo=UTC), "agent")
    h.status(1, datetime(2026, 3, 9, 14, 0, tzinfo=UTC), "pending")
    h.status(1, datetime(2026, 3, 9, 20, 0, tzinfo=UTC), "solved")  # 15:00 CDT: 6 business hours pending
    h.ticket(2, friday)  # no schedule: business hours are 24x7
    h.message(2, friday, "requester")
    h.message(2, friday + timedelta(hours=1), "agent")
    schedules = {5: [(datetime(2020, 1, 1, tzinfo=UTC), CHICAGO)]}
    calendar = rows(h, "first_reply_time", "agent_wait_time", by="channel", schedules=schedules)
    business = rows(
        h, "first_reply_time", "agent_wait_time", by="channel", schedules=schedules, business_hours=True
    )
    assert calendar[0]["median_s"] == (64 * 3600 + 3600) / 2
    assert business[0]["median_s"] == (2 * 3600 + 3600) / 2
    assert calendar[1]["mean_s"] == business[1]["mean_s"] == 6 * 3600


def test_durations_use_the_hours_in_force_when_they_end_status_times_when_they_begin() -> None:
    """From Monday 9 March the hours become 10:00-17:00. The first reply (ended Monday) is measured on
    the new hours: Friday 16-17 only, 1 h. The status stretch that began on Friday (new, until Monday
    09:00 CDT) is measured on the old hours: 2 h."""
    later = BusinessHours.from_spec(
        timezone="America/Chicago",
        intervals=[{"weekday": d, "start": "10:00", "end": "17:00"} for d in range(5)],
    )
    schedules = {
        5: [(datetime(2020, 1, 1, tzinfo=UTC), CHICAGO), (datetime(2026, 3, 9, 5, tzinfo=UTC), later)]
    }
    h = History()
    friday = datetime(2026, 3, 6, 22, 0, tzinfo=UTC)
    monday_nine = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    h.ticket(1, friday, schedule_id=5)
    h.message(1, friday, "requester")
    h.message(1, monday_nine, "agent")
    h.status(1, monday_nine, "solved")
    got = {
        r["metric"]: r
        for r in rows(h, "first_reply_time", "requester_wait_time", schedules=schedules, business_hours=True)
    }
    assert got["first_reply_time"]["mean_s"] == 3600.0
    assert got["requester_wait_time"]["mean_s"] == 7200.0


def test_time_keys_are_utc_days_iso_monday_weeks_and_months() -> None:
    h = History()
    h.ticket(1, datetime(2026, 3, 1, 23, 59, tzinfo=UTC))  # a Sunday: week of Monday 23 February
    h.ticket(2, datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    h.ticket(3, datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
    by_week = rows(h, "tickets_created", by="week", end="2026-04-30")
    assert [(r["week"], r["value"]) for r in by_week] == [
        ("2026-02-23", 1),
        ("2026-03-02", 1),
        ("2026-03-30", 1),
    ]
    by_month = rows(h, "tickets_created", by="month", end="2026-04-30")
    assert [(r["month"], r["value"]) for r in by_month] == [("2026-03", 2), ("2026-04", 1)]
    by_day = rows(h, "tickets_created", by="day", start="2026-03-02", end="2026-03-02")
    assert by_day == [{"day": "2026-03-02", "metric": "tickets_created", "n": 1, "value": 1}]


def test_solved_date_basis_and_grouping_by_ticket_fields_and_tags() -> None:
    h = History()
    h.ticket(
        1,
        datetime(2026, 2, 27, tzinfo=UTC),
        channel="chat",
        site="Manila",
        group="L1",
        agent="ana@example.com",
    )
    h.status(1, datetime(2026, 3, 3, tzinfo=UTC), "solved")
    h.ticket(2, datetime(2026, 3, 3, tzinfo=UTC), channel="email", sensitive=True)
    h.status(2, datetime(2026, 3, 4, tzinfo=UTC), "solved")
    h.tags += [(1, "billing"), (2, "billing"), (2, "diagnosis_x")]
    created = rows(h, "first_resolution_time", by="channel")
    assert [(r["channel"], r["n"]) for r in created] == [("email", 1)]  # ticket 1 was created in February
    solved = rows(h, "first_resolution_time", by="channel,site,agent", date_basis="solved")
    assert [(r["channel"], r["site"], r["agent"]) for r in solved] == [
        ("chat", "Manila", "ana@example.com"),
        ("email", None, None),
    ]
    by_tag = rows(h, "first_resolution_time", by="tag", date_basis="solved")
    # A tag seen only on sensitive tickets is never spelt out.
    assert [(r["tag"], r["n"]) for r in by_tag] == [("(restricted)", 1), ("billing", 2)]


def test_phone_and_chat_handle_time_wait_service_level_and_abandons() -> None:
    h = History()
    h.ticket(1, T0, channel="phone")
    call = {"ticket_id": 1, "at": at(0), "talk_s": 0.0, "hold_s": 0.0, "wrap_s": 0.0, "voicemail": False}
    h.calls += [
        {
            **call,
            "seq": 1,
            "agent_id": 7,
            "wait_s": 10.0,
            "talk_s": 200.0,
            "hold_s": 30.0,
            "wrap_s": 20.0,
            "abandoned": False,
        },  # AHT 250, in time
        {
            **call,
            "seq": 2,
            "agent_id": 8,
            "wait_s": 40.0,
            "talk_s": 100.0,
            "abandoned": False,
        },  # AHT 100, late
        {**call, "seq": 3, "agent_id": None, "wait_s": 15.0, "abandoned": True},  # abandoned
        {
            **call,
            "seq": 4,
            "agent_id": None,
            "wait_s": 5.0,
            "abandoned": False,
            "voicemail": True,
        },  # not offered
    ]
    h.ticket(2, T0, channel="chat")
    h.event(2, at(0), "chat_started")
    h.event(2, at(0.25), "chat_agent_joined", agent_id=7)  # waited 15 s
    h.event(2, at(10.25), "chat_ended", by="customer")  # handled 600 s
    h.event(2, at(20), "chat_started")
    h.event(2, at(21), "chat_ended", by="timeout")  # abandoned after 60 s
    h.event(2, at(30), "chat_started")  # still waiting: no outcome yet
    got = {
        (r["metric"], r["channel"]): r
        for r in rows(h, "aht", "wait_time", "service_level", "abandon_rate", by="channel")
    }
    assert got["aht", "phone"]["mean_s"] == 175.0 and got["aht", "chat"]["mean_s"] == 600.0
    assert got["wait_time", "phone"]["mean_s"] == 25.0 and got["wait_time", "chat"]["mean_s"] == 15.0
    assert (got["service_level", "phone"]["numerator"], got["service_level", "phone"]["denominator"]) == (
        1,
        3,
    )
    assert (got["service_level", "chat"]["numerator"], got["service_level", "chat"]["denominator"]) == (1, 2)
    assert got["abandon_rate", "phone"]["value"] == pytest.approx(1 / 3, abs=1e-6)
    assert got["abandon_rate", "chat"]["value"] == 0.5
    by_agent = rows(h, "aht", by="agent")
    assert [(r["agent"], r["n"], r["mean_s"]) for r in by_agent] == [
        ("ana@example.com", 2, 425.0),
        ("ben@example.com", 1, 100.0),
    ]


def test_metrics_without_data_give_no_rows() -> None:
    h = History()
    h.ticket(1, T0)  # no calls, chats, ratings, replies or solves
    metrics = ("aht", "wait_time", "service_level", "abandon_rate", "csat", "first_reply_time", "reopen_rate")
    assert rows(h, *metrics, by="week,channel,tag") == []
    assert rows(History(), "tickets_created", "backlog", "sla_attainment", by="day") == []


def test_business_hours_with_a_lunch_break_a_holiday_and_the_fall_back_weekend() -> None:
    """Chicago returns to CST on Sunday 1 November 2026; Monday 2 November is a holiday; the desk is
    open 08:00-12:00 and 13:00-17:00. Created Friday 16:00 CDT (21:00 UTC); first reply Tuesday 09:00
    CST (15:00 UTC): Friday 16-17 + Tuesday 08-09 = 2 business hours (90 real hours). Solved Tuesday
    14:00 CST: Friday 1 h + Tuesday 08-12 and 13-14 = 6 h."""
    split = BusinessHours.from_spec(
        timezone="America/Chicago",
        intervals=[
            {"weekday": d, "start": start, "end": end}
            for d in range(5)
            for start, end in (("08:00", "12:00"), ("13:00", "17:00"))
        ],
        holidays=["2026-11-02"],
    )
    friday = datetime(2026, 10, 30, 21, 0, tzinfo=UTC)
    reply = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    h = History()
    h.ticket(1, friday, schedule_id=9)
    h.message(1, friday, "requester")
    h.message(1, reply, "agent")
    h.status(1, reply, "open")
    h.status(1, datetime(2026, 11, 3, 20, 0, tzinfo=UTC), "solved")
    schedules = {9: [(datetime(2020, 1, 1, tzinfo=UTC), split)]}
    metrics = ("first_reply_time", "full_resolution_time", "agent_work_time")
    period = {"start": "2026-10-01", "end": "2026-11-30", "now": datetime(2026, 12, 1, tzinfo=UTC)}
    business = {
        r["metric"]: r["mean_s"]
        for r in rows(h, *metrics, schedules=schedules, business_hours=True, **period)
    }
    assert business == {
        "first_reply_time": 7200.0,
        "full_resolution_time": 21600.0,
        "agent_work_time": 21600.0,
    }
    calendar = {r["metric"]: r["mean_s"] for r in rows(h, *metrics, schedules=schedules, **period)}
    assert calendar["first_reply_time"] == 90 * 3600.0  # the extra hour of 1 November is real time
    assert calendar["full_resolution_time"] == 95 * 3600.0


def test_a_ticket_an_agent_opened_replies_next_reply_and_one_touch() -> None:
    h = History()
    h.ticket(1, T0, by_agent=True)
    h.message(1, T0, "agent")  # the agent's opening comment: not a reply
    h.message(1, at(10), "requester")
    h.message(1, at(12), "system")  # a bot: not a reply
    h.message(1, at(40), "agent")  # first reply: 40 min after creation
    h.message(1, at(50), "requester")
    h.message(1, at(65), "agent")  # next reply: 15 min
    h.status(1, at(70), "solved")
    got = {r["metric"]: r for r in rows(h, "first_reply_time", "next_reply_time", "one_touch_rate")}
    assert got["first_reply_time"]["mean_s"] == 2400.0
    assert (got["next_reply_time"]["n"], got["next_reply_time"]["mean_s"]) == (1, 900.0)
    assert (got["one_touch_rate"]["numerator"], got["one_touch_rate"]["denominator"]) == (0, 1)
