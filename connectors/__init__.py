"""Channel connectors: verify and parse inbound webhooks, send outbound messages."""
