"""Breakdown -> JSON: `archcalc shapes --json`'s document plus depth, shares by kind and measured figures."""

from __future__ import annotations

from typing import Any

from ..analysis_view import analysis_dict
from ..breakdown import Breakdown, Measured
from ..encode import json_text
from ..measured_run import MeasuredRun
from ..peaks import families_json
from . import Format


def _run(run: MeasuredRun) -> dict[str, Any]:
    """bench's run as read: each batch's (or layer's) FLOPs beside archcalc's, and whether they match."""
    return {
        "from": run.command,
        "device": run.device,
        "device_name": run.device_name,
        "dtype": run.dtype,
        "mode": run.mode,
        "settings": dict(run.settings),
        "peak": {
            "flops_per_s": run.peak.flops_per_s,
            "bytes_per_s": run.peak.bytes_per_s,
            "source": run.peak.source,
            "families": families_json(run.peak.families),
        },
        "memory_measure": run.memory_measure,
        "batches": [
            {
                "batch": b.batch,
                "iters": b.iters,
                "median_ms": b.median_ms,
                "p95_ms": b.p95_ms,
                "images_per_s": b.images_per_s,
                "achieved_tflops": b.achieved_tflops,
                "achieved_over_peak": b.achieved_over_peak,
                "compute_bound_s": b.compute_bound_s,
                "peak_memory_bytes": b.peak_memory_bytes,
                "flops": b.flops,
                "static_flops": b.static_flops,
                "flops_match": b.flops_match,
            }
            for b in run.batches
        ],
        "layer_batch": run.layer_batch,
        "layers": [
            {
                "path": layer.path,
                "measured_s": layer.measured_s,
                "bound_s": layer.bound_s,
                "efficiency": layer.efficiency,
                "flops": layer.flops,
                "static_flops": layer.static_flops,
                "flops_match": layer.flops_match,
            }
            for layer in run.layers
        ],
    }


def _measured(m: Measured) -> dict[str, Any]:
    def figures(items):
        return [
            {"key": f.key, "measured": f.measured, "static": f.static, "delta": f.delta, "match": f.matches}
            for f in items
        ]

    return {
        "source": m.source,
        "tool": m.tool,
        "totals": figures(m.totals),
        "layers": [{"path": path, "figures": figures(items)} for path, items in m.layers],
        "unmatched_layers": list(m.unmatched_layers),
        "run": _run(m.run) if m.run is not None else None,
    }


def document(r: Breakdown) -> dict[str, Any]:
    data = analysis_dict(r.analysis, r.memory, r.counted)
    data["summary"] = {"depth": r.depth, "depth_counts": "layers that multiply-accumulate (conv, linear)"}
    data["by_kind"] = [
        {
            "kind": k.kind,
            "layers": k.layers,
            "units": k.totals.units,
            "params": k.totals.params,
            # unknown (null) for a kind holding an opaque layer, as the layer's own row says
            "connections": None if k.opaque else k.totals.connections,
            "macs": None if k.opaque else k.totals.macs,
        }
        for k in r.by_kind
    ]
    data["leaders"] = [{"quantity": x.quantity, "kind": x.kind, "value": x.value, "total": x.total} for x in r.leaders]
    data["measured"] = _measured(r.measured) if r.measured is not None else None
    return data


def report(r: Breakdown, chart_file: str | None) -> str:
    return json_text(document(r)) + "\n"


def index(reports: list[Breakdown], files: dict[str, str]) -> str:
    entries = [
        {
            "name": r.name,
            "family": r.analysis.spec.family,
            "title": r.analysis.spec.title,
            "input_shape": list(r.analysis.input_shape),
            "depth": r.depth,
            "params": r.analysis.totals.params,
            "macs": r.analysis.totals.macs,
            "units": r.analysis.totals.units,
            "file": files[r.name],
        }
        for r in sorted(reports, key=lambda r: (r.analysis.spec.family, r.name))
    ]
    return json_text({"reports": entries}) + "\n"


FORMAT = Format(name="json", extension="json", report=report, index=index)
