"""`opsdesk schedule` and `opsdesk hire` end to end through the real command line parser."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from opsdesk.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "timestamp,volume,agents,scheduled_agents,service_level,asa_seconds,occupancy"
SITES = """
sites:
  - name: Chicago
    timezone: America/Chicago
    opening_hours: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"],
                    fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}
    languages: [en]
    skills: [L1]
    headcount: 3
    shifts: {lengths_hours: [8], start_windows: ["07:00-09:00", "21:00-23:00"], break_minutes: 0}
"""


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def staff_week(tmp_path: Path, agents_at: dict[int, int], extra: str = "") -> Path:
    """A week of hourly STAFF.csv rows from Monday 00:00 UTC; hour index -> scheduled agents."""
    start = datetime(2027, 2, 1, tzinfo=UTC)
    lines = [HEADER + extra]
    for hour in range(7 * 24):
        at = (start + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
        n = agents_at.get(hour, 0)
        lines.append(f"{at},{n * 10},{n},{n},0.8,20,0.8" + (",phone" if extra else ""))
    path = tmp_path / "staff.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_schedule_writes_shifts_in_local_time_and_coverage(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text(SITES)
    # Chicago Monday 22:00 to Tuesday 06:00 CST is Tuesday 04:00-12:00 UTC (hours 28-35): one night shift.
    staff = staff_week(tmp_path, {hour: 1 for hour in range(28, 36)})
    out, coverage = tmp_path / "schedule.csv", tmp_path / "coverage.csv"
    code, output = run(
        "schedule",
        str(staff),
        "--sites",
        str(sites),
        "-o",
        str(out),
        "--coverage",
        str(coverage),
        "--time-limit",
        "10",
    )
    assert code == 0, output
    assert "Chicago: 1 shifts, under 0, over 0" in output
    (shift,) = rows(out)
    assert shift["agent"] == "Chicago-001"
    assert (shift["start"], shift["end"]) == ("2027-02-01T22:00:00-06:00", "2027-02-02T06:00:00-06:00")
    assert shift["break_start"] == ""
    table = rows(coverage)
    assert list(table[0]) == ["timestamp", "site", "required", "scheduled", "under", "over"]
    assert len(table) == 7 * 24
    assert sum(int(r["required"]) for r in table) == 8
    assert sum(int(r["scheduled"]) for r in table) == 8


def test_schedule_rows_with_a_site_and_channels_add_up(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text(SITES)
    staff = tmp_path / "staff.csv"
    staff.write_text(
        HEADER + ",channel,site\n"
        "2027-02-01T14:00:00Z,10,1,1,0.8,20,0.8,phone,Chicago\n"
        "2027-02-01T14:00:00Z,10,1,1,0.8,20,0.8,chat,Chicago\n"
        "2027-02-01T15:00:00Z,10,1,1,0.8,20,0.8,phone,Chicago\n"
    )
    out, coverage = tmp_path / "schedule.csv", tmp_path / "coverage.csv"
    code, output = run(
        "schedule", str(staff), "--sites", str(sites), "-o", str(out), "--coverage", str(coverage)
    )
    assert code == 0, output
    assert [int(r["required"]) for r in rows(coverage)] == [2, 1]
    assert "not one week" in output


def test_schedule_errors_name_the_file_and_line_or_key(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text(SITES.replace("America/Chicago", "America/Chicgo"))
    staff = staff_week(tmp_path, {1: 1})
    out = tmp_path / "schedule.csv"
    code, output = run("schedule", str(staff), "--sites", str(sites), "-o", str(out))
    assert code == 2
    assert "sites.yaml: sites[0].timezone: unknown time zone" in output
    sites.write_text(SITES)
    staff.write_text(
        HEADER + "\n2027-02-01T00:00:00Z,1,1,1,0.8,20,0.8\n2027-02-01T01:00:00Z,1,1,two,0.8,20,0.8\n"
    )
    code, output = run("schedule", str(staff), "--sites", str(sites), "-o", str(out))
    assert code == 2 and "staff.csv line 3: scheduled_agents 'two' is not a number" in output
    staff.write_text("timestamp,agents\n2027-02-01T00:00:00Z,1\n")
    code, output = run("schedule", str(staff), "--sites", str(sites), "-o", str(out))
    assert code == 2 and "staff.csv line 1: missing column scheduled_agents" in output
    staff.write_text(HEADER + ",site\n2027-02-01T00:00:00Z,1,1,1,0.8,20,0.8,Tokyo\n")
    code, output = run("schedule", str(staff), "--sites", str(sites), "-o", str(out))
    assert code == 2 and "staff.csv line 2: site 'Tokyo' is not in the sites file" in output
    staff.write_text(
        HEADER + "\n2027-02-01T00:00:00Z,1,1,1,0.8,20,0.8\n2027-02-01T00:00:00Z,1,1,1,0.8,20,0.8\n"
    )
    code, output = run("schedule", str(staff), "--sites", str(sites), "-o", str(out))
    assert code == 2 and "line 3: interval 2027-02-01T00:00:00Z repeats line 2" in output
    staff.write_text(HEADER + "\n2027-02-01T00:00:00Z,1,1,1.5,0.8,20,0.8\n")
    code, output = run("schedule", str(staff), "--sites", str(sites), "-o", str(out))
    assert code == 2 and "line 2: scheduled_agents must be a whole number" in output
    staff.write_bytes(b"timestamp,scheduled_agents\n\xff\xfe,1\n")
    code, output = run("schedule", str(staff), "--sites", str(sites), "-o", str(out))
    assert code == 2 and "staff.csv: not UTF-8 text" in output
    assert not out.exists()


def test_hire_writes_the_monthly_plan(tmp_path: Path) -> None:
    out = tmp_path / "hiring.csv"
    code, output = run("hire", str(EXAMPLES / "plan.yaml"), "-o", str(out))
    assert code == 0, output
    table = rows(out)
    assert list(table[0]) == [
        "month",
        "site",
        "skill",
        "required_fte",
        "productive_fte",
        "headcount",
        "attrition",
        "hires_starting",
        "requisitions",
        "requisition_start_month",
        "coverage_pct",
    ]
    assert len(table) == 54
    assert {r["site"] for r in table} == {"Chicago", "Seattle", "San Francisco", "Manila", "Dublin"}


def test_hire_errors_name_the_yaml_key(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text((EXAMPLES / "plan.yaml").read_text().replace("occupancy: 0.85", "occupancy: 1.85"))
    code, output = run("hire", str(plan), "-o", str(tmp_path / "hiring.csv"))
    assert code == 2 and "plan.yaml: fte.occupancy:" in output
    plan.write_text("start_month: [\n")
    code, output = run("hire", str(plan), "-o", str(tmp_path / "hiring.csv"))
    assert code == 2 and "invalid YAML at line" in output


TWO_SITES = """
sites:
""" + "".join(
    f"""
  - name: {name}
    timezone: UTC
    opening_hours: {{mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"],
                    fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}}
    languages: [en]
    skills: [L1]
    headcount: 2
    shifts: {{lengths_hours: [8], start_windows: ["{window}"], break_minutes: 0}}
