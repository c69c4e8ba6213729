"""Live chat: a chat is a ticket with channel chat; this package keeps its sequence numbers and state."""
