"""Shared foundation: settings, database, clock, errors, people and access, the event and audit logs."""