"""
    for name, window in (("Early", "08:00-08:00"), ("Late", "16:00-16:00"))
)


def test_schedule_joint_lets_one_site_cover_what_the_split_gave_another(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text(TWO_SITES)
    staff = staff_week(tmp_path, {hour: 2 for hour in range(8, 16)})  # Monday 08-16 UTC, two agents
    out, coverage = tmp_path / "schedule.csv", tmp_path / "coverage.csv"
    common = ["schedule", str(staff), "--sites", str(sites), "--time-limit", "10", "--workers", "1"]
    code, output = run(*common, "-o", str(out), "--coverage", str(coverage))
    assert code == 0, output
    assert "Late: 0 shifts, under 8, over 0" in output  # the split gave Late hours it cannot start in
    code, output = run(*common, "--joint", "-o", str(out), "--coverage", str(coverage))
    assert code == 0, output
    assert "all sites: under 0, over 0 agent-intervals (optimal)" in output
    shifts = rows(out)
    assert [(s["agent"], s["start"]) for s in shifts] == [
        ("Early-001", "2027-02-01T08:00:00+00:00"),
        ("Early-002", "2027-02-01T08:00:00+00:00"),
    ]
    table = rows(coverage)
    assert sum(int(r["required"]) for r in table) == 16
    assert sum(int(r["under"]) for r in table) == 0
