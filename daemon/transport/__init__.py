"""Outbound mail transport: the SMTP adapter and its send-rate limiter."""
