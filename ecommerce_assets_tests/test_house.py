"""The house rules of the package, held by the code itself: private Dagster imports in one
module, imports that run one way, no module reaching for another's private names, and rooms of
one concern (every module, the tests' too, under 400 lines)."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecommerce_assets"
MODULES = sorted(PACKAGE.rglob("*.py"))
# Layers that must not import a higher one: module prefix -> forbidden prefixes.
LOWER_THAN = {
    "contract": ("assets", "checks", "transforms", "schemas", "automation"),
    "schemas": ("assets", "checks", "transforms", "automation"),
    "transforms": ("assets", "checks", "automation"),
    "assets": ("checks", "automation"),
    "checks": ("automation",),
}


def _name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names) of ``path``, relative imports resolved inside the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _name(path).split(".")[:-1] if path.name != "__init__.py" else _name(path).split(".")
    if path.name == "__init__.py":
        package = package[:-1] if package[-1] == "__init__" else package
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(
                    ["ecommerce_assets", *base, *([node.module] if node.module else [])]
                )
            else:
                module = node.module or ""
            out.append((module, [alias.name for alias in node.names]))
    return out


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_private_dagster_imports_live_in_one_module(path: Path) -> None:
    if path.name == "dagster_internals.py":
        return
    private = [m for m, _ in _imports(path) if m.startswith("dagster._")]
    assert private == [], f"import these through ecommerce_assets/dagster_internals.py: {private}"


def test_at_most_nine_private_dagster_module_paths_each_with_its_reason() -> None:
    """Issue 27: every private module the package reaches into is one more thing an upgrade can
    break; they stay few, and the constants spelled out instead equal Dagster's."""
    internals = PACKAGE / "dagster_internals.py"
    private = {m for m, _ in _imports(internals) if m.startswith("dagster._")}
    assert len(private) <= 9, sorted(private)
    from dagster._core.events import ASSET_EVENTS
    from dagster._core.storage import tags

    from ecommerce_assets import dagster_internals as di

    assert di.ASSET_EVENTS == ASSET_EVENTS
    assert (
        di.PARTITION_NAME_TAG,
        di.ASSET_PARTITION_RANGE_START_TAG,
        di.ASSET_PARTITION_RANGE_END_TAG,
    ) == (
        tags.PARTITION_NAME_TAG,
        tags.ASSET_PARTITION_RANGE_START_TAG,
        tags.ASSET_PARTITION_RANGE_END_TAG,
    )


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_imports_run_one_way_and_never_take_private_names(path: Path) -> None:
    name = _name(path)
    forbidden = LOWER_THAN.get(name.split(".")[0], ())
    for module, names in _imports(path):
        if not module.startswith("ecommerce_assets."):
            continue
        inner = module.removeprefix("ecommerce_assets.")
        assert not inner.startswith(forbidden), f"{name} imports the higher layer {inner}"
        taken = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert taken == [], f"{name} takes private names {taken} from {inner}"


# Every module of the repository's Python, the tests' and the harness's too (issue 28).
EVERY_MODULE = sorted(
    p
    for folder in ("ecommerce_assets", "ecommerce_assets_tests", "bench")
    for p in (PACKAGE.parent / folder).rglob("*.py")
)


@pytest.mark.parametrize("path", EVERY_MODULE, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_every_module_stays_under_400_lines(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines < 400, f"{path.name}: {lines} lines; split it by concern"


# ---------------------------------------------------------------------------------------------
# Docs a test keeps true
# ---------------------------------------------------------------------------------------------
ROOT = PACKAGE.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| `ECOMMERCE_")]


def test_every_setting_the_code_reads_is_in_the_configuration_table() -> None:
    """Each ``ECOMMERCE_*`` variable the package or ``bin/`` reads has a row in the README's
    configuration table, or in a doc that table links to (the catalog API's tuning knobs)."""
    sources = [*MODULES, *(p for p in sorted((ROOT / "bin").iterdir()) if p.is_file())]
    read = set()
    for path in sources:
        # A name, not a family (``ECOMMERCE_PG_*``).
        read |= set(re.findall(r"(?<!\w)ECOMMERCE_[A-Z0-9_]*[A-Z0-9](?![\w*])", path.read_text()))
    rows = _table_rows((ROOT / "README.md").read_text())
    linked = {link for row in rows for link in re.findall(r"\((docs/[\w-]+\.md)", row)}
    for doc in linked:
        rows += _table_rows((ROOT / doc).read_text())
    documented = {
        name for row in rows for name in re.findall(r"`(ECOMMERCE_\w+)`", row.split("|")[1])
    }
    assert read - documented == set()


def test_every_path_the_docs_name_exists() -> None:
    """Module, script and image paths named in the README and docs/ exist (globs match)."""
    pattern = (
        r"(?<![\w/.-])((?:ecommerce_assets|ecommerce_assets_tests|bench|bin|deploy|constraints"
        r"|docs)/[\w./*-]*[\w*])"
    )
    missing = []
    for doc in DOCS:
        for path in set(re.findall(pattern, doc.read_text())):
            if not list(ROOT.glob(path)):
                missing.append(f"{doc.name}: {path}")
    assert missing == []
