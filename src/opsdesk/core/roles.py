"""Who a user is to OpsDesk: their role and, for agents, their tier. Apart from the models so that the
command line can offer them as choices without loading SQLAlchemy (``opsdesk --help`` stays fast)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPPORT_LEAD = "support_lead"
    AGENT = "agent"
    QA_REVIEWER = "qa_reviewer"
    QA_LEAD = "qa_lead"
    CSM = "csm"
    CS_LEAD = "cs_lead"
    ANALYST = "analyst"
    COMPLIANCE = "compliance"
    REQUESTER = "requester"


class Tier(enum.StrEnum):
    L1 = "L1"
    L2 = "L2"
