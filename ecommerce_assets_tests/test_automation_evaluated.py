"""Declarative automation and the daily schedule, evaluated by Dagster on a real instance.

The project's Definitions on a small generated landing zone and an instance from the project's
``dagster.yaml`` (its own event log storage, which is where check statuses are read from): days
are materialized, then ``dg.evaluate_automation_conditions`` says exactly which assets and
partitions the automation sensor would request, with the cursor carried from tick to tick as the
sensor carries it. The conditions are judged by what they request, not by their labels.

The restart of the landing sensor under the real daemon is in ``test_daemon_e2e.py``.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ecommerce_assets.assets import staging as staging_assets
from ecommerce_assets.automation import DAILY_SCHEDULE, TRIGGER_TAG, WAREHOUSE_TAG
from ecommerce_assets.checks.daily import latest_materializations
from ecommerce_assets.runner import materialize_days

from .conftest import Built, make_built, project_instance

UNPARTITIONED = {None}
# Unpartitioned assets reading every staged day of users / products, and what reads them.
USER_READERS = {"dim_users": UNPARTITIONED, "agg_customer_lifetime": UNPARTITIONED}
PRODUCT_READERS = {"dim_products": UNPARTITIONED, "agg_product_performance": UNPARTITIONED}
# dim_date spans the years of the delivered days (read from stg_load_audit).
CALENDAR = {"dim_date": UNPARTITIONED}
# The analysts' published copy reads the marts (docs/analytics.md).
ANALYTICS = {"analytics_copy": UNPARTITIONED}
RAW_AND_STAGING = ["group:raw", "group:staging"]


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    with project_instance(tmp_path, monkeypatch, batch_size=100) as inst:
        yield inst


class Ticks:
    """Successive evaluations of every automation condition, the cursor carried over."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs = defs
        self.instance = instance
        self.keys = defs.resolve_asset_graph().get_all_asset_keys()
        self.cursor = None  # the returned AssetDaemonCursor, as the sensor keeps it

    def __call__(self) -> dict[str, set[str | None]]:
        """One tick: asset -> the partitions it requests (``None``: an unpartitioned asset)."""
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        requested = {
            key.to_user_string(): set(result.get_requested_partitions(key))
            for key in self.keys
            if result.get_num_requested(key)
        }
        assert result.total_requested == sum(len(parts) for parts in requested.values())
        return requested


def failed_checks(result: dg.ExecuteInProcessResult) -> set[tuple[str, str, str | None]]:
    """(asset, check, partition) of every failed check evaluation of a run."""
    evaluations = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    return {
        (e.asset_key.to_user_string(), e.check_name, e.partition)
        for e in evaluations
        if not e.passed
    }


def built_two_days(root: Path, instance: dg.DagsterInstance) -> tuple[Built, Ticks]:
    """Two deliveries built end to end (what ``bin/build`` does), and a first tick after it."""
    built = make_built(root, days=2, scale=0.02, seed=3, clean=True)
    assert materialize_days(built.defs, built.first, built.last, instance=instance).success
    ticks = Ticks(built.defs, instance)
    assert ticks() == {}  # everything is up to date: nothing to do
    return built, ticks


