"""docs/architecture.md names every module of the package and of the commands, and no module that is gone."""

from __future__ import annotations

import re

from support import ROOT

DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("antbot_source", "pipelines")
# a line of the module tree: its indent, then a directory (`name/`) or a module (`name.py`)
ENTRY = re.compile(r"^( *)([A-Za-z_][\w.]*(?:/|\.py))(?:\s|$)")


def tree_entries() -> set[str]:
    """The modules the tree of docs/architecture.md lists, as paths from the repository root."""
    (block,) = re.findall(r"## Modules\n.*?```\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    listed: set[str] = set()
    parents: list[tuple[int, str]] = []  # (indent, directory) of the directories around the line
    for line in block.splitlines():
        match = ENTRY.match(line)
        if not match:
            continue  # a description carried on to the next line
        indent, name = len(match.group(1)), match.group(2)
        while parents and parents[-1][0] >= indent:
            parents.pop()
        path = "".join(directory for _, directory in parents) + name
        if name.endswith("/"):
            parents.append((indent, name))
        else:
            listed.add(path)
    return listed


def package_modules() -> set[str]:
    """Every module of the two packages but `__init__.py` and `__main__.py`."""
    return {str(path.relative_to(ROOT)) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
            if path.name not in ("__init__.py", "__main__.py")}


def test_the_module_tree_lists_every_module_and_no_other():
    listed, present = tree_entries(), package_modules()
    assert not present - listed, f"missing from docs/architecture.md: {sorted(present - listed)}"
    assert not listed - present, f"in docs/architecture.md but not in the code: {sorted(listed - present)}"

