"""Connectors: other systems' wire formats in, the signal contract out (and notifications out)."""
