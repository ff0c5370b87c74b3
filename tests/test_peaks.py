"""Per-family peaks (issue 17, point 1): the rule that picks each op family's peak from the device
table, reading torch's TF32 settings (fake torch objects for each API generation, and the real
torch under each setting, restored after), the probe of a GPU the table lacks (run on "cpu", the
same code path, and on the fake CUDA clock), and the `roofline` flags."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from archcalc import analyze, load_spec
from archcalc.cli import main
from archcalc.devices import DEVICES
from archcalc.peaks import (
    TORCH_DEFAULTS,
    Fp32Math,
    assumed_fp32_math,
    compute_seconds,
    macs_by_family,
    main_family,
    table_peaks,
)
from archcalc.throughput.precision import cudnn_benchmark_as, fp32_math_of, matmul_tf32_off
from archcalc.throughput.probe import ProbeSizes, best_seconds, probe_peaks
from archcalc.training import backward_macs

from .helpers import spec_text
from .test_roofline import FakeCuda

ON = Fp32Math(True, True, "conv setting", "matmul setting")
OFF = Fp32Math(False, False, "conv setting", "matmul setting")

# ---- the rule: which peak each family meets on a table device -----------------------------------


def _tflops(key: str, dtype: str) -> float:
    return DEVICES[key].tflops[dtype]  # the datasheet figures are the test data


@pytest.mark.parametrize(
    ("key", "dtype", "fp32_math", "expected"),
    [
        # torch's defaults at fp32: cuDNN in TF32, cuBLAS in fp32, the rest fp32 (issue 17's H100 case)
        (
            "h100",
            "fp32",
            TORCH_DEFAULTS,
            {"conv": ("tf32", "tf32"), "matmul": ("fp32", "fp32"), "other": ("fp32", "fp32")},
        ),
        ("a100", "fp32", ON, {"conv": ("tf32", "tf32"), "matmul": ("tf32", "tf32"), "other": ("fp32", "fp32")}),
        ("l40s", "fp32", OFF, {"conv": ("fp32", "fp32"), "matmul": ("fp32", "fp32"), "other": ("fp32", "fp32")}),
        # no TF32 before Ampere: the setting changes nothing
        ("v100", "fp32", ON, {"conv": ("fp32", "fp32"), "matmul": ("fp32", "fp32"), "other": ("fp32", "fp32")}),
        # MIOpen ignores the TF32 setting for convolutions; ROCm matmuls follow theirs
        ("mi300x", "fp32", ON, {"conv": ("fp32", "fp32"), "matmul": ("tf32", "tf32"), "other": ("fp32", "fp32")}),
        # bf16 and fp16: every family at the dtype's tensor-core peak, whatever the TF32 settings
        ("h100", "bf16", ON, {"conv": ("bf16", "bf16"), "matmul": ("bf16", "bf16"), "other": ("bf16", "bf16")}),
        ("t4", "fp16", OFF, {"conv": ("fp16", "fp16"), "matmul": ("fp16", "fp16"), "other": ("fp16", "fp16")}),
    ],
    ids=[
        "h100-fp32-defaults",
        "a100-fp32-tf32",
        "l40s-fp32-ieee",
        "v100-no-tf32",
        "mi300x-convs",
        "h100-bf16",
        "t4-fp16",
    ],
)
def test_each_family_meets_the_peak_its_math_runs_at(key, dtype, fp32_math, expected):
    peaks = table_peaks(DEVICES[key], dtype, fp32_math)
    got = {f.family: (f.math, f.flops_per_s) for f in peaks.families}
    want = {family: (math, _tflops(key, column) * 1e12) for family, (math, column) in expected.items()}
    assert got == want
    assert peaks.bytes_per_s == DEVICES[key].bandwidth_gbs * 1e9 and peaks.source == DEVICES[key].source


def test_why_names_the_setting_read():
    peaks = table_peaks(DEVICES["h100"], "fp32", Fp32Math(True, False, "S-conv", "S-matmul"))
    assert peaks.of("conv").why == "TF32 on: S-conv" and peaks.of("matmul").why == "TF32 off: S-matmul"
    assert "has no TF32" in table_peaks(DEVICES["t4"], "fp32", ON).of("conv").why
    assert "in fp32" in table_peaks(DEVICES["mi300x"], "fp32", ON).of("conv").why


def test_every_tensor_core_gpu_with_bf16_has_a_tf32_peak():
    for row in DEVICES.values():
        if "bf16" in row.tflops:
            assert row.has_tf32 and row.tflops["fp32"] <= row.tflops["tf32"] <= row.tflops["bf16"], row.key


@pytest.mark.parametrize(
    ("convs", "matmuls", "expected"),
    [
        (None, None, (True, False)),  # torch's defaults
        (False, None, (False, False)),
        (None, True, (True, True)),
        (False, True, (False, True)),
    ],
    ids=["defaults", "no-tf32-convs", "tf32-matmuls", "both"],
)
def test_assumed_fp32_math_follows_the_flags(convs, matmuls, expected):
    m = assumed_fp32_math(convs, matmuls)
    assert (m.conv_tf32, m.matmul_tf32) == expected
    assert ("torch's default" in m.conv_setting) == (convs is None)
    assert ("torch's default" in m.matmul_setting) == (matmuls is None)


SPECS = {
    "lenet5": lambda: analyze(load_spec("lenet5")),
    "resnet18@32": lambda: analyze(load_spec("resnet18").with_input((3, 32, 32))),
    "alexnet@96": lambda: analyze(load_spec("alexnet").with_input((3, 96, 96))),
}


@pytest.mark.parametrize("name", SPECS)
def test_family_macs_sum_to_the_totals(name):
    analysis = SPECS[name]()
    forward = macs_by_family(analysis.rows)
    assert sum(forward.values()) == analysis.totals.macs, (forward, analysis.totals.macs)
    backward = {b.path: b.total for b in backward_macs(analysis)}
    step = macs_by_family(analysis.rows, backward)
    assert sum(step.values()) == analysis.totals.macs + sum(backward.values())


def test_compute_bound_holds_each_family_to_its_own_peak():
    peaks = table_peaks(DEVICES["h100"], "fp32")
    work = {"conv": 10**15, "matmul": 3 * 10**14, "other": 0}
    conv, matmul = peaks.flops_per_s("conv"), peaks.flops_per_s("matmul")
    assert compute_seconds(work, peaks) == pytest.approx(10**15 / conv + 3 * 10**14 / matmul)
    assert main_family(work) == "conv" and main_family({"matmul": 1}) == "matmul"


# ---- reading torch's settings: fake torch objects -------------------------------------------------


def _raises(message: str) -> Callable[[], Any]:
    def get() -> Any:
        raise RuntimeError(message)

    return get


class Settings:
    """An object whose attributes are read through getters (a value, or a getter that raises)."""

    def __init__(self, **values: Any) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            value = self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None
        return value() if callable(value) and not isinstance(value, Settings) else value


def fake_torch(
    *, conv: Any = None, cudnn_all: Any = None, generic: Any = None, matmul: Any = None, legacy: dict[str, Any]
) -> SimpleNamespace:
    """A torch with the new API where a value is given (None: the attribute is missing), and the
    legacy flags in `legacy` (cudnn, matmul, precision; a missing key: missing)."""
    cudnn = {"allow_tf32": legacy["cudnn"]} if "cudnn" in legacy else {}
    if conv is not None:
        cudnn["conv"] = Settings(fp32_precision=conv)
    if cudnn_all is not None:
        cudnn["fp32_precision"] = cudnn_all
    mm = {"allow_tf32": legacy["matmul"]} if "matmul" in legacy else {}
    if matmul is not None:
        mm["fp32_precision"] = matmul
    backends = {"cudnn": Settings(**cudnn), "cuda": Settings(matmul=Settings(**mm))}
    if generic is not None:
        backends["fp32_precision"] = generic
    precision = legacy.get("precision", _raises("no precision"))
    return SimpleNamespace(backends=Settings(**backends), get_float32_matmul_precision=lambda: precision())


LEGACY_DEFAULTS = {"cudnn": True, "matmul": False, "precision": lambda: "highest"}
MIXED = {"cudnn": _raises("cuDNN conv and RNN differ"), "matmul": _raises("allow_tf32_new"), "precision": _raises("x")}


@pytest.mark.parametrize(
    ("torch", "conv", "matmul"),
    [
        # torch before 2.9: the legacy flags only
        (fake_torch(legacy=LEGACY_DEFAULTS), (True, "torch.backends.cudnn.allow_tf32 = True"), None),
        (
            fake_torch(legacy={"cudnn": False, "matmul": True}),
            (False, "torch.backends.cudnn.allow_tf32 = False"),
            (True, "torch.backends.cuda.matmul.allow_tf32 = True"),
        ),
        # matmul.allow_tf32 unreadable: get_float32_matmul_precision() decides ("high" means TF32)
        (
            fake_torch(legacy={"cudnn": True, "matmul": _raises("mixed"), "precision": lambda: "high"}),
            None,
            (True, "torch.get_float32_matmul_precision() = 'high'"),
        ),
        # the new API: the op's own value when it says tf32 or ieee
        (
            fake_torch(conv="tf32", cudnn_all="none", generic="none", matmul="ieee", legacy=LEGACY_DEFAULTS),
            (True, "torch.backends.cudnn.conv.fp32_precision = 'tf32'"),
            (False, "torch.backends.cuda.matmul.fp32_precision = 'ieee'"),
        ),
        # "none" inherits: the CUDA backend's value, then the generic one
        (
            fake_torch(conv="none", cudnn_all="ieee", generic="tf32", matmul="none", legacy=MIXED),
            (False, "torch.backends.cudnn.conv.fp32_precision = 'none', torch.backends.cudnn.fp32_precision = 'ieee'"),
            (False, "torch.backends.cuda.matmul.fp32_precision = 'none', torch.backends.cudnn.fp32_precision = 'ieee'"),
        ),
        (
            fake_torch(conv="none", cudnn_all="none", generic="tf32", matmul="none", legacy=MIXED),
            (True, "torch.backends.fp32_precision = 'tf32'"),
            (True, "torch.backends.fp32_precision = 'tf32'"),
        ),
        # "none" all the way up: IEEE (torch runs TF32 only where the value is "tf32")
        (
            fake_torch(conv="none", cudnn_all="none", generic="none", matmul="none", legacy=MIXED),
            (False, "no level says 'tf32'"),
            (False, "no level says 'tf32'"),
        ),
        # mixed APIs: the new one read, the legacy flags that raise never touched
        (
            fake_torch(conv="ieee", cudnn_all="none", generic="none", matmul="tf32", legacy=MIXED),
            (False, "conv.fp32_precision = 'ieee'"),
            (True, "matmul.fp32_precision = 'tf32'"),
        ),
        # a new-API getter that raises: the legacy flag answers
        (
            fake_torch(conv=_raises("odd"), matmul=_raises("odd"), legacy={"cudnn": False, "matmul": True}),
            (False, "torch.backends.cudnn.allow_tf32 = False"),
            (True, "torch.backends.cuda.matmul.allow_tf32 = True"),
        ),
        # nothing readable: torch's defaults, said plainly
        (fake_torch(legacy=MIXED), (True, "unreadable"), (False, "unreadable")),
    ],
    ids=[
        "legacy-defaults",
        "legacy-flipped",
        "legacy-precision-fallback",
        "new-own-values",
        "new-inherit-cuda",
        "new-inherit-generic",
        "new-all-none",
        "mixed",
        "new-api-raises",
        "unreadable",
    ],
)
def test_fp32_math_of_fake_torch(torch, conv, matmul):
    """Each expectation is (TF32 allowed, text the setting says); None: not the case's point."""
    got = fp32_math_of(torch)
    if conv is not None:
        assert (got.conv_tf32, conv[1] in got.conv_setting) == (conv[0], True), got
    if matmul is not None:
        assert (got.matmul_tf32, matmul[1] in got.matmul_setting) == (matmul[0], True), got


