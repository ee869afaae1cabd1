"""What a pass decides (pure): the timeline, one ledger snapshot and the instant in, every
action of the pass out (`decision.decide`)."""
