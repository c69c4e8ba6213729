"""The dashboards' numbers: each dashboard is a list of panels (a titled table of numbers that a page
draws as a chart and offers as CSV and XLSX), computed from the KPI engine's rows and the success and
workforce queries, never by a second definition."""
