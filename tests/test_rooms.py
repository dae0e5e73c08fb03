"""The project's rooms and what each may import (docs/architecture.md, "Rooms"), checked from the source.

Rooms, lower first; a room may import itself and the rooms below it, never one above:
``emotionsite`` infrastructure and ``inference`` < ``audit`` < ``accounts`` < ``api_tokens`` <
``sessions_app`` < ``people`` < ``live`` < ``summaries`` < ``studies``; the project's wiring (``emotionsite.urls``,
``emotionsite.routing``, ``emotionsite.asgi``) sits above them all. Across modules no private name
(``_name``) is imported or reached through an imported module. Migrations are left out: a historic
migration names the callables its fields were built with, wherever they live now.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = [
    "inference",
    "emotionsite",
    "audit",
    "accounts",
    "api_tokens",
    "projects",
    "sessions_app",
    "people",
    "live",
    "summaries",
    "studies",
]
WIRING = {"emotionsite.urls", "emotionsite.routing", "emotionsite.asgi"}
RANK = {room: i for i, room in enumerate(ORDER)}


def room_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in RANK else None


def modules() -> list[tuple[str, Path]]:
    out = []
    for room in ORDER:
        for path in sorted((ROOT / room).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(p for p in rel.parts if p != "__init__")
            out.append((name, path))
    return out


def imports(path: Path, module: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import, nested ones too."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            found.append((base, [a.name for a in node.names], node.lineno))
    return found


def private_reaches(path: Path) -> list[tuple[str, int]]:
    """``module._name`` where ``module`` was imported into this file (attribute access on an import)."""
    tree = ast.parse(path.read_text())
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and room_of(node.module):
            bound.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names if room_of(a.name))
    return [
        (f"{node.value.id}.{node.attr}", node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in bound
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and node.attr != "_meta"  # Django's documented model metadata API
    ]


def test_rooms_import_only_rooms_below_them():
    wrong = []
    for module, path in modules():
        here = room_of(module)
        if module in WIRING:
            continue
        for target, _names, line in imports(path, module):
            there = room_of(target)
            if there and RANK[there] > RANK[here]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({here}) imports {target} ({there})")
            if target in WIRING and module not in WIRING:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports the project's wiring {target}")
    assert not wrong, "imports against the rooms' order:\n" + "\n".join(wrong)


def test_no_private_name_crosses_a_module():
    wrong = []
    for module, path in modules():
        for target, names, line in imports(path, module):
            if room_of(target) and target != module:
                wrong += [f"{path.relative_to(ROOT)}:{line} imports {target}.{n}" for n in names if n.startswith("_")]
        wrong += [f"{path.relative_to(ROOT)}:{line} reaches {name}" for name, line in private_reaches(path)]
    assert not wrong, "private names used across modules:\n" + "\n".join(wrong)


def test_sessions_app_names_no_other_domain():
    # file names carry no other room's name: people_*, live_*, login_*, audit* belong to their rooms
    others = ("people", "person", "live", "login", "audit", "account", "privacy", "suggestion", "identity")
    named = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "sessions_app").rglob("*.py")
        if "migrations" not in p.parts and any(word in p.stem for word in others)
    ]
    assert not named, f"modules of sessions_app named for another room: {named}"


@pytest.mark.parametrize("room", ["audit", "accounts", "sessions_app", "people", "live", "studies"])
def test_each_room_is_a_django_app(room):
    from django.apps import apps

    assert apps.get_app_config(room).name == room