def test_fp32_math_of_fake_torch_reads_defaults():
    got = fp32_math_of(fake_torch(legacy=LEGACY_DEFAULTS))
    assert (got.conv_tf32, got.matmul_tf32) == (True, False)
    assert got.matmul_setting == "torch.backends.cuda.matmul.allow_tf32 = False"


# ---- reading torch's settings: the real torch, each setting made and undone ------------------------


def _settings_snapshot(torch: Any) -> dict[str, Any]:
    """Every getter of both APIs, or the exception type it raises (mixed APIs raise)."""
    backends = torch.backends
    getters = {
        "generic": lambda: backends.fp32_precision,
        "cudnn": lambda: backends.cudnn.fp32_precision,
        "conv": lambda: backends.cudnn.conv.fp32_precision,
        "matmul": lambda: backends.cuda.matmul.fp32_precision,
        "cudnn.allow_tf32": lambda: backends.cudnn.allow_tf32,
        "matmul.allow_tf32": lambda: backends.cuda.matmul.allow_tf32,
        "precision": torch.get_float32_matmul_precision,
        "benchmark": lambda: backends.cudnn.benchmark,
    }
    snapshot: dict[str, Any] = {}
    for name, get in getters.items():
        try:
            snapshot[name] = get()
        except (RuntimeError, AttributeError) as err:
            snapshot[name] = type(err).__name__
    return snapshot


