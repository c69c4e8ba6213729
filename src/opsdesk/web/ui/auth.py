"""Sign-in with a password, browser sessions in a cookie, and CSRF checks for every form post."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsdesk.core import actions as core_actions
from opsdesk.core import queries as core_queries
from opsdesk.core import sign_in
from opsdesk.core.database import declare_write
from opsdesk.core.errors import OpsDeskError, Throttled
from opsdesk.core.models import User
from opsdesk.web.api.params import QueryFilter
from opsdesk.web.deps import SESSION_COOKIE, ClockDep, SessionDep, SettingsDep
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)
SIGNIN_CSRF_COOKIE = "opsdesk_signin_csrf"


class SignInRequired(OpsDeskError):
    """A page needs a signed-in user; the handler redirects to the sign-in page."""


class BadCsrf(OpsDeskError):
    """A form post without the session's CSRF token: refused, never acted on."""


def page_user(request: Request, session: SessionDep, clock: ClockDep) -> User:
    cookie = request.cookies.get(SESSION_COOKIE)
    row = core_queries.browser_session(session, cookie, clock) if cookie else None
    if row is None:
        raise SignInRequired("sign in to continue")
    request.state.csrf_token = row.csrf_token
    return row.user


async def checked_form(request: Request, user: Annotated[User, Depends(page_user)]) -> User:
    """The signed-in user, after checking the form's CSRF token against the session's."""
    form = await request.form()
    sent = str(form.get("csrf_token", ""))
    if not hmac.compare_digest(sent, getattr(request.state, "csrf_token", "")):
        raise BadCsrf("the form expired or came from another site; reload the page and try again")
    return user


class PortalOnly(OpsDeskError):
    """A requester asked for a staff page; the handler sends them to the portal instead."""


def _staff(user: User) -> User:
    if not user.is_staff:
        raise PortalOnly("requesters use the portal")
    return user


async def staff_page_user(user: Annotated[User, Depends(page_user)]) -> User:
    """The signed-in staff member: requesters belong in the portal, which shows them their requests
    without the team's own fields (SLA due times, group, tier, assignee)."""
    return _staff(user)


async def staff_form_user(user: Annotated[User, Depends(checked_form)]) -> User:
    """As :func:`staff_page_user`, for a form post: a requester's post to a staff form is never acted on."""
    return _staff(user)


PageUser = Annotated[User, Depends(page_user)]
FormUser = Annotated[User, Depends(checked_form)]
StaffPageUser = Annotated[User, Depends(staff_page_user)]
StaffFormUser = Annotated[User, Depends(staff_form_user)]


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: QueryFilter = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = page(request, "signin.html", None, next=_safe_next(next), signin_csrf=token, error=None)
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


NoNul = r"^[^\x00]*$"


def _signin_again(request: Request, status_code: int, error: str, email: str, next: str) -> Response:
    """The sign-in form once more, with a fresh CSRF token and the reason."""
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "signin.html",
        None,
        status_code=status_code,
        next=_safe_next(next),
        signin_csrf=token,
        error=error,
        email=email,
    )
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320, pattern=NoNul)] = "",
    password: Annotated[str, Form(max_length=1024, pattern=NoNul)] = "",
    signin_csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000, pattern=NoNul)] = "/",
) -> Response:
    """Throttled before the password is hashed (``core.sign_in``): past a limit, a 429 with
    Retry-After, the right password included."""
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    if not (expected and hmac.compare_digest(signin_csrf, expected)):
        return _signin_again(request, 401, _NO_MATCH, email, next)
    address = request.client.host if request.client else ""
    counter = sign_in.counter_for(session, settings.redis_url)
    wait = sign_in.count_attempt(counter, email=email, address=address, clock=clock)
    session.commit()
    try:
        if wait is not None:
            raise sign_in.refuse(wait)
        user = sign_in.check_password(session, email=email, password=password)
    except Throttled as exc:
        response = _signin_again(request, 429, exc.message, email, next)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if user is None:
        return _signin_again(request, 401, _NO_MATCH, email, next)
    # The check only read: end that transaction, so the writes take SQLite's write lock up front
    # (a read transaction upgraded to a write fails at once if another writer committed meanwhile).
    session.commit()
    declare_write(session)
    sign_in.clear_attempts(counter, email=email, address=address)
    _row, cookie = core_actions.start_browser_session(session, user=user, clock=clock)
    session.commit()
    target = _safe_next(next) if user.is_staff else "/portal"
    redirect = RedirectResponse(target, status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=settings.https, max_age=12 * 3600
    )
    redirect.delete_cookie(SIGNIN_CSRF_COOKIE)
    return redirect


_NO_MATCH = "That email and password do not match an active account."


@router.post("/signout")
def signout(request: Request, session: SessionDep, _user: FormUser) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        core_actions.end_browser_session(session, cookie=cookie)
        session.commit()
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def signin_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
