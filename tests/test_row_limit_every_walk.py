"""The row limit holds for every walk, not only the analysis: `rf` once walked a 2-million-row
spec (a repeat of a repeat, refused by `shapes` at once) until memory ran out."""

from __future__ import annotations

import pytest

from archcalc.cli import main
from archcalc.fields import MAX_ROWS

SPEC = (
    "name: t\ninput: [3, 8, 8]\nlayers:\n"
    f"  - repeat: {{times: 2, layers: [repeat: {{times: {MAX_ROWS // 2 + 1}, layers: [relu]}}]}}\n"
)


@pytest.mark.parametrize(
    "args",
    [["rf"], ["rf", "--json"], ["shapes", "--explain"], ["shapes"], ["memory"], ["roofline"], ["params"], ["check"]],
)
def test_every_command_refuses_too_many_rows_before_walking(runner, tmp_path, args):
    path = tmp_path / "rows.yaml"
    path.write_text(SPEC)
    result = runner.invoke(main, [args[0], str(path), *args[1:]])
    assert result.exit_code == 2, result.output
    assert "too_many_layers" in result.output
