"""The README cannot drift: its examples are run and compared, its claims about options and commands
are held to click's own declarations, and every file it names exists.

How the examples are found, run and compared: `tests/readme_examples.py` (and DEVELOPERS.md)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import click
import pytest
import yaml

from archcalc.cli import COMMANDS, main
from tests.readme_examples import (
    ELLIPSIS,
    README,
    ROOT,
    Example,
    ExampleCrashed,
    difference,
    fenced_blocks,
    find_examples,
    matches,
    rewritten,
    run,
    updated,
)

TEXT = README.read_text(encoding="utf-8")
LINES = TEXT.splitlines()
EXAMPLES = find_examples(TEXT)
TORCH_COMMANDS = {"verify", "bench", "export"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_readme_example_prints_what_the_readme_shows(example: Example) -> None:
    if example.argv[0] in TORCH_COMMANDS:
        pytest.importorskip("torch")
    actual = run(example.argv)
    if not matches(example.output, actual, example.measured):
        pytest.fail(difference(example, actual), pytrace=False)


def test_readme_has_examples_of_the_main_commands() -> None:
    """The examples are found at all: a broken parser would pass every example test by finding none."""
    shown = {example.argv[0] for example in EXAMPLES}
    assert {"shapes", "conv", "compare", "diff", "verify", "bench"} <= shown, shown


# (written, actual, measured, fits): the `...` rule and the measured rule
MATCH_CASES = [
    pytest.param(["a", "b"], ["a", "b"], False, True, id="equal"),
    pytest.param(["a", "b"], ["a", "c"], False, False, id="one-line-differs"),
    pytest.param(["a"], ["a", "b"], False, False, id="output-longer"),
    pytest.param(["a", "b"], ["a"], False, False, id="output-shorter"),
    pytest.param(["a", ELLIPSIS, "d"], ["a", "b", "c", "d"], False, True, id="ellipsis-two-lines"),
    pytest.param(["a", ELLIPSIS, "d"], ["a", "b", "d"], False, True, id="ellipsis-one-line"),
    pytest.param(["a", ELLIPSIS, "d"], ["a", "d"], False, False, id="ellipsis-needs-a-line"),
    pytest.param(["a", " ... ", "d"], ["a", "x", "d"], False, True, id="ellipsis-indented"),
    pytest.param(["a", ELLIPSIS], ["a", "b", "c"], False, True, id="ellipsis-at-end"),
    pytest.param([ELLIPSIS, "c"], ["a", "b", "c"], False, True, id="ellipsis-at-start"),
    pytest.param(["a", ELLIPSIS, "c", ELLIPSIS, "e"], ["a", "b", "c", "d", "e"], False, True, id="two-ellipses"),
    pytest.param(["a", ELLIPSIS, "x", ELLIPSIS, "e"], ["a", "b", "c", "d", "e"], False, False, id="anchor-missing"),
    pytest.param(["│ 1 │ 1.017 ms │"], ["│  1 │ 12.5 ms │"], True, True, id="measured-numbers-and-widths"),
    pytest.param(["━━━┳━━"], ["━━━━━━┳━"], True, True, id="measured-rules"),
    pytest.param(["│ 1 │ 1.017 ms │"], ["│ 1 │ 1.017 s │"], True, False, id="measured-unit-differs"),
    pytest.param(["│ 282.0 MiB │"], ["│ 1.1 GiB │"], True, True, id="measured-byte-units"),
    pytest.param(["│ 512 B │"], ["│ 12 KB │"], True, True, id="measured-byte-units-decimal"),
    pytest.param(["│ 282.0 MiB │"], ["│ 282.0 │"], True, False, id="measured-byte-unit-missing"),
    pytest.param(["│ 0.0012 │ 1.9% │"], ["│ 9.05e-06 │ 0.00111% │"], True, True, id="measured-tiny-figures"),
    pytest.param(["│ 1 │ 1.017 ms │"], ["│ 1 │ 2.017 ms │"], False, False, id="unmeasured-number-differs"),
]


@pytest.mark.parametrize(("written", "actual", "measured", "fits"), MATCH_CASES)
def test_matching_rules(written: list[str], actual: list[str], measured: bool, fits: bool) -> None:
    assert matches(written, actual, measured) is fits, f"written {written!r} vs actual {actual!r}"


# (written, actual, expected rewrite): the update keeps what fits and abridges as the README did
REWRITE_CASES = [
    pytest.param(["a", ELLIPSIS, "d"], ["a", "b", "c", "d"], ["a", ELLIPSIS, "d"], id="still-fits-kept"),
    pytest.param(["a", ELLIPSIS, "d"], ["A", "b", "c", "D"], ["A", ELLIPSIS, "D"], id="head-and-tail-kept"),
    pytest.param(["a", "b", ELLIPSIS], ["x", "y", "z", "w"], ["x", "y", ELLIPSIS], id="head-only"),
    pytest.param(["a", ELLIPSIS, "d"], ["x", "y"], ["x", "y"], id="too-short-to-abridge"),
    pytest.param(["old"], ["new", "lines"], ["new", "lines"], id="replaced-whole"),
    pytest.param(["t 1.0 ms"], ["t 9.5 ms"], ["t 1.0 ms"], id="measured-shape-kept"),
]


@pytest.mark.parametrize(("written", "actual", "expected"), REWRITE_CASES)
def test_update_rewrites_only_what_no_longer_fits(written: list[str], actual: list[str], expected: list[str]) -> None:
    measured = written == ["t 1.0 ms"]
    new = rewritten(written, actual, measured)
    assert new == expected, f"rewrote {written!r} for {actual!r} as {new!r}, expected {expected!r}"
    assert matches(new, actual, measured), f"the rewrite {new!r} does not fit {actual!r}"


def test_update_is_idempotent_on_a_stale_readme() -> None:
    """A stale example is rewritten from the real command; a second update changes nothing."""
    stale = "# t\n\n```\n$ archcalc conv --input 13 --kernel 3\nold output\n```\ntext after\n"
    first, changed = updated(stale)
    assert [example.argv for example in changed] == [("conv", "--input", "13", "--kernel", "3")]
    assert "old output" not in first and "convolution output: 11" in first, first
    assert first.endswith("```\ntext after\n"), first
    second, changed_again = updated(first)
    assert (second, changed_again) == (first, []), f"a second update changed:\n{first}\n---\n{second}"


def test_update_never_writes_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """An example that ends in an internal error (exit 4) stops the update; the README keeps its text."""
    import archcalc.commands.static

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(archcalc.commands.static, "analyze", broken)
    with pytest.raises(ExampleCrashed, match="ended with exit 4"):
        updated("```\n$ archcalc shapes lenet5\nold output\n```\n")


def _rows(header: str) -> Iterator[list[str]]:
    """The cells of each row of the README's Markdown table whose header row starts with HEADER."""
    start = next(i for i, line in enumerate(LINES) if line.startswith(header))
    for line in LINES[start + 2 :]:
        if not line.startswith("|"):
            return
        yield [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))]  # `\|` is a pipe inside a cell


