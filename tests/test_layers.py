"""The package lines, read from the source (every import, at any depth, through the AST):

* only `app.py` and the HTTP packages (`webhooks/`, `console/`, and the carrier
  simulator's own server) import Flask;
* the domain never imports the HTTP packages;
* routing never imports the legs (the legs build on routing, not the other way);
* the roster package imports nothing of routing, the legs, the IVR or the queue;
* nothing imports the carrier simulator but the CLI, the tests and the simulator itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).parent.parent / "hotline"


def imports(path: Path) -> set[str]:
    """Absolute module names `path` imports (relative imports resolved)."""
    module = ".".join(("hotline", *path.relative_to(PKG).with_suffix("").parts))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out |= {f"{target}.{a.name}" for a in node.names}
    return out


MODULES = {p: imports(p) for p in PKG.rglob("*.py")}


def rel(p: Path) -> str:
    return str(p.relative_to(PKG))


def offenders(where, imported) -> list[str]:
    return sorted(
        f"{rel(p)} imports {m}"
        for p, names in MODULES.items()
        if where(rel(p))
        for m in names
        if imported(m)
    )


def test_only_the_http_layer_imports_flask():
    http = ("app.py", "webhooks/", "console/", "carrier/")
    assert (
        offenders(
            lambda f: not f.startswith(http), lambda m: m == "flask" or m.startswith("flask.")
        )
        == []
    )


def test_the_domain_never_imports_the_http_layer():
    http = ("hotline.webhooks", "hotline.app", "hotline.console")
    assert (
        offenders(
            lambda f: not f.startswith(("app.py", "webhooks/", "console/", "cli/", "carrier/")),
            lambda m: m.startswith(http),
        )
        == []
    )


def test_routing_never_imports_the_legs():
    assert (
        offenders(lambda f: f.startswith("routing/"), lambda m: m.startswith("hotline.legs")) == []
    )


@pytest.mark.parametrize(
    "layer", ["hotline.routing", "hotline.legs", "hotline.ivr", "hotline.queue"]
)
def test_the_roster_package_stands_alone(layer):
    assert offenders(lambda f: f.startswith("roster/"), lambda m: m.startswith(layer)) == []


def test_only_the_cli_and_the_simulator_import_the_simulator():
    assert (
        offenders(
            lambda f: not f.startswith(("carrier/", "cli/")),
            lambda m: m.startswith("hotline.carrier"),
        )
        == []
    )
