"""python -m workbench: the same CLI as the workbench command."""

from .cli import main

main()
