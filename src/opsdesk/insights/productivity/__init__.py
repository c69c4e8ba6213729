"""Agent, team and site productivity, and CSM productivity: what each person's work added up to in a
period. Ticket outcomes (solved, one-touch, reopens, SLA, CSAT) are the KPI engine's rows grouped by
agent, team or site; this package adds what the engine does not count per person (public replies and
touches, handle time, time online, occupancy) and joins the QA score."""