def _command(name: str) -> click.Command:
    command = main.get_command(click.Context(main), name)
    assert command is not None, name
    return command


@pytest.mark.parametrize("option", ["--json", "--input"])
def test_readme_says_which_commands_take_the_shared_options(option: str) -> None:
    rows = {re.findall(r"`([^`]*)`", cells[0])[0].split()[0]: cells[-1] for cells in _rows("| option |")}
    written = set(re.findall(r"`([^`]*)`", rows[option]))
    # `conv --input` is a layer's spatial sizes, not a spec's input size: the README says so apart
    real = {
        name
        for name in COMMANDS
        if any(option in param.opts for param in _command(name).params) and (option, name) != ("--input", "conv")
    }
    assert written == real, f"README says {sorted(written)}; the commands are {sorted(real)}"


def test_readme_command_table_names_every_command() -> None:
    named = set()
    for cells in _rows("| command |"):
        for code in re.findall(r"`([^`]*)`", cells[0]):
            words = code.split()
            named.add(words[1] if words[0] == "archcalc" else words[0])
    assert named == set(COMMANDS), f"README's table names {sorted(named)}; the commands are {sorted(COMMANDS)}"


def _command_lines() -> Iterator[tuple[int, list[str]]]:
    """(line, argv after `archcalc`) of every archcalc command in a fenced shell block or `$` example."""
    for info, first, last in fenced_blocks(LINES):
        for index in range(first, last):
            line = LINES[index]
            if line.startswith("$ "):
                line = line.removeprefix("$ ")
            elif info != "bash":  # outside a shell block, only a `$` line is a command
                continue
            words = shlex.split(line, comments=True)
            segment: list[str] = []
            for word in [*words, "&&"]:
                if word in {"&&", "||", ";", "|"}:
                    if segment[:1] == ["archcalc"]:
                        yield index + 1, segment[1:]
                    segment = []
                else:
                    segment.append(word)


COMMAND_LINES = list(_command_lines())
INPUT_PARAMS = {"spec", "specs", "a", "b", "measured_files"}  # read; every other path argument is written


def _written_before(line: int) -> set[str]:
    """The files an earlier command of the same fenced block writes with `-o FILE` (`archcalc import
    ... -o net.yaml` then `archcalc check net.yaml`): the block makes them, the repository need not."""
    block = next(((first, last) for _, first, last in fenced_blocks(LINES) if first < line <= last), None)
    written: set[str] = set()
    for earlier, argv in COMMAND_LINES:
        if block is not None and block[0] < earlier < line:
            written |= {argv[i + 1] for i, word in enumerate(argv[:-1]) if word in {"-o", "--output"}}
    return written


