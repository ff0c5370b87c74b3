"""The bundled specs: where they live (inside the wheel as `archcalc/specs`, or the checkout's top-level
`specs/`), their names, and resolving a spec reference (a path or a bundled name) to a file.
"""

from __future__ import annotations

from pathlib import Path

from .errors import SpecError, close_matches

SPEC_SUFFIXES = (".yaml", ".yml")  # what a spec file's name ends with (`check DIR` reads these)


def specs_dir() -> Path:
    """Where the bundled specs live: inside the installed package, or the checkout's specs/."""
    package = Path(__file__).resolve().parent  # archcalc installs as files, never zipped
    packaged = package / "specs"
    return packaged if packaged.is_dir() else package.parent / "specs"


def bundled_names() -> list[str]:
    """Names of the bundled specs (file stems), sorted."""
    return sorted(p.stem for p in specs_dir().glob("*.yaml"))


def resolve(ref: str | Path) -> Path:
    """A spec reference -> a file: an existing path, or the name of a bundled spec."""
    path = Path(ref)
    if path.is_file():
        return path
    if path.is_dir():
        raise SpecError("not_a_file", f"{ref} is a directory, not a spec file", file=str(ref))
    if path.exists():
        raise SpecError(
            "not_a_file",
            f"{ref} is not a regular file (a device, pipe or socket)",
            file=str(ref),
            hint="give the path of a YAML spec file",
        )
    bundled = specs_dir() / f"{ref}.yaml"
    if "/" not in str(ref) and bundled.is_file():
        return bundled
    names = bundled_names()
    close = close_matches(str(ref), names, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise SpecError(
        "spec_not_found",
        f"no spec file '{ref}' and no bundled spec of that name",
        file=str(ref),
        hint=hint + "`archcalc list` shows the bundled specs",
    )
