"""Connectors: how a delivery reaches a system. One small class per kind, behind one Protocol."""
