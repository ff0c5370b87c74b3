"""`archcalc verify SPEC --against TARGET`: a spec and the nn.Module it describes (both here) agree,
exit 0; each kind of divergence (a kernel size, a missing or an extra layer, an extra buffer, an
output shape) is exit 1, its first message naming the layer, the spec's line and both values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archcalc.cli import main

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

TARGET = "tests.test_verify_against:SmallNet"

SPEC = """\
name: small
input: [3, 16, 16]
layers:
  - conv: {name: conv1, out: 8, kernel: 3, padding: 1, bias: false}
  - batchnorm: {name: bn1}
  - relu: {name: relu}
  - conv: {name: conv2, out: 8, kernel: 3, padding: 1}
  - relu: {name: relu_1}
  - maxpool: {name: pool, kernel: 2, stride: 2}
  - flatten
  - linear: {name: fc, out: 10}
"""
BN1_LINE, CONV2_LINE = 5, 7  # the lines of bn1 and conv2 in SPEC
POOL_LINE = 9

# the same network with the names archcalc gives unnamed layers: paired with SmallNet in order
SPEC_UNNAMED = """\
name: small_unnamed
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, bias: false}
  - batchnorm
  - relu
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
  - maxpool: {kernel: 2, stride: 2}
  - flatten
  - linear: {out: 10}
