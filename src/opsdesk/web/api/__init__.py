"""One router per domain, mounted under /api/v1."""
