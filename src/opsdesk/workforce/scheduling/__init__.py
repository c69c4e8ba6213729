"""Shift scheduling: shift templates per site, the CP-SAT model, and the coverage report."""

from opsdesk.workforce.scheduling.joint import (
    JointSchedule,
    Part,
    parts_from_requirement,
    parts_from_split,
    schedule_jointly,
)
from opsdesk.workforce.scheduling.language_queues import (
    OWN_QUEUE_MIN_OCCUPANCY,
    LanguageQueues,
    QueueDecision,
    plan_language_queues,
)
from opsdesk.workforce.scheduling.model import ScheduledShift, SiteSchedule, Weights, schedule_site
from opsdesk.workforce.scheduling.plan import schedule_sites, site_requirement, split_by_site
from opsdesk.workforce.scheduling.report import coverage_table, shifts_table
from opsdesk.workforce.scheduling.requirement import Requirement, read_requirement
from opsdesk.workforce.scheduling.templates import Horizon, ShiftCandidate, site_calendar

__all__ = [
    "OWN_QUEUE_MIN_OCCUPANCY",
    "Horizon",
    "JointSchedule",
    "LanguageQueues",
    "Part",
    "QueueDecision",
    "Requirement",
    "ScheduledShift",
    "ShiftCandidate",
    "SiteSchedule",
    "Weights",
    "coverage_table",
    "parts_from_requirement",
    "parts_from_split",
    "plan_language_queues",
    "read_requirement",
    "schedule_jointly",
    "schedule_site",
    "schedule_sites",
    "shifts_table",
    "site_calendar",
    "site_requirement",
    "split_by_site",
]
