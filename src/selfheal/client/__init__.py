"""The typed HTTP client of the selfheal API."""
