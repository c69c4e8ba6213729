"""SLA policies, business-hours calendars and the clocks that measure tickets against them."""
