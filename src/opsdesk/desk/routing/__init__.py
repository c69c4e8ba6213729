"""Work distribution: agent presence and capacity, the pure router, the routing job, follow-the-sun."""
