"""The package's shape: layers, no import cycles, no private names across modules, module size.

The import graph is read from the source with :mod:`ast` — every ``import`` and
``from … import`` anywhere in a module, at module level or inside a function, because a
deferred import is still a dependency. Nothing is imported to build it.

Layers, lowest first (``DESIGN.md``, "Data flows one way"): a module may import from its
own unit and from units in lower layers, never from a unit in its own layer or above.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("prom", "radiomics_features", "apps")

#: Units from the lowest layer to the highest. A unit is a module or a sub-package.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("radiomics_features",),  # imaging: never imports prom
    ("prom.errors",),
    ("prom.naming", "prom.jsonable", "prom.options", "prom.splines", "prom.number_forms"),
    ("prom.parallel",),
    ("prom.instruments",),
    ("prom.cohort",),
    ("prom.outcomes",),
    ("prom.validation",),
    ("prom.models",),
    ("prom.explain",),
    ("prom.bundle",),
    # consumers of a bundle; prom.fhir (FHIR in: reads the instruments and the contract,
    # returns the calculator's entries) sits beside the calculator without importing it
    ("prom.report", "prom.score", "prom.calculator", "prom.fhir"),
    ("prom.workflows", "prom.service"),  # the application layer (service: prom serve's)
    ("prom.server",),  # HTTP and CDS Hooks over prom.service; run by `prom serve`
    ("prom.cli", "apps"),  # front ends
    ("prom",),  # the package's own __init__
)


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


MODULES = _modules()


def _is_package(mod: str) -> bool:
    return MODULES[mod].name == "__init__.py"


def _imports(mod: str) -> list[tuple[str, str | None, int]]:
    """``(target module, imported name or None, line)`` for every import of ours in ``mod``."""
    tree = ast.parse(MODULES[mod].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [
                (a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] in PACKAGES
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".") if _is_package(mod) else mod.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] not in PACKAGES:
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES:
                    out.append((sub, None, node.lineno))
                else:
                    out.append((target, a.name, node.lineno))
    return out


IMPORTS = {m: _imports(m) for m in MODULES}


def _unit(mod: str) -> str:
    """The longest declared unit ``mod`` belongs to."""
    best = ""
    for layer in LAYERS:
        for unit in layer:
            if (mod == unit or mod.startswith(unit + ".")) and len(unit) > len(best):
                best = unit
    return best


LAYER_OF = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def _private_module(mod: str) -> str | None:
    """The package a private module (``_x``) belongs to, or None for a public one."""
    parts = mod.split(".")
    for i, p in enumerate(parts):
        if p.startswith("_") and not (p.startswith("__") and p.endswith("__")):
            return ".".join(parts[:i])
    return None


def test_every_module_is_in_a_layer():
    assert [m for m in MODULES if not _unit(m)] == []


def test_no_upward_or_sideways_imports():
    """A unit imports only itself and lower layers (data flows one way)."""
    bad = []
    for mod, imports in IMPORTS.items():
        unit = _unit(mod)
        for target, _, line in imports:
            tunit = _unit(target)
            if tunit == unit or not tunit:
                continue
            if LAYER_OF[tunit] >= LAYER_OF[unit]:
                bad.append(f"{mod}:{line} imports {target} ({tunit} is not below {unit})")
    assert bad == []


def test_import_graph_has_no_cycles():
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, imports in IMPORTS.items():
        for target, _, _ in imports:
            if target in MODULES and target != mod:
                graph[mod].add(target)
    # Tarjan's strongly connected components, iteratively
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    counter = 0
    for root in MODULES:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        cycles.append(sorted(comp))
    # a package's __init__ re-exporting its own modules is not a cycle of design
    cycles = [c for c in cycles if not _only_package_reexports(c)]
    assert cycles == []


def _only_package_reexports(comp: list[str]) -> bool:
    """A component made only by a package's ``__init__`` and the modules inside it that
    import names from the package (``from prom.models import X`` inside prom.models.y)."""
    inits = [m for m in comp if _is_package(m)]
    return len(inits) == 1 and all(m == inits[0] or m.startswith(inits[0] + ".") for m in comp)


def test_no_private_names_imported_across_modules():
    """``from a import _b`` only inside ``a`` itself; a private module ``pkg._m`` only from
    inside ``pkg``."""
    bad = []
    for mod, imports in IMPORTS.items():
        for target, name, line in imports:
            if (
                name
                and name.startswith("_")
                and not (name.startswith("__") and name.endswith("__"))
            ) and target != mod:
                bad.append(f"{mod}:{line} imports {name} from {target}")
            owner = _private_module(target)
            if owner is not None and not (mod == owner or mod.startswith(owner + ".")):
                bad.append(f"{mod}:{line} imports the private module {target}")
    assert bad == []


#: A module may be longer than this only when its first line says why.
MAX_LINES = 500
REASON_PREFIX = "# Longer than 500 lines:"


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_long_modules_say_why(mod):
    lines = MODULES[mod].read_text(encoding="utf-8").splitlines()
    if len(lines) > MAX_LINES and not (
        lines[0].startswith(REASON_PREFIX) and len(lines[0]) > len(REASON_PREFIX) + 10
    ):
        pytest.fail(
            f"{mod} has {len(lines)} lines: split it by job, or give a one-line reason at its "
            f"top ({REASON_PREFIX} …)",
            pytrace=False,
        )


#: The one package that knows the manifest's JSON layout.
MANIFEST_PACKAGE = "prom.bundle.manifest"


def _receiver(node: ast.AST) -> str | None:
    """The last name of an expression (``bt.meta`` -> ``meta``), or None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_manifest_like(name: str | None) -> bool:
    return name is not None and (
        name in ("meta", "manifest", "tmeta") or name.endswith(("_meta", "_manifest"))
    )


def test_manifest_fields_are_read_only_through_the_typed_manifest():
    """No ``meta["…"]`` / ``manifest.get("…")`` outside the manifest package: every consumer
    of a bundle reads attributes of :class:`prom.bundle.Manifest` and its task entries.
    (Bundles are prom's: the imaging package's own sidecar files are not manifests.)"""
    bad = []
    for mod, path in MODULES.items():
        if mod.startswith((MANIFEST_PACKAGE, "radiomics_features")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
                and _is_manifest_like(_receiver(node.value))
            ):
                bad.append(f"{mod}:{node.lineno} {ast.unparse(node)}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and _is_manifest_like(_receiver(node.func.value))
            ):
                bad.append(f"{mod}:{node.lineno} {ast.unparse(node)}")
    assert bad == []


def test_prom_validation_re_exports_every_metric():
    """``prom.validation`` lists the metrics by name (static tools read it); a metric added
    to ``prom.validation.metrics`` must appear there too."""
    import prom.validation
    from prom.validation import metrics

    assert set(metrics.__all__) <= set(prom.validation.__all__)
    assert all(hasattr(prom.validation, name) for name in prom.validation.__all__)
