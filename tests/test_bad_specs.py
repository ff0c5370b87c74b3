"""The corpus of wrong specs (tests/bad_specs/), each run through the CLI, away from the test
process, with a timeout and a memory limit: the expected message and exit code, no traceback, no hang.

Each file says what it expects in a header comment:

    # expect: code=kernel_too_large line=6 exit=2      (line=- : the error has no line)
    # message: a fragment of the message

Files that cannot carry a header (an empty file, UTF-16 text) are listed in HEADERLESS; cases too
large to commit (a 10 MB spec, 100,000 nested brackets) are written at test time (GENERATED).
Those, and the few in OWN_PROCESS, each run as a real `archcalc` process; the rest run in one
process that invokes the CLI once per file (click's runner: the same exit code and stderr), since
a process per file cost a second of start-up each. All of it once per session, concurrently.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from archcalc import loader
from archcalc.fields import MAX_ROWS

CORPUS = Path(__file__).parent / "bad_specs"
ROOT = Path(__file__).parent.parent
TIMEOUT_S = 60  # generous for a loaded 2-core CI machine; each case takes about a second
MEMORY_BYTES = 1536 * 2**20  # address space: python + pydantic + the largest case stays far below


@dataclass(frozen=True)
class Expected:
    code: str
    line: int | None
    message: str
    exit: int = 2


HEADERLESS = {
    "empty.yaml": Expected("empty_spec", None, "the spec is empty"),
    "utf16-file.yaml": Expected("not_utf8", 1, "byte 0xff at offset 0 is not valid UTF-8"),
}


def _generated(directory: Path) -> dict[str, Expected]:
    """Cases too large to commit, written at test time."""
    cases = {}
    big = directory / "ten-megabytes.yaml"  # over MAX_FILE_BYTES (8 MiB): refused before parsing
    layer = b"  - conv: {out: 8, kernel: 3, padding: 1}\n"
    with big.open("wb") as handle:
        handle.write(b"name: big\ninput: [8, 16, 16]\nlayers:\n")
        handle.write(layer * (10_000_000 // len(layer) + 1))
    cases[big.name] = Expected("spec_too_large", None, f"larger than the limit of {loader.MAX_FILE_BYTES:,} bytes")
    deep = directory / "nested-100k-brackets.yaml"  # once crashed libyaml's composer (SIGSEGV)
    deep.write_text("name: t\ninput: [3, 8, 8]\nlayers: " + "[" * 100_000 + "]" * 100_000 + "\n")
    cases[deep.name] = Expected("too_deep", 3, f"nests deeper than {loader.MAX_DEPTH} levels")
    chain = directory / "blocks-70-deep.yaml"  # each block uses the next: past the templates' nesting limit
    text = "name: t\ninput: [3, 8, 8]\nblocks:\n" + "".join(
        f"  b{i}:\n    layers: [use: b{i + 1}]\n" for i in range(70)
    )
    chain.write_text(text + "  b70:\n    layers: [relu]\nlayers:\n  - use: b0\n")
    cases[chain.name] = Expected("too_deep", None, "blocks are used inside blocks more than 60 deep")
    rows = directory / "too-many-layers.yaml"  # two top-level repeats, each within the limit, together past it
    half = MAX_ROWS // 2 + 1
    rows.write_text(
        f"name: t\ninput: [3, 8, 8]\nlayers:\n  - repeat: {{times: {half}, layers: [relu]}}\n"
        f"  - repeat: {{times: {half}, layers: [relu]}}\n"
    )
    cases[rows.name] = Expected("too_many_layers", None, f"more than the limit of {MAX_ROWS:,}")
    return cases


def expectation(path: Path) -> Expected:
    head = path.read_bytes()[:400].decode("utf-8", "replace")
    match = re.search(r"^# expect: code=(\S+) line=(\S+) exit=(\d+)$", head, re.M)
    message = re.search(r"^# message: (.+)$", head, re.M)
    assert match and message, f"{path.name}: no `# expect:` / `# message:` header and not in HEADERLESS"
    line = None if match.group(2) == "-" else int(match.group(2))
    return Expected(match.group(1), line, message.group(1), int(match.group(3)))


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def run_cli(path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("ARCHCALC_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "archcalc.cli", "shapes", str(path), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        preexec_fn=_limit_memory,
        env=env,
        cwd=ROOT,
    )


COMMITTED = sorted(p.name for p in CORPUS.iterdir() if p.suffix == ".yaml")
GENERATED_NAMES = ["ten-megabytes.yaml", "nested-100k-brackets.yaml", "blocks-70-deep.yaml", "too-many-layers.yaml"]
# committed cases that also run as whole processes: the YAML-level attacks and the headerless files
OWN_PROCESS = {"alias-bomb.yaml", "custom-tag.yaml", "nul-byte.yaml", "empty.yaml", "utf16-file.yaml"}

# One process, the CLI invoked in it once per file named on its command line; one JSON result per file.
BATCH = """
import json, sys
from click.testing import CliRunner
from archcalc.cli import main

runner = CliRunner()
for path in sys.argv[1:]:
    result = runner.invoke(main, ["shapes", path], env={"COLUMNS": "200"})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += f"Traceback (uncaught): {result.exception!r}"
    print(json.dumps({"path": path, "returncode": result.exit_code, "stdout": result.stdout, "stderr": stderr}))
