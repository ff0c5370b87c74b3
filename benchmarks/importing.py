"""`archcalc import` timed: resnet152 read into a spec in-process, torch already imported.

The module is the one archcalc's builder makes from the bundled resnet152 spec (torchvision's own
needs torchvision, outside the benchmark extra): the same 515 layers, conv, batch norm, relu and
the residual adds. One import is what the command does after loading the target: trace with
torch.fx, the shape run, the mapping, the spec checked against torch's shapes, the YAML written.
torchinfo.summary and fvcore's FlopCountAnalysis on the same module run beside it, each reading
the module from nothing as the import does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .run import Timing, ms, quiet, run_fvcore, run_torchinfo, timed

NET = "resnet152"
INPUT = (3, 224, 224)
TARGET_S = 2.0  # importing resnet152, torch already imported, best of the runs


def import_speed(runs: int, tool_runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Best and median of `runs` whole imports, with each stage's best and the tools' times."""
    from archcalc import load_spec
    from archcalc.importing.fx_read import read_module
    from archcalc.importing.shape_check import checked_analysis
    from archcalc.importing.spec_text import spec_yaml
    from archcalc.importing.structure import readable_spec
    from archcalc.verify.build import build_model

    module = build_model(load_spec(NET)).eval()

    def whole() -> str:
        traced = read_module(module, INPUT, NET)
        text = spec_yaml(readable_spec(traced)[0], [])
        checked_analysis(traced, text)
        return text

    total, _ = timed(whole, runs)
    read, traced = timed(lambda: read_module(module, INPUT, NET), runs)
    write, text = timed(lambda: spec_yaml(readable_spec(traced)[0], []), runs)
    check, _ = timed(lambda: checked_analysis(traced, text), runs)
    tools: dict[str, Timing] = {}
    for name, tool in (("torchinfo", run_torchinfo), ("fvcore", run_fvcore)):
        with quiet():
            tools[name], _ = timed(partial(tool, module, INPUT), tool_runs)
    log(
        f"  import {NET}: {ms(total.best)} (median {ms(total.median)}; read {ms(read.best)}, check {ms(check.best)}, "
        f"write {ms(write.best)}); torchinfo {ms(tools['torchinfo'].best)}, fvcore {ms(tools['fvcore'].best)}"
    )
    return {"layers": len(traced.layers), "total": total, "read": read, "check": check, "write": write, "tools": tools}


def target(result: dict[str, Any]) -> tuple[str, str, bool]:
    total: Timing = result["total"]
    return (
        f"`archcalc import` of {NET} (torch imported) under {TARGET_S} s (best of {len(total.wall)} runs)",
        f"{ms(total.best)} (median {ms(total.median)}, CPU median {ms(total.cpu_median)})",
        total.best < TARGET_S,
    )


def markdown(result: dict[str, Any]) -> list[str]:
    total: Timing = result["total"]
    tools: dict[str, Timing] = result["tools"]
    rows = [
        ("archcalc import: the whole", total),
        ("read (torch.fx trace, shape run, mapping)", result["read"]),
        ("check (spec loaded, analysed, shapes compared)", result["check"]),
        ("write (the readable spec, nested with templates, as YAML)", result["write"]),
        ("torchinfo.summary", tools["torchinfo"]),
        ("fvcore FlopCountAnalysis (by_module, total)", tools["fvcore"]),
    ]
    return [
        f"## Import: {NET} read into a spec",
        "",
        __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        f"{result['layers']:,} layers at {'x'.join(map(str, INPUT))}. × is the time over the whole import's.",
        "",
        "| what | runs | best | median | × |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {what} | {len(t.wall)} | {ms(t.best)} | {ms(t.median)} | {t.best / total.best:,.2f}x |"
            for what, t in rows
        ],
        "",
    ]
