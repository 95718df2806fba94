"""The `workbench` command line (click): thin commands over the core, grouped by who uses them."""
