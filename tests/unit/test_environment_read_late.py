"""deployer reads its environment variables when it uses them, never when a module is imported: a
value frozen at import would ignore the variable in any process that imported deployer first (a
test zygote, an embedding program), and the tests could not set it per command."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "deployer"
# Sets a default for typer before typer is imported: a write, not a read.
ALLOWED = {("cli/__init__.py", "setdefault")}


def _module_level(tree: ast.Module):
    """The nodes that run at import: everything outside function bodies (class bodies run too)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for default in node.args.defaults + node.args.kw_defaults:  # defaults are evaluated at import
                if default is not None:
                    todo.append(default)
            todo.extend(getattr(node, "decorator_list", []))
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def environment_reads_at_import(source: str, name: str) -> list[str]:
    found = []
    for node in _module_level(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            found.append((node.lineno, node.attr))
    return [f"{name}:{line}: reads os.{attr} at import" for line, attr in found
            if not any(name.endswith(path) and _only(source, line, what) for path, what in ALLOWED)]


def _only(source: str, line: int, what: str) -> bool:
    return what in source.splitlines()[line - 1]


def test_no_module_reads_the_environment_at_import():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        problems += environment_reads_at_import(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    assert not problems, "\n".join(problems)


def test_the_check_finds_a_read_at_import_and_passes_one_in_a_function():
    assert environment_reads_at_import("import os\nWINDOW = float(os.environ.get('X') or 30)\n", "m.py") == [
        "m.py:2: reads os.environ at import"]
    assert environment_reads_at_import("import os\ndef window(default=os.getenv('X')):\n    pass\n", "m.py") == [
        "m.py:2: reads os.getenv at import"]
    assert environment_reads_at_import("import os\ndef window():\n    return os.environ.get('X')\n", "m.py") == []