"""


class SmallNet(torch.nn.Module):
    """SPEC in PyTorch; each argument makes one kind of divergence from it. One `relu` module is
    called twice: the spec's `relu` and `relu_1` rows are its two calls."""

    def __init__(
        self,
        kernel: int = 3,
        conv2: bool = True,
        conv3: bool = False,
        buffer: bool = False,
        pool: int = 2,
        untraceable: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.relu = torch.nn.ReLU()
        self.conv2 = torch.nn.Conv2d(8, 8, kernel, padding=kernel // 2) if conv2 else None
        self.conv3 = torch.nn.Conv2d(8, 8, 1) if conv3 else None
        if buffer:
            self.bn1.register_buffer("scale", torch.ones(8))
        self.pool = torch.nn.MaxPool2d(pool, stride=pool)
        self.fc = torch.nn.Linear(8 * (16 // pool) ** 2, 10)
        self.untraceable = untraceable  # a forward that refuses torch.jit tracing, which fvcore counts by

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print("SmallNet.forward")  # user code that prints: never on verify's standard output
        x = self.relu(self.bn1(self.conv1(x)))
        for conv in (self.conv2, self.conv3):
            x = x if conv is None else conv(x)
        x = self.relu(x)
        if self.untraceable and torch.jit.is_tracing():
            raise RuntimeError("this forward cannot be traced")
        return self.fc(torch.flatten(self.pool(x), 1))


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SPEC)
    return path


def run(runner, spec: Path, kwargs: dict | None = None, *more: str):
    args = ["verify", str(spec), "--against", TARGET, "--width", "1000", *more]
    if kwargs is not None:
        args += ["--kwargs", json.dumps(kwargs)]
    return runner.invoke(main, args, catch_exceptions=False)


@pytest.mark.parametrize("text", [SPEC, SPEC_UNNAMED], ids=["by-name", "in-order"])
def test_matching_module_agrees(runner, tmp_path: Path, text: str) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    result = run(runner, spec, None, "--json")
    assert result.exit_code == 0, result.output
    assert "SmallNet.forward" in result.stderr, "the target's print goes to standard error"
    data = json.loads(result.stdout)
    paired = {p["row"]: p["module"] for p in data["pairs"]}
    assert (paired["conv2"], data["ok"], data["divergences"]) == ("conv2", True, []), data
    if text is SPEC:  # the module called twice: its second call is the row relu_1
        assert [(p["module"], p["call"]) for p in data["pairs"] if p["row"].startswith("relu")] == [
            ("relu", 0),
            ("relu", 1),
        ]
    else:
        assert (paired["batchnorm1"], paired["linear1"]) == ("bn1", "fc"), paired


def test_text_output_agrees(runner, spec_file: Path) -> None:
    result = run(runner, spec_file)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"small: agrees with {TARGET}", result.output


@pytest.mark.parametrize(
    ("kwargs", "line", "words"),
    [
        (
            {"kernel": 5},
            CONV2_LINE,
            "layer 'conv2' (conv) vs the target's 'conv2' (Conv2d): parameter shapes: "
            "spec weight [8, 8, 3, 3], bias [8] vs target weight [8, 8, 5, 5], bias [8]",
        ),
        ({"conv2": False}, CONV2_LINE, "layer 'conv2' (conv) has no counterpart in the target"),
        ({"conv3": True}, None, "the target's module 'conv3' (Conv2d) has no row in the spec"),
        (
            {"buffer": True},  # running mean and variance 8 each and the batch counter, then 8 more
            BN1_LINE,
            "layer 'bn1' (batchnorm) vs the target's 'bn1' (BatchNorm2d): buffer elements: spec 17 vs target 25",
        ),
        (
            {"pool": 4},
            POOL_LINE,
            "layer 'pool' (maxpool) vs the target's 'pool' (MaxPool2d): output shape: spec [8, 8, 8] vs target [8, 4, 4]",
        ),
    ],
    ids=["kernel-size", "missing-layer", "extra-layer", "extra-buffer", "output-shape"],
)
def test_divergence(runner, spec_file: Path, kwargs: dict, line: int | None, words: str) -> None:
    result = run(runner, spec_file, kwargs)
    assert result.exit_code == 1, result.output
    first = result.stdout.splitlines()[0]
    where = f"{spec_file}:{line}:5: " if line else ""  # column 5: the layer's kind key
    assert first == f"first divergence: {where}{words}", result.output
    data = json.loads(run(runner, spec_file, kwargs, "--json").stdout)
    assert (data["ok"], data["divergences"][0]["message"].endswith(words)) == (False, True), data["divergences"][0]


def test_fvcore_cannot_count_the_target(runner, spec_file: Path) -> None:
    """MACs that cannot be counted are a failed check (exit 1), never a skipped one."""
    result = run(runner, spec_file, {"untraceable": True})
    first = result.stdout.splitlines()[0]
    assert (result.exit_code, first.startswith("first divergence: the whole network: MACs (fvcore): spec ")) == (
        1,
        True,
    ), result.output
    assert "vs target fvcore failed: " in first, first


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--kwargs", "{}"], 2, "--kwargs goes with --against"),
        (["--against", TARGET, "--all"], 2, "--against takes one SPEC"),
        (["--against", TARGET, "--kwargs", "[1]"], 2, "error[bad_kwargs]"),
        (["--against", "tests.test_verify_against:SmalNet"], 2, "did you mean SmallNet"),
        (["--against", TARGET, "--input", "3x15x15"], 2, "error[target_raised]"),
    ],
    ids=["kwargs-alone", "all", "bad-kwargs", "misspelt", "target-cannot-run"],
)
def test_usage(runner, spec_file: Path, args: list[str], code: int, words: str) -> None:
    result = runner.invoke(main, ["verify", str(spec_file), *args], catch_exceptions=False)
    assert (result.exit_code, words in result.output) == (code, True), result.output


def test_against_torchvision(runner, torchvision) -> None:
    """The bundled resnet18 (its own row names: `conv2_x`, `pool1`) held to torchvision's, in process."""
    args = ["verify", "resnet18", "--against", "torchvision.models:resnet18", "--input", "3x32x32", "--json"]
    result = runner.invoke(main, args, catch_exceptions=False)
    data = json.loads(result.output)
    assert (result.exit_code, data["divergences"]) == (0, []), data["divergences"][:3]
    published = 11_689_512  # torchvision's resnet18 meta num_params
    assert data["totals"]["params"]["theirs"] == published, data["totals"]


@pytest.mark.slow  # a fresh interpreter importing torch, torchvision and fvcore: 20 s and more on 2 cores
def test_against_torchvision_in_a_subprocess(tmp_path: Path) -> None:
    """The CLI in a subprocess imports torchvision through tests/torchvision_env's sitecustomize."""
    import subprocess
    import sys

    from tests.torchvision_env import subprocess_env

    args = ["verify", "resnet18", "--against", "torchvision.models:resnet18", "--input", "3x32x32", "-q"]
    done = subprocess.run(
        [sys.executable, "-c", "from archcalc.cli import run; run()", *args],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert (done.returncode, done.stdout.splitlines()[-1:]) == (
        0,
        ["resnet18: agrees with torchvision.models:resnet18"],
    ), done.stdout + done.stderr


SPEC_CHANNELS_LAST = """\
name: channels_last
input: [3, 6, 6]  # 8 channels on 6x6: [8, 6, 6] and [6, 6, 8] differ
layers:
  - block:
      name: block
      layers:
        - conv: {name: conv, out: 8, kernel: 3, padding: 1}
        - layernorm: {name: norm, eps: 1.0e-6}
        - channel_linear: {name: pw1, out_features: 16}
        - gelu: {name: act}
        - channel_linear: {name: pw2, out_features: 8}
        - layer_scale: {name: layer_scale}
  - flatten
  - linear: {name: fc, out: 10}
"""


class ChannelsLastBlock(torch.nn.Module):
    """ConvNeXt's block: permute to channels-last, LayerNorm, Linear, GELU, Linear, a learned
    per-channel scale (`gamma` [C] before the permute back, as the reference code; [C, 1, 1] after
    it, as torchvision's), permute back."""

    def __init__(self, scale_last: bool) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.norm = torch.nn.LayerNorm(8, eps=1e-6)
        self.pw1 = torch.nn.Linear(8, 16)
        self.act = torch.nn.GELU()
        self.pw2 = torch.nn.Linear(16, 8)
        self.scale_last = scale_last
        self.gamma = torch.nn.Parameter(torch.ones(8) if scale_last else torch.ones(8, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pw2(self.act(self.pw1(self.norm(self.conv(x).permute(0, 2, 3, 1)))))
        if self.scale_last:
            return (self.gamma * x).permute(0, 3, 1, 2)
        return self.gamma * x.permute(0, 3, 1, 2)


class ChannelsLastNet(torch.nn.Module):
    def __init__(self, scale_last: bool = True) -> None:
        super().__init__()
        self.block = ChannelsLastBlock(scale_last)
        self.fc = torch.nn.Linear(8 * 6 * 6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.block(x), 1))


@pytest.mark.parametrize(
    ("scale_last", "scale_layout"),
    [(True, "channels-last"), (False, None)],
    ids=["gamma-channels-last", "gamma-channels-first"],
)
def test_channels_last_rows_agree(runner, tmp_path: Path, scale_last: bool, scale_layout: str | None) -> None:
    """The spec writes layernorm and channel_linear channels-first; the target runs them (and the
    GELU between, and the reference code's gamma) on channels-last data: equal, said in --json."""
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC_CHANNELS_LAST)
    args = ["verify", str(spec), "--against", "tests.test_verify_against:ChannelsLastNet", "--json"]
    result = runner.invoke(main, [*args, "--kwargs", json.dumps({"scale_last": scale_last})], catch_exceptions=False)
    data = json.loads(result.stdout)
    assert (result.exit_code, data["divergences"]) == (0, []), data["divergences"]
    layouts = {p["row"]: p["layout"] for p in data["pairs"]}
    cl = "channels-last"
    expected = {"block.conv": None, "block.norm": cl, "block.pw1": cl, "block.act": cl, "block.pw2": cl}
    expected |= {"block.layer_scale": scale_layout, "flatten1": None, "fc": None}
    assert layouts == expected, layouts


SPEC_SPLICED = """\
name: spliced
input: [3, 8, 8]
layers:
  - conv: {name: lateral_0, out: 4, kernel: 1}
  - conv: {name: lateral_1, out: 4, kernel: 1}
"""


class LateralNet(torch.nn.Module):
    """A ModuleList the importer splices as `lateral_0`, `lateral_1` (a feature pyramid's laterals)."""

    def __init__(self) -> None:
        super().__init__()
        self.lateral = torch.nn.ModuleList([torch.nn.Conv2d(3, 4, 1), torch.nn.Conv2d(4, 4, 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.lateral:
            x = conv(x)
        return x


def test_spliced_names_pair_by_name(runner, tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC_SPLICED)
    args = ["verify", str(spec), "--against", "tests.test_verify_against:LateralNet", "--json"]
    result = runner.invoke(main, args, catch_exceptions=False)
    data = json.loads(result.stdout)
    assert (result.exit_code, data["divergences"]) == (0, []), data["divergences"]
    paired = [(p["row"], p["module"], p["call"], p["matched_by"]) for p in data["pairs"]]
    assert paired == [("lateral_0", "lateral.0", 0, "name"), ("lateral_1", "lateral.1", 0, "name")], paired


@pytest.mark.parametrize(
    ("row", "modules", "expected"),
    [
        ("lateral_3", ["lateral", "lateral.3"], ("lateral.3", 0)),
        ("classifier_low_classifier", ["classifier", "classifier.low_classifier"], ("classifier.low_classifier", 0)),
        ("lateral_3_1", ["lateral", "lateral.3"], ("lateral.3", 1)),
        ("layer1.0.relu_2", ["layer1.0.relu"], ("layer1.0.relu", 2)),
        ("a_b_c", ["a", "a.b_c", "a_b", "a_b.c"], None),
        ("a_b_c", ["a_b_c", "a.b_c"], ("a_b_c", 0)),
        ("a_b_c_1", ["a.b_c", "a_b.c"], None),
    ],
    ids=["module-list", "flat-name", "spliced-call", "call", "ambiguous", "exact-first", "ambiguous-call"],
)
def test_by_name(row: str, modules: list[str], expected: tuple[str, int] | None) -> None:
    """`.` and `_` read alike before the call suffix; two modules reading alike pair by no name."""
    from archcalc.verify.against import _by_name, _flat_names

    named = dict.fromkeys(modules)
    assert _by_name(row, named, _flat_names(named)) == expected


def test_an_opaque_import_agrees_with_its_model(runner, tmp_path: Path) -> None:
    """`import --opaque` then `verify --against` the same model: the opaque stand-in is held to the
    module's parameter and buffer counts only (it holds one flat tensor and computes nothing), and the
    spec's MACs total is unknown, not 0, so it is not compared (it once failed every such pair)."""
    target = f"{Path(__file__).parent / 'import_models.py'}:AttentionBlockNet"
    spec = tmp_path / "opaque.yaml"
    made = runner.invoke(main, ["import", target, "--input", "3x8x8", "--opaque", "-o", str(spec)])
    assert made.exit_code == 0, made.output
    result = runner.invoke(main, ["verify", str(spec), "--against", target, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    opaque = [p for p in data["pairs"] if p["kind"] == "opaque"]
    assert opaque and all("macs" not in p and p["params"]["status"] == "ok" for p in opaque), opaque
    assert "macs" not in data["totals"] and data["totals"]["params"]["status"] == "ok", data["totals"]


def test_fvcore_cannot_count_the_spec(runner, spec_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fvcore failing on the built spec's side: its total is the failure's text, printed as text
    in the summary (it once reached a thousands-separator format and ended as an internal error)."""
    import archcalc.verify.against as against

    real, calls = against._fvcore, []

    def spec_side_fails(model, x):
        calls.append(1)
        return ({}, 0, "RuntimeError: tracing failed") if len(calls) == 1 else real(model, x)

    monkeypatch.setattr(against, "_fvcore", spec_side_fails)
    result = run(runner, spec_file, {})
    assert result.exit_code == 1, result.output
    assert "MACs (fvcore) fvcore failed on the spec: RuntimeError: tracing failed" in " ".join(result.output.split())
