"""Placing launches on session hosts and keeping track of sessions."""
