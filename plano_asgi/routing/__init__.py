"""Routing: which agent(s) handle a turn."""
