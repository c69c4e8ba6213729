"""Intraday: today's forecast against what arrived, the re-forecast, required/scheduled/online agents and
real-time adherence."""
