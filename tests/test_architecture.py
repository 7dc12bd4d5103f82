"""Issue #13: the rules that keep the source walkable, checked on the source itself (``ast``,
nothing is imported, no Lava).

The modules are every ``.py`` file under the directories ``pyproject.toml``'s
``package-dir`` maps (``razor_neuro/``, ``export/`` = ``razor_neuro.export``,
``hw_profiles/``), named as Python imports them.

* **No import cycle** (:func:`test_no_import_cycle`).  An edge ``a -> b`` is every import
  of a ``razor_neuro`` module in ``a``, also those inside functions (a lazy import only
  delays the cycle) and relative ones:

  - ``import p.q.m`` and ``from p.q import m`` (``m`` a module) are edges to ``p.q.m``;
    ``from p.q import name`` (``name`` not a module) is an edge to the package ``p.q``
    (its ``__init__``), which is what runs to provide ``name``;
  - importing ``p.q.m`` first runs the ``__init__`` of each package above it, so those
    packages are edges too, except the packages above ``a`` itself: they are always
    initialised (or initialising) before ``a``'s code runs, so they are never what ``a``
    waits for.

  So a package ``__init__`` that re-exports its submodules (``netfile/__init__.py``) is
  fine: its submodules import each other, not the package.  A submodule that took a name
  from its own package (``from razor_neuro.export.netfile import Network`` inside
  ``netfile/read.py``) would be an edge back to the ``__init__`` that imports it, and is
  reported as a cycle.  Every strongly connected component must have one module.
* **Length** (:func:`test_module_length`): at most ``MAX_LINES`` lines unless the module
  docstring has a line starting with ``Long because:``; ``LONG_FOR_NOW`` lists the modules
  still to be split.
* **One definition** (:func:`test_one_definition`): the time-base and layout functions (the
  ``__all__`` of ``razor_neuro/timebase.py`` and ``razor_neuro/layout.py``) and the package-version
  functions are defined once in the repository; a method of the same name only delegates
  to it; and no other file writes the conv output-size formula inline.
"""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: library modules may be this long without a reason at their top
MAX_LINES = 400
#: modules above MAX_LINES that are still to be split (issue #13: none left); whoever
#: splits one removes it here.  Do not add modules: write a "Long because:" line instead.
LONG_FOR_NOW: set[str] = set()
#: functions defined once: the time base, the shapes and the package versions
VERSION_FUNCTIONS = ("package_version", "package_versions")
#: the conv output-size formula, ``(size + 2*p - d*(k - 1) - 1) // s + 1`` in any names
CONV_FORMULA = (re.compile(r"\b2\s*\*\s*\w+"), re.compile(r"\w+\s*\*\s*\(\s*\w+\s*-\s*1\s*\)"))
#: the formula's one home, and this file (which spells it to test the pattern)
FORMULA_HOMES = ("razor_neuro/layout.py", "tests/test_architecture.py")


# ------------------------------------------------------------------ the module graph

def package_roots() -> dict[str, Path]:
    """``{package name: directory}`` from ``pyproject.toml``'s ``package-dir``."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {name: REPO / folder
            for name, folder in config["tool"]["setuptools"]["package-dir"].items()}


def library_modules() -> dict[str, tuple[Path, bool]]:
    """``{module name: (file, is a package __init__)}`` for every module of the package."""
    roots = package_roots()
    modules: dict[str, tuple[Path, bool]] = {}
    for package, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            name = ".".join([package, *(parts[:-1] if is_package else parts)])
            if any(name.startswith(other + ".") for other in roots if other != package
                   and other.startswith(package + ".")):
                continue  # a folder another package-dir entry maps
            modules[name] = (path, is_package)
    return modules


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_edges(name: str, is_package: bool, source: str, known: set[str]) -> set[str]:
    """Modules of ``known`` that module ``name`` imports (see the module docstring);
    raises ``AssertionError`` on an import of a ``razor_neuro`` module that does not exist.
    """
    here = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[:len(here.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                targets.add(sub if sub in known else module)
    edges: set[str] = set()
    above_me = set(_parents(name))
    for target in targets:
        if target != "razor_neuro" and not target.startswith("razor_neuro."):
            continue
        assert target in known, f"{name} imports {target}, which is not a module of the package"
        edges.add(target)
        edges.update(p for p in _parents(target) if p not in above_me)
    edges.discard(name)
    return edges


def module_graph() -> dict[str, set[str]]:
    modules = library_modules()
    return {name: import_edges(name, is_package, path.read_text(), set(modules))
            for name, (path, is_package) in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_checks_can_fail() -> None:
    """The detector finds a two-module cycle, and the edges include imports inside
    functions, relative imports and a submodule's import of its own package."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    known = {"razor_neuro", "razor_neuro.export", "razor_neuro.export.netfile",
             "razor_neuro.export.netfile.ir", "razor_neuro.export.netfile.read",
             "razor_neuro.export.layout", "razor_neuro.schedule"}
    source = ("from .ir import Network\n"
              "from ..layout import conv_out_size\n"
              "def f():\n    from razor_neuro.export.netfile import read_network\n"
              "    import razor_neuro.schedule\n")
    edges = import_edges("razor_neuro.export.netfile.read", False, source, known)
    assert edges == {"razor_neuro.export.netfile.ir", "razor_neuro.export.layout",
                     "razor_neuro.export.netfile", "razor_neuro.schedule"}
    package = import_edges("razor_neuro.export.netfile", True, "from . import read\n", known)
    assert cycles({"razor_neuro.export.netfile.read": edges,
                   "razor_neuro.export.netfile": package}) == [
        ["razor_neuro.export.netfile", "razor_neuro.export.netfile.read"]]
    # importing razor_neuro.export.layout from outside runs razor_neuro.export's __init__
    assert import_edges("razor_neuro.schedule", False,
                        "from razor_neuro.export.layout import conv_out_size\n", known) == {
        "razor_neuro.export.layout", "razor_neuro.export"}


