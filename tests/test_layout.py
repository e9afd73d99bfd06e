"""The house keeps its shape: the command table matches cli/commands/, each floor imports only the
floors below it, no module imports itself round a cycle, every relative import names a file that
exists, and functions and modules stay a size one reads in a sitting (STYLE.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from backprop.cli.app import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ("graph", "parser", "cli", "backprop")  # lowest first: each may import only those before it
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def sources(*folders: str) -> list[Path]:
    """The Python files of the given top-level folders (the links in backprop/ are not followed)."""
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py") if not _linked(path))


def _linked(path: Path) -> bool:
    return any(part.is_symlink() for part in [path, *path.parents] if ROOT in part.parents)


def module_name(path: Path) -> str:
    """backprop.graph.engine for graph/engine.py; backprop for backprop/__init__.py."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts if parts[0] == "backprop" else ["backprop", *parts])


def imports(path: Path) -> list[tuple[str, int]]:
    """(the module each import statement names, its line), relative ones resolved; lazy ones too."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.append((target, node.lineno))
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    return found


MODULES = {module_name(path): path for path in sources(*FLOORS)}


def test_the_command_table_lists_exactly_the_files_in_cli_commands():
    files = {path.stem for path in (ROOT / "cli" / "commands").glob("*.py") if path.stem != "__init__"}
    assert set(COMMANDS.values()) == files
    assert all(name == module for name, module in COMMANDS.items())


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_module_defines_its_command_and_settings(name):
    import importlib

    module = importlib.import_module(f"backprop.cli.commands.{COMMANDS[name]}")
    assert callable(module.command) and isinstance(module.SETTINGS, dict)
    assert module.command.__doc__, "the docstring is the command's --help"


def test_graph_imports_neither_lark_typer_nor_rich():
    for path in sources("graph"):
        for target, line in imports(path):
            assert target.split(".")[0] not in ("lark", "typer", "rich", "click"), f"{path.name}:{line}"


@pytest.mark.parametrize("floor", FLOORS)
def test_each_floor_imports_only_the_floors_below_it(floor):
    allowed = {f"backprop.{lower}" for lower in FLOORS[: FLOORS.index(floor) + 1]} - {"backprop.backprop"}
    for path in sources(floor):
        for target, line in imports(path):
            parts = target.split(".")
            if parts[0] != "backprop" or len(parts) == 1:
                continue  # a library, or the package face (`from backprop import parse`)
            if parts[1] in ("graph", "parser", "cli"):
                assert ".".join(parts[:2]) in allowed, f"{path.relative_to(ROOT)}:{line} imports {target}"


def test_no_module_imports_itself_round_a_cycle():
    edges = {
        name: {target for target, _ in imports(path) if target in MODULES and target != name}
        for name, path in MODULES.items()
    }
    state: dict[str, int] = {}  # 1 on the stack, 2 done; an explicit stack, as the engine walks
    for start in edges:
        stack = [(start, iter(sorted(edges[start])))]
        state.setdefault(start, 1)
        while stack:
            name, rest = stack[-1]
            following = next(rest, None)
            if following is None:
                state[name] = 2
                stack.pop()
            elif state.get(following) == 1:
                cycle = [each for each, _ in stack] + [following]
                pytest.fail("import cycle: " + " → ".join(cycle[cycle.index(following) :]))
            elif following not in state:
                state[following] = 1
                stack.append((following, iter(sorted(edges[following]))))


def test_every_relative_import_names_a_file_that_exists():
    for path in sources(*FLOORS):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                folder = path.parent
                for _ in range(node.level - 1):
                    folder = folder.parent
                target = folder.joinpath(*(node.module or "").split("."))
                named = [target / alias.name for alias in node.names]
                exists = target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()
                exists = exists or any(each.with_suffix(".py").is_file() for each in named)
                assert exists, (
                    f"{path.relative_to(ROOT)}:{node.lineno}: nothing at {target.relative_to(ROOT)}"
                )


def test_functions_and_modules_read_in_one_sitting():
    too_long = []
    for path in sources(*FLOORS, "tests", "bench"):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, "\n".join(too_long)


def test_a_checkout_imports_as_the_installed_package_does():
    """From the top of a clone, `import backprop` finds backprop/ and its links to the floors."""
    code = "import backprop, backprop.cli.app, backprop.parser.generate; print(backprop.graph.__name__)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "backprop.graph"
