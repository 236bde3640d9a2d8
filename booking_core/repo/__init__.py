"""SQL for the core's records, as small unit-of-work generators (``yield from`` them)."""
