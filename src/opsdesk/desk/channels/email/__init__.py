"""The email channel: inbound mail (SMTP listener, IMAP poll) becomes tickets and messages; public agent
replies leave through an outbound queue with the headers customers' mail clients thread by."""
