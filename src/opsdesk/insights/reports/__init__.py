"""Reports built on the KPI engine: every number in them is a row of ``opsdesk kpi`` (never recomputed)."""
