"""Workforce management: forecasting, staffing, sites and shifts, scheduling, hiring plans."""
