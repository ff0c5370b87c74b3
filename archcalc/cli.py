"""The `archcalc` command line: the group, and the one place commands are registered.

Each command lives in `archcalc/commands/`; only those modules print or choose exit codes.
Commands that need torch import it inside their body, so the static path stays torch-free.

Commands are registered by name and loaded on first use (a lazy group): `archcalc shapes`
imports the static commands only, not the verify, report or check modules and what they
import. Start-up time is most of what a static command costs.
"""

from __future__ import annotations

import os
from importlib import import_module

import click

# pydantic looks for plugins by scanning every installed distribution's entry points the first
# time it builds a validator: tens of milliseconds at each start in a large environment, for
# plugins that have no role in this command line. A value set by the user is respected.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# name -> "module:attribute" under archcalc.commands; one line per command module.
COMMANDS: dict[str, str] = {
    "shapes": "static:shapes", "params": "static:params", "list": "static:list_", "kinds": "static:kinds",
    "verify": "verify:verify", "export": "verify:export",
    "check": "checks:check", "schema": "checks:schema",
    "report": "reports:report", "compare": "reports:compare", "diff": "reports:diff",
    "conv": "conv:conv", "rf": "conv:rf",
    "bench": "bench:bench", "roofline": "bench:roofline_", "memory": "bench:memory",
}  # fmt: skip


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is looked up."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name].split(":")
            command = getattr(import_module(f"archcalc.commands.{module}"), attribute)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archcalc")
def main() -> None:
    """What does this CNN cost? Exact per-layer shapes, parameters, connections and MACs.

    SPEC is the name of a bundled spec (see `archcalc list`) or the path of a YAML spec file.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
