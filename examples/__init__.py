"""Runnable examples for plano-asgi."""
