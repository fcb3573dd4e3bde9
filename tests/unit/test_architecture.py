"""The architecture as tests (docs/architecture.md): the import contracts of pyproject.toml (`lint-imports`), no
import cycle between our modules, and nothing heavy done at import time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kmh", "ingest", "search", "services", "api", "web", "cli")
# What loads or runs a model: importing a module of ours must not bring any of these in (they come when a model
# is loaded). torch is left out: `import haystack` imports it, so every module with a Haystack component does.
MODEL_RUNTIMES = ("openvino", "onnxruntime", "faster_whisper", "ctranslate2", "sentence_transformers", "transformers")


def run_python(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The project's python in a fresh process that imports our packages from this checkout."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def import_graph() -> grimp.ImportGraph:
    """Our modules and the imports between them; imports under ``if TYPE_CHECKING:`` do not count."""
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Cycles through every module of each group of modules that import each other (a strongly connected
    component): from the group's first module to another and back, by the shortest chains."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:  # Tarjan's algorithm without recursion
            module, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.find_modules_directly_imported_by(successor)))))
                    break
                if successor in on_stack:
                    low[module] = min(low[module], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    found = []
    for group in groups:
        first, covered = group[0], set()
        for member in group[1:]:
            if member not in covered:
                there = graph.find_shortest_chain(importer=first, imported=member)
                back = graph.find_shortest_chain(importer=member, imported=first)
                found.append([*there, *back[1:]])
                covered.update(found[-1])
    return found


def render(graph: grimp.ImportGraph, chain: list[str]) -> str:
    """``a (l.3) -> b (l.12) -> a``: each import with the line it is on."""
    text = chain[0]
    for importer, imported in zip(chain, chain[1:]):
        lines = sorted({d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)})
        text += f" (l.{', '.join(map(str, lines))}) -> {imported}"
    return text


def test_import_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: the layers, the routers' independence, web not calling
    the API's routes."""
    answer = run_python("-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
                        "--no-cache", "--no-logo")
    if answer.returncode:
        pytest.fail(answer.stdout + answer.stderr, pytrace=False)


def test_no_import_cycle_between_our_modules():
    graph = import_graph()
    found = [render(graph, chain) for chain in cycles(graph)]
    if found:
        pytest.fail("import cycles (break each; an import that only a type needs goes under TYPE_CHECKING):\n"
                    + "\n".join(found), pytrace=False)


def test_the_cycle_finder_finds_a_cycle_and_its_shortest_chain():
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.b", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="import")
    assert cycles(graph) == [["p.a", "p.b", "p.a"], ["p.a", "p.b", "p.c", "p.a"]]  # every module of the group
    graph.remove_import(importer="p.b", imported="p.a")
    assert cycles(graph) == [["p.a", "p.b", "p.c", "p.a"]]
    graph.remove_import(importer="p.c", imported="p.a")
    assert cycles(graph) == []


IMPORT_ALL = """
import importlib, json, os, stat, sys

def regular_files():
    names = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISREG(os.fstat(int(fd)).st_mode):
                names[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return names

before = regular_files()
runtimes, brought = json.loads(sys.argv[1]), {}
for name in json.loads(sys.argv[2]):
    importlib.import_module(name)
    for runtime in runtimes:
        if runtime in sys.modules and runtime not in brought:
            brought[runtime] = name
pid = str(os.getpid())
locks = [line for line in open("/proc/locks") if pid in line.split()]
opened = {fd: path for fd, path in regular_files().items() if fd not in before}
print(json.dumps({"brought": brought, "locks": locks, "opened": opened}))
"""


def test_importing_every_module_loads_no_model_and_holds_no_file(tmp_path):
    """Every module of ours imported in one fresh process, with an empty data folder and no model kit: nothing
    brings a model runtime in, opens or locks a file, or makes the data folder."""
    modules = sorted(m for m in import_graph().modules if not m.endswith(".__main__"))
    assert len(modules) > 100 and {"cli.main", "web.app", "api.app", "services.runtime"} <= set(modules)
    data, models = tmp_path / "data", tmp_path / "no-models"
    answer = run_python("-c", IMPORT_ALL, json.dumps(MODEL_RUNTIMES), json.dumps(modules), cwd=tmp_path,
                        env={"KMH_DATA_DIR": str(data), "KMH_MODELS_DIR": str(models)})
    assert answer.returncode == 0, answer.stderr
    found = json.loads(answer.stdout.splitlines()[-1])
    assert found["brought"] == {}, f"model runtimes imported by (runtime: first module that brought it): {found['brought']}"
    assert found["locks"] == [] and found["opened"] == {}, found
    assert not data.exists() and not models.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written in the working folder either