def test_an_upstream_change_requests_the_assets_that_read_it(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """Day 2 re-staged by a partial run: the dimensions built from every staged day, and the
    lifetime aggregates that read them (requested in the same tick), are requested once.
    dim_date too (it reads the staged load audit); dimensions without upstreams, and assets
    partitioned by delivery (the delivery runs' job), are not."""
    built, ticks = built_two_days(tmp_path / "zone", instance)
    assert materialize_days(
        built.defs, built.last, built.last, instance=instance, selection=RAW_AND_STAGING
    ).success
    assert ticks() == {**USER_READERS, **PRODUCT_READERS, **CALENDAR, **ANALYTICS}
    assert ticks() == {}  # requested once: the next tick has nothing new


def test_a_failed_blocking_check_holds_the_readers_back_until_it_passes(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Day 2's staged users get a duplicated key (a buggy transform): its blocking key check
    fails while day 1's passed. dim_users reads every day, so it is held back (and what reads
    it), tick after tick; dim_products, whose upstream checks passed, is requested. When day 2
    is re-staged correctly, the held-back assets are requested."""
    built, ticks = built_two_days(tmp_path / "zone", instance)
    real = staging_assets.stage_table

    def buggy(spec, raw, *context):  # type: ignore[no-untyped-def]
        out = real(spec, raw, *context)
        if spec.name == "users":
            staged = pd.concat([out.staged, out.staged.head(1)], ignore_index=True)
            out = type(out)(staged, out.quarantine, out.audit)
        return out

    monkeypatch.setattr(staging_assets, "stage_table", buggy)
    result = materialize_days(
        built.defs,
        built.last,
        built.last,
        instance=instance,
        selection=RAW_AND_STAGING,
        raise_on_error=False,
    )
    day2 = built.last.isoformat()
    assert failed_checks(result) == {
        ("stg_users", "key_not_null_unique", day2),
        ("stg_load_audit", "rows_conserved", day2),  # one staged row more than delivered
    }
    assert ticks() == {**PRODUCT_READERS, **ANALYTICS}
    assert ticks() == {}  # still held back, not forgotten: see below

    monkeypatch.setattr(staging_assets, "stage_table", real)
    result = materialize_days(
        built.defs, built.last, built.last, instance=instance, selection=RAW_AND_STAGING
    )
    assert result.success and failed_checks(result) == set()
    assert ticks() == {**USER_READERS, **PRODUCT_READERS, **CALENDAR, **ANALYTICS}
    assert ticks() == {}


def report_failed_check(instance: dg.DagsterInstance, asset: str, check: str, day: date) -> None:
    """A failed evaluation of a blocking check on ``day``, aimed at that day's latest
    materialization (as the project's checks record theirs).

    Reported without a run; only once per (check, day): Dagster's SQL event log stores runless
    partitioned evaluations under one run id "", and a second one breaks its unique index."""
    target = latest_materializations(instance, asset, [day])[day.isoformat()]
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(asset),
            check_name=check,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            blocking=True,
            partition=day.isoformat(),
            target_materialization_data=target,
        )
    )


def funnel_late_events(built: Built, day: date) -> int:
    return built.query(
        "SELECT late_events FROM marts.agg_conversion_funnel WHERE business_date = ?", [day]
    )[0][0]


def test_a_late_event_re_requests_the_day_before(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """agg_conversion_funnel's day D reads the facts of deliveries D and D+1. When D+1 is
    delivered and run, exactly funnel D is requested (D+1 was built by that run), and running
    it adds D's late events. A failed blocking check on D+1's facts holds funnel D back."""
    built = make_built(tmp_path / "zone", days=3, scale=0.05, seed=11, clean=True)
    d1, d2, d3 = built.days()
    late = built.manifest(d2)["tables"]["events"]["defects"]["late_event"]
    assert late == 2  # day 2's delivery carries two of day 1's events

    assert materialize_days(built.defs, d1, d1, instance=instance).success
    ticks = Ticks(built.defs, instance)
    assert ticks() == {}
    assert funnel_late_events(built, d1) == 0

    assert materialize_days(built.defs, d2, d2, instance=instance).success
    assert ticks() == {"agg_conversion_funnel": {d1.isoformat()}}
    assert ticks() == {}
    funnel = "key:agg_conversion_funnel"
    assert materialize_days(built.defs, d1, d1, instance=instance, selection=funnel).success
    assert funnel_late_events(built, d1) == late

    # Day 3 run, but a blocking check on its facts failed: funnel day 2 waits.
    assert materialize_days(built.defs, d3, d3, instance=instance).success
    report_failed_check(instance, "fact_events", "key_not_null_unique", d3)
    assert ticks() == {}
    # The facts' checks re-run (not the facts): they pass, and funnel day 2 is requested.
    checks = dg.AssetSelection.checks_for_assets("fact_events")
    result = materialize_days(built.defs, d3, d3, instance=instance, selection=checks)
    assert result.success and failed_checks(result) == set()
    assert result.get_asset_materialization_events() == []
    assert ticks() == {"agg_conversion_funnel": {d2.isoformat()}}
    assert ticks() == {}


def tick_at(
    defs: dg.Definitions, instance: dg.DagsterInstance, day: date
) -> tuple[list[dg.RunRequest], str | None]:
    """Dagster's evaluation of the daily schedule's tick at 02:00 UTC on ``day`` (the run
    requests resolved against the job's partitions, as the daemon does)."""
    repo = defs.get_repository_def()
    schedule = repo.get_schedule_def(DAILY_SCHEDULE)
    when = datetime.combine(day, time(2), tzinfo=UTC)
    # The daemon's code server hands a tick the repository's resources the schedule names.
    resources = {
        key: resource
        for key, resource in repo.get_top_level_resources().items()
        if key in schedule.required_resource_keys
    }
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=repo, resources=resources
    ) as context:
        data = schedule.evaluate_tick(context)
    return list(data.run_requests or []), data.skip_message


def test_daily_schedule_requests_yesterday_once_and_skips_with_reasons(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """The tick after a delivery requests it; once the delivery is processed the same tick
    skips ("already processed"); the tick after a day that never arrived skips too."""
    built = make_built(tmp_path / "zone", days=2, scale=0.02, seed=3, clean=True)
    day1 = built.first

    requests, skip = tick_at(built.defs, instance, day1 + timedelta(days=1))
    assert skip is None and [r.partition_key for r in requests] == [day1.isoformat()]
    assert requests[0].tags[TRIGGER_TAG] == DAILY_SCHEDULE and requests[0].tags[WAREHOUSE_TAG]
    tags = {k: v for k, v in requests[0].tags.items() if not k.startswith("dagster/")}
    result = materialize_days(built.defs, day1, day1, instance=instance, tags=tags)  # the run
    assert result.success

    requests, skip = tick_at(built.defs, instance, day1 + timedelta(days=1))
    assert requests == [] and skip == f"the delivery of {day1} is already processed"
    missing = built.last + timedelta(days=1)
    requests, skip = tick_at(built.defs, instance, missing + timedelta(days=1))
    assert requests == []
    assert skip == (
        f"the delivery of {missing} has not arrived in {built.landing}; newest complete "
        f"delivery: {built.last}"
    )
