"""Reviewer workbench: offline grading of government websites and practice cases."""

__version__ = "0.1.0"
