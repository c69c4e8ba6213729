"""Voice of the customer: escalations, NPS responses and product feedback ranked by who asks."""
