"""Signing in to the pages over plain HTTP, for tests of what pages show and cost (no browser needed)."""

from __future__ import annotations

import re

import httpx

from tests.factories import PASSWORD

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