def _parsed(argv: list[str]) -> click.Context:
    """The command's context after click parsed ARGV: its options and values checked, nothing run."""
    redirect = next((i for i, word in enumerate(argv) if word.startswith(">")), len(argv))
    args = argv[:redirect]  # `> model.py` is the shell's, not the command's
    name, command, rest = main.resolve_command(click.Context(main), args)
    assert command is not None and name is not None
    return command.make_context(name, rest, parent=click.Context(main))


@pytest.mark.parametrize(("line", "argv"), COMMAND_LINES, ids=[f"L{line}" for line, _ in COMMAND_LINES])
def test_readme_command_lines_are_valid_commands(line: int, argv: list[str]) -> None:
    """Every command line the README shows parses (options and choices exist), and the spec files it
    reads are in the repository."""
    try:
        context = _parsed(argv)
    except click.UsageError as err:
        problem = err.format_message()
    else:
        problem = ""
    if problem:
        pytest.fail(f"README.md:{line}: `archcalc {' '.join(argv)}`: {problem}", pytrace=False)
    for name in INPUT_PARAMS & set(context.params):
        value = context.params[name]
        for item in value if isinstance(value, (tuple, list)) else [value]:
            if item is not None and ("/" in str(item) or str(item).endswith((".yaml", ".yml", ".json"))):
                if str(item) in _written_before(line):
                    continue
                assert (ROOT / str(item)).exists(), f"README.md:{line}: `{item}` is not in the repository"


_PATH = re.compile(r"\.?[A-Za-z_][\w.+-]*(?:/[\w.+-]+)*/?")
_FILE_SUFFIXES = (".yaml", ".yml", ".py", ".md", ".json", ".toml", ".txt")
OUTPUT_FLAGS = {"-o", "--output", ">"}
NOT_IN_CHECKOUT = {"archcalc/specs": "the bundled specs' place inside the built wheel"}


def _named_paths() -> Iterator[tuple[int, str]]:
    """(line, path) of every repository path the README's prose names in backticks or links to."""
    in_block = False
    for number, line in enumerate(LINES, 1):
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            continue
        yield from ((number, target) for target in re.findall(r"\]\(([^)#:\s]+)\)", line))  # [text](path)
        for code in re.findall(r"`([^`]+)`", line):
            words = code.split()
            for before, word in zip(["", *words], words, strict=False):
                if before in OUTPUT_FLAGS or not _PATH.fullmatch(word) or word in NOT_IN_CHECKOUT:
                    continue
                if "/" in word or word.endswith(_FILE_SUFFIXES):
                    yield number, word


def _layout_paths() -> Iterator[tuple[int, str]]:
    """(line, path) of each file or folder in the first column of the README's "Layout" block
    (`archcalc/limits.py, reading.py` names two files of one folder)."""
    heading = LINES.index("## Layout")
    _info, first, last = next(block for block in fenced_blocks(LINES) if block[1] > heading)
    for index in range(first, last):
        match = re.match(r"(?:[\w./+-]+, )*[\w./+-]+", LINES[index])
        if match:
            head, *rest = match[0].split(", ")
            folder = head.rstrip("/").rpartition("/")[0]
            yield index + 1, head
            yield from ((index + 1, f"{folder}/{name}") for name in rest)


NAMED_PATHS = [*_named_paths(), *_layout_paths()]


def test_readme_names_paths_at_all() -> None:
    assert len(NAMED_PATHS) > 20, NAMED_PATHS


@pytest.mark.parametrize(("line", "path"), NAMED_PATHS, ids=[f"L{line}-{path}" for line, path in NAMED_PATHS])
def test_readme_paths_exist(line: int, path: str) -> None:
    assert (ROOT / path).exists(), f"README.md:{line} names `{path}`, which is not in the repository"


def _yaml_files() -> Iterator[tuple[int, str, str]]:
    """(line, path, text) of every YAML block whose first line names a repository file (`# path: ...`)."""
    for info, first, last in fenced_blocks(LINES):
        match = re.match(r"# ([\w./-]+\.yaml)\b", LINES[first]) if info == "yaml" and first < last else None
        if match:
            yield first + 1, match[1], "\n".join(LINES[first:last])


YAML_FILES = list(_yaml_files())


@pytest.mark.parametrize(("line", "path", "text"), YAML_FILES, ids=[path for _, path, _ in YAML_FILES])
def test_readme_spec_is_the_file_it_names(line: int, path: str, text: str) -> None:
    """A spec the README prints under a file's name is that file's spec (comments may differ)."""
    assert (ROOT / path).is_file(), f"README.md:{line} names `{path}`, which is not in the repository"
    written, real = yaml.safe_load(text), yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    assert written == real, f"README.md:{line}: the spec differs from {path}:\n{written}\n---\n{real}"


def test_readme_prints_specs_of_files() -> None:
    assert {path for _, path, _ in YAML_FILES} >= {"docs/examples/my_net.yaml", "examples/fpn.yaml"}
