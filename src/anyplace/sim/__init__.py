"""Replaying days or years of sessions through the real policies to compare strategies."""
