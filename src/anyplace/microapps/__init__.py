"""Microapps: declarative forms whose input is delivered to every system that needs it."""
