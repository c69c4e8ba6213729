"""Outbound webhooks: subscriptions to event types, a dispatcher reading the event log after a stored
cursor, and signed deliveries (Standard Webhooks) retried with backoff into a dead-letter list."""
