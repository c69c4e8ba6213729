"""Reply, note, email and webhook texts written by admins and agents, rendered in Jinja2's immutable
sandbox: a template reads the ticket's facts (``{{ requester.first_name }}``) and can neither call
into Python nor change anything. This is data templating, not page rendering (pages stay in web/)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from opsdesk.core.errors import ValidationFailed

MAX_TEMPLATE = 20_000
MAX_OUTPUT = 100_000

_env = ImmutableSandboxedEnvironment(autoescape=False, undefined=Undefined)
_strict = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Any:
    return _env.from_string(source)


def check_template(source: str, field: str) -> str:
    """A template that parses, within the size limit; ValidationFailed naming ``field`` otherwise."""
    if len(source) > MAX_TEMPLATE:
        raise ValidationFailed(f"the template is longer than {MAX_TEMPLATE} characters", field=field)
    try:
        _strict.parse(source)
    except TemplateError as exc:
        raise ValidationFailed(f"the template does not parse: {exc}", field=field) from None
    return source


def render(source: str, context: Mapping[str, Any]) -> str:
    """The text; a placeholder with no value renders empty (a requester without a first name)."""
    text = str(_compiled(source).render(**context))
    return text[:MAX_OUTPUT]


def first_name(name: str | None) -> str:
    return (name or "").strip().split(" ")[0] if name else ""
