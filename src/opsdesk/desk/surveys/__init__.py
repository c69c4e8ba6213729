"""Customer satisfaction (CSAT): the survey after a ticket is solved, and the ratings it collects."""