@pytest.fixture
def real_torch() -> Iterator[Any]:
    """The installed torch, its settings checked unchanged after the test."""
    torch = pytest.importorskip("torch")
    if not hasattr(torch.backends.cudnn, "conv"):
        pytest.skip("this torch has no fp32_precision API (torch < 2.9)")
    before = _settings_snapshot(torch)
    yield torch
    assert _settings_snapshot(torch) == before, "the test left torch's settings changed"


def _in_fork(work: Callable[[], Any]) -> Any:
    """`work()` in a forked copy of this process: a setting made there cannot leak into the other
    tests (torch's fresh per-op state, "DEFAULT", cannot be set back from Python)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork")
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send(("ok", work()))
        except BaseException as err:  # noqa: BLE001 - any failure goes back to the test
            send.send(("error", repr(err)))

    process = context.Process(target=child)
    process.start()
    assert receive.poll(60), "the forked check did not answer"
    status, value = receive.recv()
    process.join()
    assert status == "ok", value
    return value


def _set(path: str, value: Any) -> Callable[[Any], None]:
    def apply(torch: Any) -> None:
        *owner, name = path.split(".")
        target = torch
        for part in owner:
            target = getattr(target, part)
        setattr(target, name, value)

    return apply


@pytest.mark.parametrize(
    ("change", "conv", "matmul"),
    [
        (None, (True, "'tf32'"), (False, "no level says 'tf32'")),  # torch's defaults
        (_set("backends.cudnn.allow_tf32", False), (False, "conv.fp32_precision = 'none'"), None),
        (_set("backends.cuda.matmul.allow_tf32", True), None, (True, "matmul.fp32_precision = 'tf32'")),
        (lambda torch: torch.set_float32_matmul_precision("high"), None, (True, "'tf32'")),
        (_set("backends.cudnn.conv.fp32_precision", "ieee"), (False, "conv.fp32_precision = 'ieee'"), None),
        (_set("backends.cuda.matmul.fp32_precision", "tf32"), (True, "'tf32'"), (True, "'tf32'")),
        # the generic switch: legacy matmul.allow_tf32 raises now, and the reading still answers
        (_set("backends.fp32_precision", "tf32"), (True, "'tf32'"), (True, "'tf32'")),
        # the CUDA backend's value reaches an op still at torch's fresh state
        (_set("backends.cudnn.fp32_precision", "ieee"), (False, "'ieee'"), (False, "'ieee'")),
        # ... but not one the legacy flag has set since: cudnn.allow_tf32 = True writes the conv's own value
        (
            lambda torch: (
                _set("backends.cudnn.allow_tf32", True)(torch),
                _set("backends.cudnn.fp32_precision", "ieee")(torch),
            ),
            (True, "conv.fp32_precision = 'tf32'"),
            (False, "'ieee'"),
        ),
    ],
    ids=[
        "defaults",
        "legacy-cudnn-off",
        "legacy-matmul-on",
        "precision-high",
        "conv-ieee",
        "matmul-tf32",
        "generic-tf32",
        "cuda-ieee",
        "legacy-then-cuda-ieee",
    ],
)
def test_fp32_math_of_real_torch(real_torch, change, conv, matmul):
    def read() -> Fp32Math:
        if change is not None:
            change(real_torch)
        return fp32_math_of(real_torch)

    got = _in_fork(read)
    if conv is not None:
        assert (got.conv_tf32, conv[1] in got.conv_setting) == (conv[0], True), got
    if matmul is not None:
        assert (got.matmul_tf32, matmul[1] in got.matmul_setting) == (matmul[0], True), got


@pytest.mark.parametrize(
    "change",
    [None, lambda torch: torch.set_float32_matmul_precision("high"), _set("backends.fp32_precision", "tf32")],
    ids=["defaults", "precision-high", "generic-tf32"],
)
def test_matmul_tf32_off_restores_the_setting(real_torch, change):
    def check() -> tuple[bool, dict[str, Any], dict[str, Any]]:
        if change is not None:
            change(real_torch)
        before = _settings_snapshot(real_torch)
        with matmul_tf32_off(real_torch):
            inside = fp32_math_of(real_torch).matmul_tf32
        return inside, before, _settings_snapshot(real_torch)

    inside, before, after = _in_fork(check)
    assert not inside and after == before, (before, after)


def test_cudnn_benchmark_is_restored_also_on_error(real_torch):
    with cudnn_benchmark_as(real_torch, True):
        assert real_torch.backends.cudnn.benchmark is True
    assert real_torch.backends.cudnn.benchmark is False
    with pytest.raises(ZeroDivisionError), cudnn_benchmark_as(real_torch, True):
        1 / 0  # noqa: B018 - the error the setting must survive
    assert real_torch.backends.cudnn.benchmark is False


# ---- the probe of a device the table lacks ----------------------------------------------------------

TINY = ProbeSizes(matmul=64, conv_batch=1, conv_channels=8, conv_size=8, copy_bytes=1 << 16)


@pytest.mark.parametrize(
    ("dtype", "fp32_math", "other_why"),
    [
        ("fp32", ON, "matmul with TF32 off"),  # TF32 matmuls allowed: the rest measured with it off
        ("fp32", OFF, "fp32 matmul figure"),  # the matmul probe already ran in IEEE fp32
        ("bf16", ON, "the bf16 matmul figure"),
    ],
    ids=["fp32-tf32-matmuls", "fp32-ieee", "bf16"],
)
def test_probe_measures_every_family_on_cpu(real_torch, dtype, fp32_math, other_why):
    before = _settings_snapshot(real_torch)
    peaks = probe_peaks(real_torch, "cpu", dtype, fp32_math, "a device", seconds=0.01, sizes=TINY)
    assert [f.family for f in peaks.families] == ["conv", "matmul", "other"]
    assert all(f.flops_per_s > 0 and f.why.startswith("measured: ") for f in peaks.families)
    assert all(f.math == dtype for f in peaks.families), "the CPU has no TF32"
    assert other_why in peaks.of("other").why and peaks.bytes_per_s > 0 and "measured on the device" in peaks.source
    if "figure" in other_why:
        assert peaks.flops_per_s("other") == peaks.flops_per_s("matmul")
    assert _settings_snapshot(real_torch) == before


def test_probe_times_with_the_cuda_clock():
    """On a "cuda" device string the probe's loop runs on CUDA events (the fake module of
    test_roofline): the best run is kept, and the loop stops near the time asked."""
    cuda = FakeCuda()
    durations = iter([4.0, 4.0, 3.0, 5.0] + [4.0] * 100)  # ms: warm-up, sizing run, then the loop

    def step():
        cuda.clock[0] += next(durations)

    best = best_seconds(step, "cuda", seconds=0.012, cuda=cuda)
    assert best == 0.003
    assert cuda.log.count("record") == 2 * (1 + 3), cuda.log  # the sizing run and 0.012 s / 4 ms runs


def test_device_peaks_reads_the_table_or_probes():
    from archcalc.throughput.run import BenchError, device_peaks

    probed: list[tuple[str, str, str]] = []

    def probe(torch, device, dtype, fp32_math, name):
        probed.append((device, dtype, name))
        return table_peaks(DEVICES["l4"], "fp16", fp32_math)  # any Peaks: what matters is who answers

    def torch_on(name: str) -> SimpleNamespace:
        torch = fake_torch(legacy={"cudnn": True, "matmul": True})
        torch.cuda = SimpleNamespace(get_device_name=lambda device: name)
        return torch

    table = device_peaks(torch_on("NVIDIA H100 80GB HBM3"), "cuda", "fp32", probe)
    assert table.name == "NVIDIA H100 SXM" and table.of("matmul").math == "tf32" and not probed
    assert "torch.backends.cuda.matmul.allow_tf32 = True" in table.of("matmul").why
    device_peaks(torch_on("NVIDIA GeForce GTX 1080 Ti"), "cuda", "fp32", probe)
    with pytest.raises(BenchError, match="NVIDIA V100 SXM2 has no bf16 peak.*torch would emulate it"):
        device_peaks(torch_on("NVIDIA V100-SXM2-16GB"), "cuda:1", "bf16", probe)  # no bf16 hardware
    assert probed == [("cuda", "fp32", "NVIDIA GeForce GTX 1080 Ti")]


# ---- roofline's flags -------------------------------------------------------------------------------


def _roofline(runner, *args: str) -> Any:
    result = runner.invoke(main, ["roofline", "resnet18", "--input", "32", *args], catch_exceptions=False)
    return result


@pytest.mark.parametrize(
    ("args", "conv", "matmul"),
    [
        (["--dtype", "fp32"], ("tf32", "tf32"), ("fp32", "fp32")),
        (["--dtype", "fp32", "--no-tf32-convs"], ("fp32", "fp32"), ("fp32", "fp32")),
        (["--dtype", "fp32", "--tf32-matmuls"], ("tf32", "tf32"), ("tf32", "tf32")),
        (["--dtype", "bf16"], ("bf16", "bf16"), ("bf16", "bf16")),
    ],
    ids=["fp32-defaults", "no-tf32-convs", "tf32-matmuls", "bf16"],
)
def test_roofline_json_peaks_per_family(runner, args, conv, matmul):
    data = json.loads(_roofline(runner, "--device", "a100", *args, "--json").output)
    peaks = {p["family"]: p for p in data["peaks"]}
    for family, (math, column) in (("conv", conv), ("matmul", matmul)):
        flops = _tflops("a100", column) * 1e12
        assert (peaks[family]["math"], peaks[family]["flops_per_s"]) == (math, flops), peaks[family]
        assert peaks[family]["ridge_flops_per_byte"] == pytest.approx(flops / 2039e9)
    # resnet18's FLOPs are almost all convolutions: the single figures are the conv family's
    assert data["peak_flops_per_s_family"] == "conv" and data["peak_flops_per_s"] == peaks["conv"]["flops_per_s"]
    assert data["ridge_flops_per_byte"] == peaks["conv"]["ridge_flops_per_byte"]


def test_roofline_text_prints_each_family_used_and_why(runner):
    result = _roofline(runner, "--device", "h100", "--dtype", "fp32", "--columns", "layer,bound")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "convolutions: TF32 494.7 TFLOP/s (TF32 on: torch.backends.cudnn.allow_tf32 = True, torch's default)" in text
    assert "matmuls: FP32 67.0 TFLOP/s (TF32 off:" in text and "ridge 148 FLOP/byte" in text
    assert "other ops" not in text, "resnet18 does no multiply-adds outside convolutions and matmuls"


@pytest.mark.parametrize("flag", ["--tf32-convs", "--no-tf32-matmuls"])
def test_roofline_refuses_tf32_flags_below_fp32(runner, flag):
    result = runner.invoke(main, ["roofline", "lenet5", "--dtype", "bf16", flag])
    assert result.exit_code == 2 and f"{flag} applies at fp32 only" in result.output, result.output


def test_a_probe_that_fails_is_one_clear_error():
    from archcalc.throughput.run import BenchError, device_peaks

    def probe(torch, device, dtype, fp32_math, name):
        raise RuntimeError("CUDA out of memory. Tried to allocate 1.00 GiB\nstack details")

    torch = fake_torch(legacy=LEGACY_DEFAULTS)
    torch.cuda = SimpleNamespace(get_device_name=lambda device: "NVIDIA GeForce GTX 1650")
    with pytest.raises(BenchError) as err:
        device_peaks(torch, "cuda", "fp32", probe)
    message = str(err.value)
    assert "NVIDIA GeForce GTX 1650 has no row" in message and "Tried to allocate 1.00 GiB" in message, message
    assert "stack details" not in message


def test_roofline_single_figures_follow_the_family_with_most_flops(runner, tmp_path):
    mlp = tmp_path / "mlp.yaml"
    mlp.write_text(
        spec_text("- conv: {out: 2, kernel: 1}\n- flatten\n- linear: {out: 512}\n- relu\n- linear: {out: 10}")
    )
    data = json.loads(
        runner.invoke(main, ["roofline", str(mlp), "--dtype", "fp32", "--json"], catch_exceptions=False).output
    )
    matmul = next(p for p in data["peaks"] if p["family"] == "matmul")
    assert data["peak_flops_per_s_family"] == "matmul" and data["peak_flops_per_s"] == matmul["flops_per_s"]
    assert matmul["flops_per_s"] == _tflops("h100", "fp32") * 1e12  # fp32 matmuls: TF32 off by torch's default


def test_matmul_tf32_off_on_a_legacy_torch():
    torch = fake_torch(legacy={"cudnn": True, "matmul": True})
    with matmul_tf32_off(torch):
        inside = fp32_math_of(torch)
    after = fp32_math_of(torch)
    assert (inside.matmul_tf32, after.matmul_tf32) == (False, True)
    assert after.matmul_setting == "torch.backends.cuda.matmul.allow_tf32 = True"


def test_cpu_half_precision_peak_is_the_faster_of_its_matmul_and_fp32s(monkeypatch):
    """A CPU that emulates fp16 matmuls slowly runs its fp16 convolutions faster than that: the
    ceiling is the faster path, or the layers would beat their "peak"."""
    import torch

    from archcalc.throughput import run

    seconds = {torch.float16: 1.0, torch.float32: 0.01}  # fp16's matmul 100x slower than fp32's
    monkeypatch.setattr(run, "copy_bytes_per_s", lambda *args: 1e9)

    def timed(step, device, budget):
        captured = step.__closure__  # the matmul's operands: their dtype says which probe runs
        a = next(c.cell_contents for c in captured if isinstance(c.cell_contents, torch.Tensor))
        return seconds[a.dtype]

    monkeypatch.setattr(run, "best_seconds", timed)
    fp16, fp32 = run.cpu_probe(torch, "fp16", n=8), run.cpu_probe(torch, "fp32", n=8)
    assert fp16.flops_per_s("conv") == fp32.flops_per_s("conv") == 2 * 8**3 / 0.01
    assert "the faster of fp16 and fp32" in fp16.of("conv").why and "faster" not in fp32.of("conv").why
