"""Imports run one way, and none hides inside a function (docs/architecture.md).

portal is the bottom layer (settings, errors, links, the site shell); accounts (people,
factors, tokens, sessions) builds on portal; registry (packages, and its orgs wing) builds
on both. A module imports its own layer and those below it, never one above. Portal's
composition roots put the layers together and may import anything.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"portal": 0, "accounts": 1, "registry": 2}
COMPOSITION_ROOTS = {
    "portal/urls.py",
    "portal/rest_urls.py",
    "portal/settings.py",
    "portal/celery.py",
}

# Imports against the layers still to be removed, each saying by whom and how. An entry
# that no longer matches an import fails the test: the list only shrinks.
PENDING_UPWARD: dict[tuple[str, str], str] = {}

_APP_READY = "AppConfig.ready: the module imports models, which exist only once apps are loaded"
# Imports inside a function, each with its reason. Any other import goes at the top.
LAZY_ALLOWED = {
    (
        "accounts/apps.py",
        "accounts",
    ): "AppConfig.ready: system checks (accounts.checks) register on import",
    ("registry/apps.py", "registry.orgs.account_checks"): _APP_READY,
    ("registry/apps.py", "registry.read_passes"): _APP_READY,
    ("registry/read_cache.py", "psycopg"): (
        "only a PostgreSQL process listens for changes; one on SQLite never loads the driver"
    ),
}


def _modules():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _imported(node: ast.AST, path: str) -> list[str]:
    """Modules `node` brings in: import statements and URLconf `include("module")`."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            package = path.removesuffix(".py").split("/")[: -node.level]
            return [".".join([*package, *([node.module] if node.module else [])])]
        return [node.module]
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "include" and node.args:
        target = node.args[0]
        if isinstance(target, ast.Tuple) and target.elts:
            target = target.elts[0]
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            return [target.value]
    return []


def _upward_imports() -> set[tuple[str, str]]:
    found = set()
    for path, tree in _modules():
        if path in COMPOSITION_ROOTS:
            continue
        layer = LAYERS[path.split("/")[0]]
        for node in ast.walk(tree):
            for module in _imported(node, path):
                top = module.split(".")[0]
                if top in LAYERS and LAYERS[top] > layer:
                    found.add((path, module))
    return found


def _imports_inside_functions() -> set[tuple[str, str]]:
    found = set()
    for path, tree in _modules():
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        found |= {(path, module) for module in _imported(node, path)}
    return found


def test_imports_run_one_way_portal_accounts_registry():
    upward = _upward_imports()

    assert sorted(upward - PENDING_UPWARD.keys()) == [], (
        "a module imports a layer above its own: move the code up, or let the upper layer "
        "answer through a hook (accounts.hooks)"
    )
    assert sorted(PENDING_UPWARD.keys() - upward) == [], "gone: remove it from PENDING_UPWARD"


def test_no_import_hides_inside_a_function():
    inside = _imports_inside_functions()

    assert sorted(inside - LAZY_ALLOWED.keys()) == [], (
        "import at the top of the module; an import loop is broken by moving code, and a "
        "lazy import with another reason goes in LAZY_ALLOWED with it"
    )
    assert sorted(LAZY_ALLOWED.keys() - inside) == [], "gone: remove it from LAZY_ALLOWED"


def test_accounts_knows_nothing_of_orgs():
    """Orgs are the registry's (registry/orgs): accounts holds people, factors, tokens and
    sessions only."""
    for path, tree in _modules():
        if path.startswith("accounts/") and "/migrations/" not in path:
            names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
            assert not names & {"Org", "Membership", "Team", "TeamMember", "Invitation"}, path
