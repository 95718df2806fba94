"""Widgets of the reviewer app, one per module."""
