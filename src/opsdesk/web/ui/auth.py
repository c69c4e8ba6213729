"""Sign-in with a password, browser sessions in a cookie, and CSRF checks for every form post."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsdesk.core import actions as core_actions
from opsdesk.core import queries as core_queries
from opsdesk.core.errors import OpsDeskError
from opsdesk.core.models import User
from opsdesk.core.secrets import verify_password
from opsdesk.web.api.params import FormLine, QueryFilter
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


PageUser = Annotated[User, Depends(page_user)]
FormUser = Annotated[User, Depends(checked_form)]


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: QueryFilter = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = page(request, "signin.html", None, next=_safe_next(next), signin_csrf=token, error=None)
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    email: FormLine = "",
    password: FormLine = "",
    signin_csrf: FormLine = "",
    next: FormLine = "/",
) -> Response:
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    user = None
    if expected and hmac.compare_digest(signin_csrf, expected):
        try:
            user = core_queries.user_by_email(session, email)
        except OpsDeskError:
            user = None
    if user is None or not user.active or not verify_password(user.password_hash, password):
        token = secrets.token_urlsafe(24)
        response = page(
            request,
            "signin.html",
            None,
            status_code=401,
            next=_safe_next(next),
            signin_csrf=token,
            error="That email and password do not match an active account.",
            email=email,
        )
        response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
        return response
    _row, cookie = core_actions.start_browser_session(session, user=user, clock=clock)
    session.commit()
    target = _safe_next(next) if user.is_staff else "/portal"
    redirect = RedirectResponse(target, status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=settings.https, max_age=12 * 3600
    )
    redirect.delete_cookie(SIGNIN_CSRF_COOKIE)
    return redirect


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
