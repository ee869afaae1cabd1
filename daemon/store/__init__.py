"""Durable state: the outbox, invite versions and the instance lock (SQLite)."""
