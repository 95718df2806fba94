"""The reviewer's Textual app — the only package that imports textual (see app.py)."""
