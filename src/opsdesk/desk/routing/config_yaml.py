"""The routing configuration as YAML, so a team can keep it in git: ``opsdesk routing export`` writes
it, ``opsdesk routing import`` and the admin page read it back. Errors name the key path."""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from opsdesk.core.errors import ValidationFailed
from opsdesk.desk.routing.schemas import RoutingConfig

MAX_YAML = 5_000_000


def dump_config_yaml(config: RoutingConfig) -> str:
    return yaml.safe_dump(
        config.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True
    )


def parse_config_yaml(text: str) -> RoutingConfig:
    if len(text) > MAX_YAML:
        raise ValidationFailed(f"the file is longer than {MAX_YAML} characters", field="yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValidationFailed(
            f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", field="yaml"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed("the file must be a mapping (settings, languages, skills, ...)", field="yaml")
    try:
        return RoutingConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        raise ValidationFailed(f"{path}: {first['msg']}", field=path or "yaml") from None
