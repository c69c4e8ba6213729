"""The support desk: tickets, messages, channels, SLAs, routing, automation, CSAT."""
