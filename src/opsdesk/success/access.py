"""Whose book a person works. A CSM works their own accounts (their tasks, their playbooks, their
customers' emails and escalations); CS leads and admins work every account. Reading the portfolio and an
account's 360 view stays open to everyone with ``success.read``: the team learns from each other's books."""

from __future__ import annotations

from opsdesk.core import permissions
from opsdesk.core.errors import PermissionDenied
from opsdesk.core.models import Role, User
from opsdesk.success.models import Account
from opsdesk.success.playbooks.models import Task

LEADS = frozenset({Role.ADMIN, Role.CS_LEAD})


def sees_every_book(user: User) -> bool:
    """Leads and admins, and the readers (support leads, analysts) who work no book of their own."""
    return permissions.has(user, permissions.SUCCESS_READ) and user.role is not Role.CSM


def may_work(user: User, account: Account) -> bool:
    if not permissions.has(user, permissions.SUCCESS_WRITE):
        return False
    return user.role in LEADS or account.owner_id == user.id


def require_work(user: User, account: Account) -> None:
    if not may_work(user, account):
        if not permissions.has(user, permissions.SUCCESS_WRITE):
            raise PermissionDenied(f"{user.role.value} may not success write")
        raise PermissionDenied(f"{account.name} is not in your book; its CSM or a CS lead works it")


def require_lead(user: User, what: str) -> None:
    """Creating accounts, moving books and changing segment rules belong to CS leads and admins."""
    permissions.require(user, permissions.SUCCESS_WRITE)
    if user.role not in LEADS:
        raise PermissionDenied(f"only CS leads and admins {what}")


def may_work_task(user: User, task: Task) -> bool:
    """The account's workers, and whoever the task is assigned to (a named owner on another's account)."""
    if may_work(user, task.account):
        return True
    return permissions.has(user, permissions.SUCCESS_WRITE) and task.owner_id == user.id


def may_see_task(user: User, task: Task) -> bool:
    return sees_every_book(user) or may_work_task(user, task)


def require_work_task(user: User, task: Task) -> None:
    if not may_work_task(user, task):
        require_work(user, task.account)
