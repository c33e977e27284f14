"""The shape of the code, held where the next engineer will meet it.

import-linter (`make test` runs `lint-imports`, contracts in pyproject.toml) checks the layering. These
check what its contracts cannot say: that no two modules import each other, even through others; that no
package reaches for another's private names; that no module grows past what one reader can hold; and that
the imports still running back up stay few, each listed with its reason.
"""

import ast
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "accounts", "catalog", "billing", "demo", "distributor")
MAX_LINES = 600
MAX_BACK_UP_IMPORTS = 10


def _python_files():
    for package in (*PACKAGES, "bench", "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _owner(module: str) -> str:
    """The package a module belongs to: a billing subpackage, or the top-level app."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "billing" and len(parts) > 2 else parts[0]


def _cycles(graph) -> list[list[str]]:
    """Strongly connected sets of more than one module (Tarjan, iterative: the graph is deep)."""
    modules = sorted(m for m in graph.modules if ".migrations" not in m)
    edges = {
        m: sorted(i for i in graph.find_modules_directly_imported_by(m) if ".migrations" not in i)
        for m in modules
    }
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph(
        *PACKAGES, include_external_packages=False, exclude_type_checking_imports=True, cache_dir=None
    )
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for importer, imported in [("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.z", "a.w")]:
        graph.add_import(importer=importer, imported=imported)
    assert _cycles(graph) == [["a.x", "a.y", "a.z"]]


def test_no_package_imports_a_private_name_of_another():
    offences = []
    for path in _python_files():
        if path.parts[len(ROOT.parts)] == "tests":
            continue
        importer = _module_of(path)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or node.module is None:
                continue
            if node.module.split(".")[0] not in PACKAGES or _owner(node.module) == _owner(importer):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    offences.append(f"{importer}:{node.lineno} imports {node.module}.{alias.name}")
    assert offences == []


def test_no_module_is_longer_than_one_reader_can_hold():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _python_files()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_few_imports_run_back_up_and_each_is_written_down():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (billing,) = [c for c in config["contracts"] if c.get("containers") == ["billing"]]
    assert len(billing["ignore_imports"]) <= MAX_BACK_UP_IMPORTS
