"""Commands for the shell itself: the completion script of `workbench` for bash, zsh or fish."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script of `workbench` for SHELL (commands, options, choices, file names).

    \b
    Example:
      workbench completion bash > ~/.local/share/bash-completion/completions/workbench
      workbench completion zsh > "${fpath[1]}/_workbench"
      workbench completion fish > ~/.config/fish/completions/workbench.fish
    """
    from click.shell_completion import get_completion_class

    root = ctx.find_root()
    completer = get_completion_class(shell)
    assert completer is not None  # every one of SHELLS is click's
    # The console script is `workbench` whatever name the group was invoked under (a test runner says "cli").
    click.echo(completer(root.command, {}, "workbench", "_WORKBENCH_COMPLETE").source())


COMMANDS = (completion,)
