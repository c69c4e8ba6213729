"""Signing in to the pages over plain HTTP, for tests of what pages show and cost (no browser needed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

from tests.factories import PASSWORD

if TYPE_CHECKING:
    from tests.conftest import LiveServer

__all__ = ["PASSWORD", "sign_in_http"]


def sign_in_http(client: httpx.Client, email: str) -> None:
    """The sign-in form as a browser posts it, so the client holds a page session."""
    form = client.get("/signin")
    token = re.search(r'name="signin_csrf" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/signin", data={"email": email, "password": PASSWORD, "signin_csrf": token.group(1)}
    )
    assert answer.status_code == 303, answer.text


def page_csrf(client: httpx.Client, path: str) -> str:
    """The CSRF token of the page form at ``path``, for posting that form as the browser would."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


@contextmanager
def signed_in_client(server: LiveServer, email: str) -> Iterator[httpx.Client]:
    """A client of the live server holding ``email``'s page session."""
    with server.client() as client:
        sign_in_http(client, email)
        yield client
