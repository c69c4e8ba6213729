"""Who may read the audit log (issue 9, defect 5): admins and compliance officers. Support leads read
sensitive tickets and are among the people the log is reviewed for, so they no longer read it; a
compliance officer reads the log and the people in it, and no tickets."""

from __future__ import annotations

from opsdesk.core.models import Role
from opsdesk.core.permissions import AUDIT_READ, ROLE_PERMISSIONS, USER_READ


def test_audit_readers() -> None:
    readers = {role for role, granted in ROLE_PERMISSIONS.items() if AUDIT_READ in granted}
    assert readers == {Role.ADMIN, Role.COMPLIANCE}


def test_a_compliance_officer_reads_the_log_and_the_people_only() -> None:
    assert ROLE_PERMISSIONS[Role.COMPLIANCE] == frozenset({AUDIT_READ, USER_READ})
