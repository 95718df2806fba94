"""python -m workbench: the same CLI as the workbench command."""

from workbench.cli.main import main

main()
