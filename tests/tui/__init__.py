"""The reviewer app's tests, a package so that they import their helpers relatively (and mypy finds them)."""
