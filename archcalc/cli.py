"""The `archcalc` command line: the group, and the one place commands are registered.

Each command lives in `archcalc/commands/`; only those modules print or choose exit codes.
Commands that need torch import it inside their body, so the static path stays torch-free.

Commands are registered by name and loaded on first use (a lazy group): `archcalc shapes`
imports the static commands only, not the verify, report or check modules and what they
import. Start-up time is most of what a static command costs.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
from importlib import import_module
from typing import Any, NoReturn

import click

# pydantic looks for plugins by scanning every installed distribution's entry points the first
# time it builds a validator: tens of milliseconds at each start in a large environment, for
# plugins that have no role in this command line. A value set by the user is respected.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# name -> "module:attribute" under archcalc.commands; one line per command module.
COMMANDS: dict[str, str] = {
    "shapes": "static:shapes",
    "params": "static:params",
    "list": "static:list_",
    "kinds": "kinds:kinds",
    "verify": "verify:verify",
    "export": "verify:export",
    "import": "importing:import_",
    "check": "checks:check",
    "schema": "checks:schema",
    "report": "reports:report",
    "compare": "reports:compare",
    "diff": "reports:diff",
    "conv": "conv:conv",
    "rf": "conv:rf",
    "bench": "bench:bench",
    "roofline": "bench:roofline_",
    "memory": "bench:memory",
}


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

    # click's own usage errors quote what was typed (`Got unexpected extra argument (...)`) as it is;
    # the text comes from a workflow's author or a file name, so it is terminal text like any other
    # user string. Both paths an error can take (the group's arguments, a command's) pass here.
    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as err:
            raise _encoded(err) from None
        except BrokenPipeError:  # --help, --version or a command to a closed pipe: click's own end is exit 1
            _closed_pipe()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as err:
            raise _encoded(err) from None
        except BrokenPipeError:  # --help, --version or a command to a closed pipe: click's own end is exit 1
            _closed_pipe()


def _closed_pipe() -> NoReturn:
    from .commands.pipes import closed_pipe  # on the closed-pipe path only

    sys.exit(closed_pipe())


def _encoded(err: click.ClickException) -> click.ClickException:
    from .encode import term_text  # on the error path only

    # click declares `message` Final; it is re-encoded in place to keep the error's class, context and exit code
    err.message = term_text(err.message)  # type: ignore[misc]
    return err


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archcalc")
def main() -> None:
    """What does this CNN cost? Exact per-layer shapes, parameters, connections and MACs.

    SPEC is the name of a bundled spec (see `archcalc list`) or the path of a YAML spec file.
    """
    _end_start_up()


# The console script pauses the cyclic garbage collector while it starts: importing pydantic
# and the layer models allocates hundreds of thousands of long-lived objects, and collecting
# while they pile up scans them again and again (about 15 ms of `archcalc shapes`). Once the
# command is resolved they are frozen (never scanned again) and collection resumes, so a long
# `verify` or `bench` collects as usual.
_start_up_paused = False


def _end_start_up() -> None:
    global _start_up_paused
    if _start_up_paused:
        _start_up_paused = False
        gc.freeze()
        gc.enable()


def run() -> None:
    """The console script: `main`, then an exit that skips the interpreter's teardown.

    Finalising every object of a process that is about to end (pydantic's validators, the spec,
    the analysis) took about 30 ms of `archcalc shapes`' quarter second. Exit handlers (atexit,
    which also runs weakref finalizers registered for exit) still run and both streams are
    flushed first, so nothing a user can observe is skipped. In-process callers use `main`.

    Like other command-line tools it dies quietly of SIGPIPE when its reader goes away
    (`archcalc shapes resnet152 | head`) instead of reporting the closed pipe as an error; where
    the signal is blocked or ignored it exits 141 quietly all the same (commands/pipes.py).
    """
    global _start_up_paused
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if gc.isenabled():
        gc.disable()
        _start_up_paused = True
    try:
        main()
    except SystemExit as exit:  # click's standalone mode always ends this way
        code = exit.code
    except BrokenPipeError:  # a write outside a command's body (--help, --version) to a closed pipe
        from .commands.pipes import closed_pipe

        code = closed_pipe()
    else:  # pragma: no cover - click never returns in standalone mode
        code = 0
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): print it, exit 1, as Python does
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away before the last flush (`| head`)
            from .commands.pipes import closed_pipe

            code = code or closed_pipe()
        except ValueError:  # a closed stream: nothing to flush to
            code = code or 1
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
