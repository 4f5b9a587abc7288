"""`make demo`: the whole stack as local processes."""
