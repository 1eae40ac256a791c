"""selfheal: a self-healing support layer for commerce platforms (observe -> reason -> decide -> act)."""

__version__ = "0.1.0"