def one_way_violations(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Edges that break the one-way house: a training-side module (``razor_neuro.*`` outside
    ``razor_neuro.export`` and ``hw_profiles``) other than the CLI importing the deployment
    half, or a deployment module importing training other than through its checkpoint."""
    cli = {"razor_neuro.cli", "razor_neuro.commands"}
    training_ok = {"razor_neuro.training", "razor_neuro.training.checkpoint"}
    bad = []
    for a, targets in sorted(graph.items()):
        deploy = a == "razor_neuro.export" or a.startswith("razor_neuro.export.")
        for b in sorted(targets):
            to_deploy = b == "razor_neuro.export" or b.startswith("razor_neuro.export.")
            if not deploy and a not in cli and to_deploy and \
                    not a.startswith("razor_neuro.hw_profiles"):
                bad.append((a, b))
            if deploy and (b.startswith("razor_neuro.training") and b not in training_ok
                           or b in ("razor_neuro.model", "razor_neuro.epm")):
                bad.append((a, b))
    return bad


def test_one_way_house() -> None:
    """Training never imports deployment (only the CLI imports both); deployment reaches
    training only through ``training/checkpoint.py``."""
    assert one_way_violations({"razor_neuro.model": {"razor_neuro.export.timebase"},
                               "razor_neuro.export.verify": {"razor_neuro.training.loop"},
                               "razor_neuro.cli": {"razor_neuro.export.verify"},
                               "razor_neuro.export.exporter": {
                                   "razor_neuro.training.checkpoint"}}) == [
        ("razor_neuro.export.verify", "razor_neuro.training.loop"),
        ("razor_neuro.model", "razor_neuro.export.timebase")]
    assert one_way_violations(module_graph()) == []


def relative_imports(source: str) -> list[int]:
    """Lines of ``from .x import`` / ``from ..x import`` statements."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ImportFrom) and node.level]


def test_one_import_style() -> None:
    """Every module of the package imports its siblings by absolute name."""
    assert relative_imports("from .ir import Network\nimport os\n") == [1]
    assert relative_imports("from razor_neuro.export.netfile.ir import Network\n") == []
    found = {name: lines for name, (path, _) in library_modules().items()
             if (lines := relative_imports(path.read_text()))}
    assert found == {}


#: what runs a simulation: Lava's graph and runtime, the reference, and (as a method) the
#: reference's run function
SIMULATION_CALLS = ("LavaGraph", "Reference", "RunSteps", "Loihi2SimCfg")
SIMULATION_METHODS = ("simulate",)
#: the backend interface, and the two modules that define what it calls
SIMULATION_HOMES = ("razor_neuro.export.backend", "razor_neuro.export.lava_graph",
                    "razor_neuro.export.reference")


def simulation_calls(source: str) -> list[str]:
    """Calls in ``source`` of a name in :data:`SIMULATION_CALLS` or a method in
    :data:`SIMULATION_METHODS` (a plain function ``simulate`` is NIR's float model)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in SIMULATION_CALLS or \
                    isinstance(f, ast.Attribute) and f.attr in SIMULATION_CALLS + SIMULATION_METHODS:
                found.append(f.id if isinstance(f, ast.Name) else f.attr)
    return found


def test_only_the_backend_runs_simulators() -> None:
    """verify, run, report and import call Lava and the reference through
    ``export/backend.py`` only."""
    assert simulation_calls("g = LavaGraph(net, 4)\nr = ref.simulate(x)\nsimulate(c, x)\n") == [
        "LavaGraph", "simulate"]
    found = {name: calls for name, (path, _) in library_modules().items()
             if name not in SIMULATION_HOMES and (calls := simulation_calls(path.read_text()))}
    assert found == {}


def test_no_import_cycle() -> None:
    graph = module_graph()
    assert "razor_neuro.timebase" in graph and "razor_neuro.cli" in graph
    assert cycles(graph) == []


# ------------------------------------------------------------------------- length

def _has_reason(source: str) -> bool:
    doc = ast.get_docstring(ast.parse(source)) or ""
    return any(line.strip().startswith("Long because:") for line in doc.splitlines())


def test_module_length() -> None:
    long = {}
    for path, _ in library_modules().values():
        source = path.read_text()
        lines = len(source.splitlines())
        if lines > MAX_LINES and not _has_reason(source):
            long[path.relative_to(REPO).as_posix()] = lines
    assert _has_reason('"""A model.\n\nLong because: one table.\n"""\n')
    assert not _has_reason('"""A model.\n\nIt is long because it is.\n"""\n')
    unexplained = {path: n for path, n in long.items() if path not in LONG_FOR_NOW}
    assert unexplained == {}, f"above {MAX_LINES} lines without a 'Long because:' line"
    split = sorted(LONG_FOR_NOW - set(long))
    assert split == [], "split or explained already: remove from LONG_FOR_NOW"


# ---------------------------------------------------------------- one definition

def repository_files() -> list[Path]:
    """Every ``.py`` file of the repository outside hidden folders and build output."""
    skip = {"build", "dist", "node_modules", "__pycache__"}
    return sorted(p for p in REPO.rglob("*.py")
                  if not any(part.startswith(".") or part in skip or part.endswith(".egg-info")
                             for part in p.relative_to(REPO).parts[:-1]))


def _exported(path: Path) -> list[str]:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__"
                                                for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]
    raise AssertionError(f"{path}: no __all__")


def _definitions(tree: ast.AST, names: set[str]) -> tuple[list[str], list[str]]:
    """``(functions, methods that do not delegate)`` of ``tree`` named in ``names``: a
    method delegates when it calls a function of its own name (``window_start(...)``,
    ``timebase.pipeline_delay(...)``)."""
    functions, methods = [], []
    for parent in ast.walk(tree):
        for node in ast.iter_child_nodes(parent):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
                    node.name not in names:
                continue
            if not isinstance(parent, ast.ClassDef):
                functions.append(node.name)
                continue
            calls = {c.func.id if isinstance(c.func, ast.Name) else
                     c.func.attr if isinstance(c.func, ast.Attribute) and not (
                         isinstance(c.func.value, ast.Name) and c.func.value.id == "self")
                     else None for c in ast.walk(node) if isinstance(c, ast.Call)}
            if node.name not in calls:
                methods.append(node.name)
    return functions, methods


def _inline_formula(line: str) -> bool:
    return all(p.search(line) for p in CONV_FORMULA)


def test_one_definition() -> None:
    names = {*_exported(REPO / "razor_neuro" / "timebase.py"),
             *_exported(REPO / "razor_neuro" / "layout.py"), *VERSION_FUNCTIONS}
    assert {"lava_latency", "window_start", "conv_out_size", "swap_spike_order"} <= names
    defined: dict[str, list[str]] = {name: [] for name in names}
    copies, formulas = [], []
    for path in repository_files():
        rel = path.relative_to(REPO).as_posix()
        source = path.read_text()
        functions, methods = _definitions(ast.parse(source), names)
        for name in functions:
            defined[name].append(rel)
        copies += [f"{rel}: method {name}" for name in methods]
        formulas += [f"{rel}:{i}" for i, line in enumerate(source.splitlines(), 1)
                     if _inline_formula(line) and rel not in FORMULA_HOMES]
    assert {name: files for name, files in defined.items() if len(files) != 1} == {}
    assert copies == [], "a method of the same name must call the one definition"
    assert formulas == [], "conv output size: call razor_neuro.layout.conv_out_size"
    # the checks themselves
    tree = ast.parse("class G:\n    def window_start(self, i):\n        return i + 1\n"
                     "class H:\n    def window_start(self, i):\n"
                     "        return window_start(self.n, i)\n")
    assert _definitions(tree, {"window_start"}) == ([], ["window_start"])
    assert _inline_formula("    return (n + 2 * pad - dil * (k - 1) - 1) // s + 1")
    assert not _inline_formula("pad = tuple(d * (k - 1) // 2 for d, k in pairs)")
