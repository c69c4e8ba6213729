"""Sites of a follow-the-sun team: where agents sit, when each site is open, who works there, by which rules.

Loaded from SITES.yaml (see examples/sites.yaml). All clock times are local to the site and evaluated with
zoneinfo, so opening hours and shift starts stay on the wall clock across daylight-saving changes. Every
validation error names the key path (``sites[2].opening_hours.mon[0]``) so a planner can fix the file.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from opsdesk.core.errors import ValidationFailed

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _minute_of_day(hours: str, minutes: str, *, allow_24: bool) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > MINUTES_PER_DAY or (value == MINUTES_PER_DAY and not allow_24):
        raise ValueError(f"{hours}:{minutes} is not a time of day")
    return value


def _parse_times(value: Any, *, same_is_one_time: bool) -> tuple[int, int]:
    if isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    if not isinstance(value, str):
        raise ValueError("expected a time range like '07:00-19:00'")
    match = _RANGE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a time range like '07:00-19:00'")
    start = _minute_of_day(match[1], match[2], allow_24=False)
    end = _minute_of_day(match[3], match[4], allow_24=True)
    if end == start and same_is_one_time:
        return start, start
    if end <= start:
        end += MINUTES_PER_DAY
    return start, end


def _parse_range(value: Any) -> tuple[int, int]:
    """'HH:MM-HH:MM' -> (start, end) in minutes after local midnight; an end at or before the start means
    the range runs past midnight into the next day, so its end is returned above 1440."""
    return _parse_times(value, same_is_one_time=False)


def _parse_window(value: Any) -> tuple[int, int]:
    """A start window: both ends are starts (inclusive), so '09:00-09:00' is the single start 09:00."""
    return _parse_times(value, same_is_one_time=True)


TimeRange = Annotated[tuple[int, int], BeforeValidator(_parse_range)]
StartWindow = Annotated[tuple[int, int], BeforeValidator(_parse_window)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Team(_Strict):
    """Positions at a site that share one skill and language profile (the unit a planner hires into)."""

    name: str = ""
    skills: list[str] = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    headcount: int = Field(ge=0)

    def serves(self, skill: str | None, language: str | None) -> bool:
        return (skill is None or skill in self.skills) and (language is None or language in self.languages)


class ShiftTemplate(_Strict):
    """Which shifts a site may work: lengths, local start windows and one break per shift."""

    lengths_hours: list[float] = Field(default=[8.0], min_length=1)
    # Earliest-latest local start, both inclusive; '21:00-01:00' runs past midnight.
    start_windows: list[StartWindow] = Field(default=[(6 * 60, 14 * 60)], min_length=1)
    break_minutes: int = Field(default=30, ge=0)
    break_earliest_after_hours: float = Field(default=3.0, ge=0)
    break_latest_after_hours: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> ShiftTemplate:
        for i, length in enumerate(self.lengths_hours):
            if not 0 < length <= 16:
                raise KeyProblem(f"lengths_hours[{i}]", "a shift lasts more than 0 and at most 16 hours")
        if self.break_minutes:
            if self.break_latest_after_hours < self.break_earliest_after_hours:
                raise KeyProblem("break_latest_after_hours", "must not be before break_earliest_after_hours")
            shortest = min(self.lengths_hours) * 60
            if self.break_latest_after_hours * 60 + self.break_minutes > shortest:
                raise KeyProblem("break_latest_after_hours", "the break must end inside the shortest shift")
        return self


class LabourRules(_Strict):
    """Per-site working-time rules every schedule line must honour."""

    min_rest_hours: float = Field(default=11.0, ge=0, le=48)
    max_consecutive_days: int = Field(default=5, ge=1, le=7)
    min_days_off_per_week: int = Field(default=2, ge=0, le=7)
    max_hours_per_week: float = Field(default=40.0, gt=0, le=84)


class Site(_Strict):
    name: str = Field(min_length=1)
    timezone: str
    # Local opening hours per weekday; a weekday left out is closed. '22:00-06:00' runs past midnight.
    opening_hours: dict[Weekday, list[TimeRange]]
    languages: list[str] = Field(min_length=1)
    skills: list[str] = Field(min_length=1)
    headcount: int = Field(ge=0)
    # Optional split of the headcount by skill/language profile; default: one team with all of them.
    teams: list[Team] = Field(default_factory=list)
    shifts: ShiftTemplate = Field(default_factory=ShiftTemplate)
    rules: LabourRules = Field(default_factory=LabourRules)

    @model_validator(mode="after")
    def _check(self) -> Site:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise KeyProblem("timezone", f"unknown time zone {self.timezone!r}") from None
        if not self.teams:
            self.teams = [
                Team(name="all", skills=self.skills, languages=self.languages, headcount=self.headcount)
            ]
            return self
        for i, team in enumerate(self.teams):
            if not team.name:
                team.name = f"T{i + 1}"
            for key, have, allowed in (
                ("skills", team.skills, self.skills),
                ("languages", team.languages, self.languages),
            ):
                unknown = sorted(set(have) - set(allowed))
                if unknown:
                    raise KeyProblem(f"teams[{i}].{key}", f"{unknown} not listed in the site's {key}")
        if sum(team.headcount for team in self.teams) != self.headcount:
            raise KeyProblem("teams", f"team headcounts must add up to the site headcount {self.headcount}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, instant: datetime) -> bool:
        """Whether the site is open at this aware instant, on its local wall clock."""
        local = instant.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        weekday = local.weekday()
        today = self.opening_hours.get(WEEKDAYS[weekday], [])
        yesterday = self.opening_hours.get(WEEKDAYS[(weekday - 1) % 7], [])
        return any(start <= minute < end for start, end in today) or any(
            minute < end - MINUTES_PER_DAY for _, end in yesterday
        )

    def capacity(self, skill: str | None, language: str | None) -> int:
        """Headcount able to take work needing this skill and language."""
        return sum(team.headcount for team in self.teams if team.serves(skill, language))


class DemandShare(_Strict):
    """A share of every interval's requirement that needs one skill and/or one language."""

    skill: str | None = None
    language: str | None = None
    share: float = Field(gt=0, le=1)

    @property
    def label(self) -> str:
        return f"{self.skill or 'any'}/{self.language or 'any'}"