"""


def run_batch(paths: list[Path]) -> dict[Path, subprocess.CompletedProcess]:
    """Each file through `archcalc shapes` in one process (the timeout and memory limit of one case, times four)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ARCHCALC_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-c", BATCH, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=4 * TIMEOUT_S,
        preexec_fn=_limit_memory,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"the batch process failed (exit {done.returncode}):\n{done.stderr}"
    results = [json.loads(line) for line in done.stdout.splitlines()]
    return {
        Path(r["path"]): subprocess.CompletedProcess(r["path"], r["returncode"], r["stdout"], r["stderr"])
        for r in results
    }


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, tuple[Expected, Path, subprocess.CompletedProcess]]:
    """Every case run once: the batch beside the whole-process cases, three of those at a time."""
    directory = tmp_path_factory.mktemp("generated")
    cases = {name: (HEADERLESS.get(name) or expectation(CORPUS / name), CORPUS / name) for name in COMMITTED}
    cases.update({name: (exp, directory / name) for name, exp in _generated(directory).items()})
    alone = [name for name in cases if name in OWN_PROCESS or name in GENERATED_NAMES]
    batched = [cases[name][1] for name in cases if name not in alone]
    with ThreadPoolExecutor(max_workers=4) as pool:
        batch = pool.submit(run_batch, batched)
        results = dict(zip(alone, pool.map(lambda name: run_cli(cases[name][1]), alone)))
        by_path = batch.result()
    results.update({name: by_path[path] for name, (_, path) in cases.items() if name not in results})
    return {name: (cases[name][0], cases[name][1], results[name]) for name in cases}


def test_some_cases_run_as_whole_processes():
    """The batch shares a process; these keep the real one (start-up, exit status, a crash would show)."""
    assert OWN_PROCESS <= set(COMMITTED) and set(HEADERLESS) <= OWN_PROCESS


def test_corpus_is_large():
    assert len(COMMITTED) + len(GENERATED_NAMES) >= 40
    assert set(HEADERLESS) <= set(COMMITTED)


@pytest.mark.parametrize("name", COMMITTED + GENERATED_NAMES)
def test_bad_spec_gives_its_message_and_exit_code(outcomes, name):
    expected, path, result = outcomes[name]
    err = result.stderr
    assert result.returncode == expected.exit, f"exit {result.returncode}, expected {expected.exit}:\n{err}"
    assert "Traceback" not in err + result.stdout and "internal error" not in err, err
    assert f"error[{expected.code}]" in err, f"expected error[{expected.code}] in:\n{err}"
    assert err.count("error[") == 1, err
    where = f"{path}:{expected.line}:" if expected.line else f"{path}"
    assert where in err, f"expected location {where!r} in:\n{err}"
    assert expected.message in err, f"expected {expected.message!r} in:\n{err}"


def test_json_errors_for_the_corpus(tmp_path):
    """--json gives the same code as one object on stdout (a sample: the committed YAML-level cases)."""
    import json

    for name in ("alias-bomb.yaml", "custom-tag.yaml", "nul-byte.yaml", "recursive-block.yaml"):
        result = run_cli(CORPUS / name, "--json")
        assert result.returncode == 2, result.stderr
        assert json.loads(result.stdout)["error"]["code"] == expectation(CORPUS / name).code


def test_device_file_is_refused_without_reading_it():
    """/dev/zero never ends: the loader must not read it (nor claim it is a directory)."""
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    result = run_cli(Path("/dev/zero"))
    assert result.returncode == 2 and "error[not_a_file]" in result.stderr and "not a regular file" in result.stderr


@pytest.mark.parametrize(
    ("limit", "value"), [("MAX_FILE_BYTES", 8 * 2**20), ("MAX_NODES", 2_000_000), ("MAX_DEPTH", 200)]
)
def test_loader_limits_are_what_the_corpus_assumes(limit, value):
    assert getattr(loader, limit) == value


def test_limits_are_enforced_at_their_edge(monkeypatch):
    """Each loader limit refuses one past it and accepts the limit itself (small limits, same code)."""
    from archcalc import SpecError, parse_spec

    monkeypatch.setattr(loader, "MAX_NODES", 20)
    ok = (
        "name: t\ninput: [3, 8, 8]\nlayers: [" + ", ".join(["relu"] * 13) + "]\n"
    )  # mapping, name, input (1 + 3), layers (1 + 13): 20 nodes
    parse_spec(ok)
    with pytest.raises(SpecError, match="more than 20 YAML nodes"):
        parse_spec(ok.replace("[relu", "[relu, relu"))
    monkeypatch.setattr(loader, "MAX_DEPTH", 4)
    monkeypatch.setattr(loader, "MAX_NODES", 2_000_000)
    parse_spec("name: t\ninput: [3, 8, 8]\nlayers: [{block: {layers: [relu]}}]\n")  # layers.0.block.layers: 4
    with pytest.raises(SpecError, match="deeper than 4 levels"):
        parse_spec("name: t\ninput: [3, 8, 8]\nlayers: [{block: {layers: [relu]}}]\nx: [[[[[1]]]]]\n")
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 50)
    with pytest.raises(SpecError, match="larger than the limit of 50 bytes"):
        parse_spec(b"name: t\ninput: [3, 8, 8]\nlayers: [relu]\n# padding past fifty bytes\n")
