"""Server-rendered pages: Jinja templates and our own CSS; nothing is fetched from a CDN."""
