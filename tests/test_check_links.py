"""`archcalc check DIR` never follows a symbolic link out of DIR: a link that leaves the folder, or
loops, is refused with one message and exit 2 before any spec is read, so nothing of the target
(its `name:`, its lines) reaches the output; links that stay inside the folder are harmless."""

from __future__ import annotations

import pytest

from archcalc.cli import main

SECRET = "name: secret-outside\ninput: [3, 8, 8]\nlayers: [relu]\n"
GOOD = "name: good\ninput: [3, 8, 8]\nlayers: [relu]\n"


def _tree(tmp_path):
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "s.yaml").write_text(SECRET)
    (outside / "sub" / "t.yaml").write_text(SECRET)
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD)
    return folder, outside


# (id, the link made in d/: name -> target, relative to tmp_path; the link the message names)
REFUSED = [
    ("file-link-out", "link.yaml", "outside/s.yaml"),
    ("folder-link-out", "sub", "outside/sub"),
    ("nested-folder-link-out", "deep/er/sub", "outside/sub"),
    ("file-link-out-yml", "link.yml", "outside/s.yaml"),
    ("link-to-parent", "up", "."),
    ("absolute-link-to-root", "root", "/"),
    ("dangling-file-link-out", "gone.yaml", "outside/none.yaml"),
    ("loop-file", "loop.yaml", "d/loop.yaml"),
    ("loop-between-two", "a.yaml", "d/b.yaml"),
]


@pytest.mark.parametrize("fmt", ["text", "github", "junit", "json"])
@pytest.mark.parametrize(("link", "target"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_link_out_of_the_folder_is_refused(runner, tmp_path, link, target, fmt):
    folder, _ = _tree(tmp_path)
    path = folder / link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target if target.startswith("/") else tmp_path / target)
    if link == "a.yaml":
        (folder / "b.yaml").symlink_to(path)
    result = runner.invoke(main, ["check", str(folder), "--format", fmt], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.output.count("error[") == 1 and "error[unsafe_link]" in result.output, result.output
    assert f"{path} is a symbolic link that" in result.output, result.output
    assert "secret-outside" not in result.output and "good" not in result.output


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("same.yaml", "d/good.yaml"),  # a file link inside: checked
        ("here", "d"),  # a folder link to the folder itself: not walked, no loop
        ("sideways", "d/inner"),  # a folder link inside: its specs are reached by their real path
        ("notes.txt", "outside/s.yaml"),  # not a spec: never read, nothing to refuse
    ],
    ids=["file-inside", "folder-to-itself", "folder-inside", "non-spec-out"],
)
def test_links_that_stay_inside_are_harmless(runner, tmp_path, link, target):
    folder, _ = _tree(tmp_path)
    (folder / "inner").mkdir()
    (folder / "inner" / "x.yml").write_text(GOOD.replace("good", "inner"))
    (folder / link).symlink_to(tmp_path / target)
    result = runner.invoke(main, ["check", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "secret-outside" not in result.output and "inner/x.yml" in result.output
    checked = 3 if link == "same.yaml" else 2
    assert f"{checked} spec(s)" in result.output, result.output


def test_a_folder_given_through_a_link_is_checked(runner, tmp_path):
    """DIR itself may be a link (the user named it): links inside are judged against its target."""
    folder, _ = _tree(tmp_path)
    (folder / "same.yaml").symlink_to(folder / "good.yaml")
    (tmp_path / "alias").symlink_to(folder)
    result = runner.invoke(main, ["check", str(tmp_path / "alias")], catch_exceptions=False)
    assert result.exit_code == 0 and "2 spec(s)" in result.output, result.output
