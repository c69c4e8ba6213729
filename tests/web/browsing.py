"""Driving the pages in the browser as a person does."""

from __future__ import annotations

from typing import Any

from tests.conftest import LiveServer
from tests.factories import PASSWORD


def sign_in(page: Any, server: LiveServer, email: str) -> Any:
    """Sign in through the form (the header's Sign out button is a submit button too, hence ``main``)
    and wait until the sign-in redirect has landed; returns the page."""
    page.goto(server.url + "/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/signin" not in url)
    return page
