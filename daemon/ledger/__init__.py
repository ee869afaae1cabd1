"""What the store holds, as plain immutable values every layer shares, and the Snapshot a pass
decides from."""