class SitesConfig(_Strict):
    demand_mix: list[DemandShare] = Field(default_factory=lambda: [DemandShare(share=1.0)])
    sites: list[Site] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> SitesConfig:
        names = [site.name for site in self.sites]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise KeyProblem(f"sites[{i}].name", f"site {name!r} is listed twice")
        if abs(sum(d.share for d in self.demand_mix) - 1.0) > 1e-6:
            raise KeyProblem("demand_mix", "shares must add up to 1")
        for i, demand in enumerate(self.demand_mix):
            if not any(site.capacity(demand.skill, demand.language) for site in self.sites):
                raise KeyProblem(f"demand_mix[{i}]", f"no site has a team for {demand.label}")
        return self

    def site(self, name: str) -> Site:
        for site in self.sites:
            if site.name == name:
                return site
        raise ValidationFailed(f"unknown site {name!r}", field="site")


class KeyProblem(ValueError):
    """A model check that knows which nested key is wrong (pydantic only knows the model's own path)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def key_path(loc: tuple[int | str, ...]) -> str:
    """('sites', 2, 'timezone') -> 'sites[2].timezone'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def validation_failed(exc: ValidationError) -> ValidationFailed:
    """The first pydantic error as a ValidationFailed whose field is the full key path."""
    error = exc.errors()[0]
    loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and "[" in part))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, KeyProblem):
        path = ".".join(filter(None, [key_path(loc), cause.key])).replace(".[", "[")
        return ValidationFailed(cause.message, field=path)
    message = error["msg"].removeprefix("Value error, ")
    return ValidationFailed(message, field=key_path(loc) or None)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error names the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path.name} is not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ValidationFailed(f"invalid YAML at line {line}: {exc.problem}") from None


def parse_sites(data: Any) -> SitesConfig:
    try:
        return SitesConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def load_sites(path: Path) -> SitesConfig:
    return parse_sites(read_yaml(path))
