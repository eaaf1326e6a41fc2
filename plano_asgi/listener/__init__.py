"""The agent listener's per-request machinery: selection, agent calls, chaining, headers."""
