"""A realistic demo organisation with history, so every page shows real data right after `make demo`.

The history is bulk-loaded (hundreds of thousands of rows in seconds) as the same rows and events the
desk actions write; the current state that live code maintains (SLA due times) is then computed by that
live code.
"""
