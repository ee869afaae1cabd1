"""Durable state in SQLite, behind narrow methods: the outbox, invite versions, what arrived in
the mailbox and what it meant, the snapshot a pass reads; the instance lock."""
