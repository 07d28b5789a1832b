"""The shape the README's architecture section promises, checked: small modules, no import
cycles, every sub-package saying what it is (issue 12), few top-level modules and the engine's
layers importing one way, imports inside functions included (issue 20)."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("engine", "viewer")
MAX_LINES = 400
MAX_TOP_LEVEL_MODULES = 8


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, path: Path, modules: dict[str, Path], nodes: list[ast.stmt]) -> set[str]:
    """The package modules that the import statements ``nodes`` of module ``name`` import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            targets |= {f"{base}.{alias.name}" for alias in node.names}
    return {target for target in targets if target in modules and target != name}


def _load_time_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports when it is loaded: top-level statements only (not
    inside functions, which import lazily on purpose, nor under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports: list[ast.stmt] = []
    statements: list[ast.stmt] = list(tree.body)
    while statements:
        node = statements.pop()
        if isinstance(node, ast.If) and not _is_type_checking(node):
            statements += node.body + node.orelse
        elif isinstance(node, ast.Try):
            statements += node.body + node.orelse + node.finalbody
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(node)
    return _resolve(name, path, modules, imports)


def _all_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every package module ``name`` imports anywhere: a lazy import inside a function is still
    a dependency, and so is one for type checking (import-linter counts both too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    return _resolve(name, path, modules, imports)


def test_no_module_is_over_400_lines() -> None:
    long = {
        name: lines
        for name, path in _modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them by what they do): {long}"


def test_no_import_cycles_at_load_time() -> None:
    modules = _modules()
    graph = {name: _load_time_imports(name, path, modules) for name, path in modules.items()}
    # A package's __init__ importing its own sub-modules (to export their names) is the usual
    # shape, not a cycle of two modules that need each other.
    for name in graph:
        graph[name] = {
            target
            for target in graph[name]
            if not (target.startswith(name + ".") or name.startswith(target + "."))
        }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize(
    "package",
    sorted(
        name
        for name, path in _modules().items()
        if path.name == "__init__.py" and name not in PACKAGES
    ),
)
def test_every_sub_package_says_what_it_is(package: str) -> None:
    path = _modules()[package]
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring and len(docstring.split()) >= 5, f"{path} needs a docstring saying what it is"


@pytest.mark.parametrize("package", PACKAGES)
def test_few_modules_at_the_top_of_a_package(package: str) -> None:
    top = sorted(path.name for path in (REPO / package).glob("*.py") if path.name != "__init__.py")
    assert len(top) <= MAX_TOP_LEVEL_MODULES, (
        f"{package}/ has {len(top)} top-level modules (at most {MAX_TOP_LEVEL_MODULES}; move "
        f"some into the sub-package of the part they belong to): {top}"
    )


def _layers_contract() -> dict[str, object]:
    """The engine's import-linter ``layers`` contract, as pyproject.toml states it."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c["type"] == "layers" and c["containers"] == ["engine"]]
    return dict(contract)


def _engine_layers() -> list[set[str]]:
    """The engine's layers, top first, each the set of its packages' or modules' dotted names."""
    layers = _layers_contract()["layers"]
    assert isinstance(layers, list)
    return [{f"engine.{part.strip()}" for part in re.split(r"[|:]", layer)} for layer in layers]


def _layer_of(module: str, layers: list[set[str]]) -> int | None:
    for index, layer in enumerate(layers):
        if any(module == top or module.startswith(top + ".") for top in layer):
            return index
    return None


def test_engine_imports_go_down_the_layers_even_inside_functions() -> None:
    modules = _modules()
    layers = _engine_layers()
    layer = {name: _layer_of(name, layers) for name in modules if name.startswith("engine.")}
    unplaced = sorted(name for name, index in layer.items() if index is None)
    assert not unplaced, f"engine modules in no layer of pyproject.toml's contract: {unplaced}"
    upward = [
        f"{name} -> {target}"
        for name in layer
        for target in sorted(_all_imports(name, modules[name], modules))
        if target in layer and layer[target] < layer[name]
    ]
    assert not upward, "imports from a lower layer to a higher one: " + "; ".join(upward)


@pytest.fixture(scope="module")
def engine_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of engine/ with only the layers contract of pyproject.toml beside it."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(REPO / "engine", root / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    contract = "\n".join(
        f"{key} = {json.dumps(value)}" for key, value in _layers_contract().items()
    )
    (root / "pyproject.toml").write_text(
        f'[tool.importlinter]\nroot_packages = ["engine"]\n\n'
        f"[[tool.importlinter.contracts]]\n{contract}\n",
        encoding="utf-8",
    )
    return root


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # The copy's directory comes first on sys.path, so its engine is the one analysed.
    command = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    return subprocess.run(
        [sys.executable, "-c", command, "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_layers_contract_holds_on_the_engine_as_it_is(engine_copy: Path) -> None:
    result = _lint_imports(engine_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    "planted",
    ["from engine.cli import main\n", "def _f() -> None:\n    from engine.cli import main\n"],
    ids=["at load time", "inside a function"],
)
def test_the_layers_contract_fails_on_a_back_import(
    engine_copy: Path, tmp_path: Path, planted: str
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(engine_copy, root)
    files = root / "engine" / "imaging" / "files.py"
    files.write_text(files.read_text(encoding="utf-8") + "\n\n" + planted, encoding="utf-8")
    result = _lint_imports(root)
    assert result.returncode != 0, result.stdout
    name = str(_layers_contract()["name"])
    assert re.search(r"\s+".join(map(re.escape, f"{name} BROKEN".split())), result.stdout), (
        result.stdout
    )
    assert "engine.imaging.files -> engine.cli" in result.stdout
