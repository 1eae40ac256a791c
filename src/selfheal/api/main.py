"""ASGI entry point for `uvicorn selfheal.api.main:app` (settings from the environment)."""

from selfheal.api.app import create_app

app = create_app()
