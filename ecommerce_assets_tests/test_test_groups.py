"""The quick loop stays honest: every test module is in exactly one group, and a new module
nobody classified stops the collection instead of landing silently in no group."""

from pathlib import Path

import pytest

from .conftest import GROUPS, group_of


def test_every_test_module_is_in_exactly_one_group() -> None:
    modules = {p.stem for p in Path(__file__).parent.glob("test_*.py")}
    grouped = [m for members in GROUPS.values() for m in members]
    assert len(grouped) == len(set(grouped)), "a module is in two groups"
    assert set(grouped) == modules


def test_an_unclassified_module_fails_the_collection() -> None:
    with pytest.raises(pytest.UsageError, match=r"test_new\.py is in no test group"):
        group_of("test_new", "test_anything")
    assert group_of("test_automation", "test_a_daemon_tick") == "e2e"
    assert group_of("test_dimensions", "test_keys_stable_across_rebuild_and_added_delivery") == (
        "pipeline"
    )
    assert group_of("test_dimensions", "test_unknown_members") == "unit"
