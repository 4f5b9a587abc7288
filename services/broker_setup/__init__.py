"""Broker credentials, ACL and config: generated at first start, never stored in git."""
