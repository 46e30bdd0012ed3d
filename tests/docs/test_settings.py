"""The README's configuration table is AntBotSettings: every setting, once, with its default."""

from __future__ import annotations

import re

from support import ROOT

from antbot_source.config import AntBotSettings

TABLE = (ROOT / "README.md").read_text(encoding="utf-8").split("## Configuration")[1].split("\n## ")[0]
ROW = re.compile(r"(?m)^\| (`SOURCES__ANTBOT__[^|]+)\|([^|]*)\|")


def _default(cell: str) -> object:
    """A default as the table writes it: `value`, none, or nothing."""
    text = cell.strip().strip("`")
    if text in ("", "none"):
        return None
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text


def _as_written(value: object) -> object:
    if isinstance(value, bool) or value is None:
        return value
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return value


def test_the_readme_documents_every_setting_once_with_its_default():
    documented: dict[str, object] = {}
    for keys, default in ROW.findall(TABLE):
        for key in re.findall(r"`SOURCES__ANTBOT__([A-Z0-9_]+)`", keys):
            assert key.lower() not in documented, f"{key} documented twice"
            documented[key.lower()] = _default(default)
    fields = AntBotSettings.get_resolvable_fields()
    assert set(documented) == set(fields), "the README's table and AntBotSettings differ"
    assert {name: _as_written(getattr(AntBotSettings(), name)) for name in fields} == documented
