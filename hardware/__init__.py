"""Adapters that execute recipes on real tools."""
