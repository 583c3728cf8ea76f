"""The project's definitions with one staging bug, for tests that need a blocking check to fail
in a real webserver, daemon and run worker (which load code by module name, so no monkeypatch
in the test process reaches them).

The bug: staging no longer quarantines a user's ``updated_at`` after its delivery day. Every row
the contract allows is staged and every defect it names is quarantined, so no delivery can fail
a blocking check of the staged layer; those checks are there to catch a transform that breaks.
Here ``stg_users:dates_in_range`` (ERROR, blocking) catches this one.
"""

from __future__ import annotations

from ecommerce_assets.transforms import staging_rules

staging_rules.FUTURE["users"] = [c for c in staging_rules.FUTURE["users"] if c != "updated_at"]

from ecommerce_assets.definitions import defs  # noqa: E402

__all__ = ["defs"]
