"""History imports: tickets from another helpdesk, replayed into the desk's tables and event log with
their original times, so the KPI engine and process mining read them like the desk's own history.

``history`` holds the neutral shape both sources parse into; ``zendesk`` and ``event_csv`` parse (pure:
text in, histories and problems out); ``writer`` (people and the id map) and ``ticket_writer`` write;
``runner`` drives a run in committed batches; ``metrics_check`` compares Zendesk's own ticket metrics
with what the KPI engine computes from the imported history.
"""
