"""The package's import layers, read from its source with `ast` (nothing is imported or run).

Lowest first: core < aws < manifest < image < release < onboard < commands < cli. A module imports only
its own layer or a lower one (lazy imports inside functions count too); no two modules import each
other, directly or round a loop; boto3/botocore are imported, and AWS clients made, in deployer/aws/
only; a command does not import another command (what two commands share lives in release/ or
onboard/); the layers below release/ take plain values, never the per-invocation `run`
(deployer/release/context.py's Target).
Each failure names file:line and the import.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "deployer"
LAYERS = ["core", "aws", "manifest", "image", "release", "onboard", "commands", "cli"]
AWS_SDK = ("boto3", "botocore")
# Modules of commands/ that are not commands.
NOT_COMMANDS = {"deployer.commands"}
# Layers that take plain values: the per-invocation context (release/context.py) lives above them.
PLAIN_DATA_LAYERS = ("core", "aws", "manifest", "image")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    """deployer (the package's face) is below everything; __main__ above everything."""
    parts = module.split(".")
    if module == "deployer":
        return -1
    if parts[1] == "__main__":
        return len(LAYERS)
    assert parts[1] in LAYERS, f"{module}: not in a layer ({', '.join(LAYERS)}): move it into one"
    return LAYERS.index(parts[1])


def _imports(module: str, path: Path):
    """(line, imported module, text) for every import in the file, lazy ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield node.lineno, full if full in MODULES else base, f"from {'.' * node.level}{node.module or ''} import {alias.name}"


def _graph():
    edges = {}
    for module, path in MODULES.items():
        for line, target, text in _imports(module, path):
            edges.setdefault(module, []).append((line, target, text))
    return edges


EDGES = _graph()


def _where(module: str, line: int) -> str:
    return f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}"


def test_every_module_is_in_a_layer():
    assert [m for m in MODULES if m.count(".") == 1 and m.split(".")[1] not in LAYERS + ["__main__"]] == []


def test_no_module_imports_a_higher_layer():
    up = [f"{_where(m, line)}: {text}  ({LAYERS[_layer(m)] if 0 <= _layer(m) < len(LAYERS) else m} imports {LAYERS[_layer(t)]})"
          for m, edges in EDGES.items() for line, t, text in edges
          if t.startswith("deployer") and t in MODULES and _layer(t) > _layer(m)]
    assert up == [], "imports that run up a layer:\n" + "\n".join(up)


def test_the_aws_sdk_is_imported_in_deployer_aws_only():
    outside = [f"{_where(m, line)}: {text}" for m, edges in EDGES.items() for line, t, text in edges
               if t.split(".")[0] in AWS_SDK and not (m == "deployer.aws" or m.startswith("deployer.aws."))]
    assert outside == [], "boto3/botocore outside deployer/aws/:\n" + "\n".join(outside)


def test_aws_clients_are_made_in_deployer_aws_only():
    """`x.client("ssm")` outside deployer/aws/: the call, its retries and its error codes belong in an adapter."""
    found = []
    for module, path in MODULES.items():
        if module == "deployer.aws" or module.startswith("deployer.aws."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append(f"{_where(module, node.lineno)}: .client({node.args[0].value!r})")
    assert found == [], "AWS clients made outside deployer/aws/ (add an adapter method there):\n" + "\n".join(found)


def test_no_command_imports_another_command():
    def command(m):
        return m.startswith("deployer.commands.") and m not in NOT_COMMANDS

    found = [f"{_where(m, line)}: {text}" for m, edges in EDGES.items() if command(m)
             for line, t, text in edges if command(t) and t != m]
    assert found == [], "commands importing commands (move what they share to release/ or onboard/):\n" + "\n".join(found)


def _run_parameters(tree: ast.AST):
    """(line, function) for every parameter named `run` in the tree (functions, methods, lambdas)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            if any(arg.arg == "run" for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if arg is not None):
                yield node.lineno, getattr(node, "name", "lambda")


def test_no_run_parameter_below_release():
    """core/, aws/, manifest/ and image/ never take the per-invocation `run` (release/context.py's Target): they
    would read run.config, run.aws, run.options... by duck typing from an object defined above them. They take
    the values themselves, or a dataclass of their own (manifest/render.py's RenderInputs)."""
    found = [f"{_where(m, line)}: {name}() takes `run`" for m, path in MODULES.items() if m.count(".") >= 1 and m.split(".")[1] in PLAIN_DATA_LAYERS
             for line, name in _run_parameters(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == [], ("a `run` parameter below release/ (pass the config, the session, the console... it needs, "
                         "or a dataclass of its layer):\n" + "\n".join(found))


def test_no_import_cycles():
    graph = {m: sorted({t for _, t, _ in edges if t in MODULES and t != m}) for m, edges in EDGES.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def connect(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, []):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in MODULES:
        if v not in index:
            connect(v)
    report = []
    for component in cycles:
        report.append("cycle: " + ", ".join(component))
        report += [f"  {_where(m, line)}: {text}" for m in component
                   for line, t, text in EDGES.get(m, []) if t in component and t != m]
    assert cycles == [], "import cycles:\n" + "\n".join(report)


def test_the_checker_reads_the_package():
    """A guard for the guard: it finds the modules and their imports (a test over nothing passes)."""
    assert len(MODULES) > 30
    assert any(t == "deployer.core.errors" for edges in EDGES.values() for _, t, _ in edges)
    sample = "def a(run): ...\nclass B:\n    def c(self, *, run=None): ...\nd = lambda run: run\ndef e(runner, *args, **run): ..."
    assert sorted(_run_parameters(ast.parse(sample))) == [(1, "a"), (3, "c"), (4, "lambda"), (5, "e")]
    assert any(m.split(".")[1] == layer for layer in PLAIN_DATA_LAYERS for m in MODULES if m.count(".") >= 1)
