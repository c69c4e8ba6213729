"""Which phase each lifecycle stage belongs to, and the usual next stage from each one.

Implementation is run by an implementation manager; launch and adoption (post-launch) by the CSM; the
renewal by a renewal owner. A churned account falls back to its CSM, who closes out the relationship.
An unassigned phase falls back to the CSM too, so a hand-off always lands with someone who knows the
account."""

from __future__ import annotations

import enum

from opsdesk.success.models import Stage


class Phase(enum.StrEnum):
    IMPLEMENTATION = "implementation"
    POST_LAUNCH = "post_launch"
    RENEWAL = "renewal"


PHASE_LABELS = {
    Phase.IMPLEMENTATION: "Implementation manager",
    Phase.POST_LAUNCH: "CSM",
    Phase.RENEWAL: "Renewal owner",
}
# Phases whose owner is stored apart from the account; post-launch is the account's own CSM.
STORED_PHASES = (Phase.IMPLEMENTATION, Phase.RENEWAL)

PHASE_OF_STAGE = {
    Stage.IMPLEMENTATION: Phase.IMPLEMENTATION,
    Stage.LAUNCH: Phase.POST_LAUNCH,
    Stage.ADOPTION: Phase.POST_LAUNCH,
    Stage.RENEWAL: Phase.RENEWAL,
    Stage.CHURNED: Phase.POST_LAUNCH,
}

# The stage an account usually moves to next: a renewal kept goes back to adoption for the new term,
# a returning customer starts a new implementation.
NEXT_STAGE = {
    Stage.IMPLEMENTATION: Stage.LAUNCH,
    Stage.LAUNCH: Stage.ADOPTION,
    Stage.ADOPTION: Stage.RENEWAL,
    Stage.RENEWAL: Stage.ADOPTION,
    Stage.CHURNED: Stage.IMPLEMENTATION,
}


def phase_of(stage: Stage) -> Phase:
    return PHASE_OF_STAGE[stage]


def next_stages(stage: Stage) -> list[Stage]:
    """Every other stage, the usual next one first (a lead may also correct a stage set by mistake)."""
    usual = NEXT_STAGE[stage]
    return [usual, *(s for s in Stage if s not in (stage, usual))]
