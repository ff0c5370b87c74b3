"""The `archcalc` command line: the group, and the one place commands are registered.

Each command lives in `archcalc/commands/`; only those modules print or choose exit codes.
Commands that need torch import it inside their body, so the static path stays torch-free.
"""

from __future__ import annotations

import click

from .commands import bench, checks, conv, reports, static, verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archcalc")
def main() -> None:
    """What does this CNN cost? Exact per-layer shapes, parameters, connections and MACs.

    SPEC is the name of a bundled spec (see `archcalc list`) or the path of a YAML spec file.
    """


for _command in (
    static.shapes, static.params, static.list_, static.kinds,
    conv.conv, conv.rf,
    verify.verify, verify.export,
    checks.check, checks.schema,
    reports.report, reports.compare, reports.diff,
    bench.bench, bench.roofline_, bench.memory,
):  # fmt: skip
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
