"""KPI definitions and the queries that compute them, dashboards, exports, process mining."""
