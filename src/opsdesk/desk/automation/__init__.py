"""Automation: triggers and time rules (a pure condition evaluator, actions through desk actions), their
dry run over the event log, and macros."""
