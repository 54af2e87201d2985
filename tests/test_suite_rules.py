"""The test suite's own rules, so they stay true as tests are added.

- Tests share code through tests/helpers/ (imported by name) and tests/conftest.py (fixtures, by
  injection): no module imports a test module or a conftest.
- Hypothesis profiles are registered and loaded in one place (tests/helpers/profiles.py, chosen
  by HYPOTHESIS_PROFILE); a test may set its own budget (max_examples, health checks) but not
  what a profile decides for the whole run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PROFILES = TESTS / "helpers" / "profiles.py"
# Settings a profile decides for the whole run (tests/helpers/profiles.py).
RUN_WIDE = {"deadline", "derandomize", "database", "print_blob"}


def sources() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def is_test_module_or_conftest(module: str) -> bool:
    """`test_x`, `conftest`, `push_receiver` (the old helper module) as top-level names (tests/
    on sys.path), or any of them under `tests.`; not `aiohttp.test_utils` and the like."""
    first, _, rest = module.partition(".")
    if first == "tests":
        last = rest.rsplit(".", 1)[-1]
        return last.startswith("test_") or last == "conftest"
    return not rest and (first.startswith("test_") or first in ("conftest", "push_receiver"))


def test_the_rules_see_the_whole_suite() -> None:
    assert is_test_module_or_conftest("test_vendor_queries")
    assert is_test_module_or_conftest("tests.conftest")
    assert not is_test_module_or_conftest("aiohttp.test_utils")
    names = {p.relative_to(TESTS).as_posix() for p in sources()}
    assert {"conftest.py", "helpers/profiles.py", "test_suite_rules.py"} <= names


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.relative_to(TESTS).as_posix())
def test_no_module_imports_a_test_module_or_a_conftest(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    wrong = sorted(m for m in imported_modules(tree) if is_test_module_or_conftest(m))
    assert wrong == [], f"import from tests/helpers/ or use a conftest fixture instead of {wrong}"


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.relative_to(TESTS).as_posix())
def test_only_the_profiles_decide_run_wide_hypothesis_settings(path: Path) -> None:
    if path == PROFILES:
        return
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        assert name not in ("register_profile", "load_profile"), (
            f"line {node.lineno}: profiles live in tests/helpers/profiles.py")
        if name == "settings":
            run_wide = sorted({k.arg for k in node.keywords if k.arg} & RUN_WIDE)
            assert run_wide == [], (
                f"line {node.lineno}: {run_wide} is the profile's to decide (HYPOTHESIS_PROFILE)")
