"""The pure evaluator: operators, validation naming the key at fault, and the trigger index, which must
pick exactly the triggers a full scan matches, in order."""

from __future__ import annotations

import random
from typing import Any

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.desk.automation.conditions import CHANGES, compile_conditions
from opsdesk.desk.automation.rule_index import TriggerIndex, index_key


def facts(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "priority": "normal", "status": "open", "channel": "email", "group": None, "tags": frozenset(),
        "subject": "Invoice", "hours_since_created": 3.0, CHANGES: {},
    }  # fmt: skip
    return {**base, **values}


def test_operators() -> None:
    match = compile_conditions(
        {
            "all": [
                {"field": "priority", "op": "in", "value": ["High", "urgent"]},
                {"field": "tags", "op": "excludes", "value": ["spam"]},
                {"field": "hours_since_created", "op": "gte", "value": 2},
            ],
            "any": [
                {"field": "subject", "op": "contains", "value": "INVOICE"},
                {"field": "status", "op": "changed_to", "value": "open"},
            ],
        }
    )
    assert match(facts(priority="high"))
    assert not match(facts(priority="high", tags=frozenset({"spam"})))
    assert not match(facts(priority="high", subject="Hello"))
    assert match(facts(priority="urgent", subject="Hello", **{CHANGES: {"status": ("new", "open")}}))
    assert not match(facts(priority="urgent", hours_since_created=None))


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ({"all": [{"field": "nope", "op": "is", "value": 1}]}, "conditions.all[0].field"),
        ({"all": [{"field": "tags", "op": "is", "value": "x"}]}, "conditions.all[0].op"),
        ({"any": [{"field": "priority", "op": "is"}]}, "conditions.any[0].value"),
        ({"all": [{"field": "hours_since_updated", "op": "gt", "value": "soon"}]}, "conditions.all[0].value"),
        ({"every": []}, "conditions"),
    ],
)
def test_bad_conditions_name_the_key(conditions: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        compile_conditions(conditions)
    assert refused.value.field == field


def test_the_index_picks_exactly_what_a_full_scan_matches() -> None:
    rng = random.Random(3)
    pool = [
        {"field": "priority", "op": "is", "value": "high"},
        {"field": "priority", "op": "in", "value": ["low", "urgent"]},
        {"field": "channel", "op": "is", "value": "chat"},
        {"field": "tags", "op": "includes", "value": ["vip", "b"]},
        {"field": "status", "op": "changed_to", "value": "solved"},
        {"field": "subject", "op": "contains", "value": "inv"},
        {"field": "group", "op": "is", "value": None},
        {"field": "hours_since_created", "op": "gt", "value": 1},
    ]
    rules = []
    for _ in range(300):
        conditions = {"all": rng.sample(pool, rng.randint(0, 3)), "any": rng.sample(pool, rng.randint(0, 2))}
        rules.append((compile_conditions(conditions), index_key(conditions)))
    index = TriggerIndex.build([key for _m, key in rules])
    for _ in range(200):
        sample = facts(
            priority=rng.choice(["low", "normal", "high", "urgent"]),
            channel=rng.choice(["email", "chat"]),
            tags=frozenset(rng.sample(["vip", "a", "b"], rng.randint(0, 2))),
            group=rng.choice([None, "Billing"]),
            subject=rng.choice(["Invoice", "Hello"]),
            **{CHANGES: rng.choice([{}, {"status": ("open", "solved")}, {"status": ("new", "open")}])},
        )
        scan = [i for i, (match, _key) in enumerate(rules) if match(sample)]
        picked = [i for i in index.candidates(sample) if rules[i][0](sample)]
        assert picked == scan
