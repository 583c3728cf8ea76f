"""PooledSqliteEventLogStorage: Dagster's event batches in one transaction per shard, same rows.

A toy partitioned asset (and a second one, and a check) is materialized for 40 days in one run
with ``DAGSTER_EVENT_BATCH_SIZE`` set, in an instance configured like ``dagster_home``.
"""

import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from ecommerce_assets import instance_storage
from ecommerce_assets.instance_storage import (
    STRICT_ENV,
    BatchFallbackError,
    PooledSqliteEventLogStorage,
)
from ecommerce_assets.runner import range_tags

from .conftest import project_instance

START, DAYS, BATCH = date(2024, 1, 1), 40, 16
DAY_KEYS = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]
PARTITIONS = dg.DailyPartitionsDefinition(
    start_date=START.isoformat(), end_date=(START + timedelta(days=DAYS)).isoformat()
)
MATERIALIZATION = dg.DagsterEventType.ASSET_MATERIALIZATION
PLANNED = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _toy(name: str, offset: int) -> dg.AssetsDefinition:
    @dg.asset(name=name, partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run())
    def _asset(context: dg.AssetExecutionContext) -> None:
        for day in context.partition_keys:
            context.add_asset_metadata({"n": DAY_KEYS.index(day) + offset}, partition_key=day)

    return _asset


TOY, OTHER = _toy("toy", 0), _toy("other", 1000)


@dg.asset_check(asset=TOY)
def toy_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """An instance from the project's dagster.yaml with its data/dagster dirs under tmp_path."""
    with project_instance(tmp_path, monkeypatch, batch_size=BATCH) as inst:
        assert isinstance(inst.event_log_storage, PooledSqliteEventLogStorage)
        assert str(tmp_path) in inst.event_log_storage._base_dir
        yield inst


def test_batched_range_run(instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[list[dg.EventLogEntry]] = []
    singles: list[dg.EventLogEntry] = []
    commits: list[Counter[str]] = []  # per store_event_batch call: commits per shard file
    in_batch: list[bool] = [False]
    original_batch = PooledSqliteEventLogStorage.store_event_batch

    def batch_spy(self: PooledSqliteEventLogStorage, events: Any) -> None:
        batches.append(list(events))
        commits.append(Counter())
        in_batch[0] = True
        try:
            original_batch(self, events)
        finally:
            in_batch[0] = False

    def on_commit(conn: Any) -> None:
        if in_batch[0]:
            commits[-1][Path(conn.engine.url.database).name] += 1

    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event_batch", batch_spy)
    original_single = PooledSqliteEventLogStorage.store_event

    def single_spy(self: PooledSqliteEventLogStorage, event: dg.EventLogEntry) -> None:
        singles.append(event)
        original_single(self, event)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event", single_spy)
    sa_event.listen(Engine, "commit", on_commit)
    try:
        result = dg.materialize(
            [TOY, OTHER, toy_check],
            instance=instance,
            tags=range_tags(START, START + timedelta(days=DAYS - 1)),
            run_config=QUIET,
        )
    finally:
        sa_event.remove(Engine, "commit", on_commit)
    assert result.success
    run_id = result.run_id

    # Dagster batched each asset's 40 materializations 16 + 16 + 8; none took the per-event path.
    # Dagster batched each asset's 40 materializations 16 + 16 + 8; none took the per-event path.
    steps = [(b[0].step_key, len(b)) for b in batches if b[0].dagster_event_type == MATERIALIZATION]
    assert sorted(steps) == sorted((key, n) for key in ("other", "toy") for n in (16, 16, 8))
    assert [e for e in singles if e.dagster_event_type == MATERIALIZATION] == []
    assert any(e.dagster_event_type == PLANNED for b in batches for e in b)  # also batched
    assert len(singles) > 0  # the spy sees the run's other events
    # One transaction (commit) on the run's shard and one on the index shard per batch.
    for events, per_shard in zip(batches, commits, strict=True):
        if all(e.dagster_event_type in {PLANNED, MATERIALIZATION} for e in events):
            assert per_shard == Counter({f"{run_id}.db": 1, "index.db": 1})

    for key, offset in ((TOY.key, 0), (OTHER.key, 1000)):
        records = instance.fetch_materializations(key, limit=1000).records
        assert Counter(r.partition_key for r in records) == Counter(DAY_KEYS)  # once each
        for record in records:
            metadata = record.asset_materialization.metadata
            assert metadata["n"].value == DAY_KEYS.index(record.partition_key) + offset
        assert instance.get_materialized_partitions(key) == set(DAY_KEYS)
        latest = instance.get_latest_materialization_event(key)
        assert latest is not None and latest.run_id == run_id
        assert latest.asset_materialization.partition == DAY_KEYS[-1]
        assert latest.asset_materialization.metadata["n"].value == DAYS - 1 + offset
    assert instance.get_asset_records([TOY.key])[0].asset_entry.last_run_id == run_id
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [toy_check.check_key]
    )
    assert check[toy_check.check_key].run_id == run_id


_VOLATILE = {"create_timestamp", "update_timestamp", "migration_completed"}


def _dump(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table, without the columns stamped with the wall clock on insert."""
    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        dump = {}
        for table in tables:
            cursor = con.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            keep = [i for i, d in enumerate(cursor.description) if d[0] not in _VOLATILE]
            dump[table] = [tuple(row[i] for i in keep) for row in cursor]
    return dump


@pytest.mark.parametrize("mode", ["whole-run", "asset-events", "failed-batch"])
def test_batch_rows_equal_per_event_rows(
    instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The run's events stored by one store_event_batch call give the rows of store_event.

    whole-run: every event of the run, asset-check and run events among them; asset-events: the
    planned and materialization events of both assets, one stretch; failed-batch: the same with
    the first batch transaction failing late, which must leave no trace before the fallback.
    """
    result = dg.materialize(
        [TOY, OTHER, toy_check],
        instance=instance,
        tags=range_tags(START, START + timedelta(days=DAYS - 1)),
        run_config=QUIET,
    )
    events = list(instance.all_logs(result.run_id))
    if mode != "whole-run":
        events = [e for e in events if e.dagster_event_type in {PLANNED, MATERIALIZATION}]
    kinds = Counter(e.dagster_event_type for e in events)
    assert kinds[MATERIALIZATION] == 2 * DAYS
    assert kinds[PLANNED] == 2
    assert kinds[dg.DagsterEventType.ASSET_CHECK_EVALUATION] == (mode == "whole-run")

    one_by_one = PooledSqliteEventLogStorage(str(tmp_path / "one_by_one"))
    for event in events:
        one_by_one.store_event(event)
    one_by_one.dispose()

    failures: list[int] = []
    if mode == "failed-batch":
        monkeypatch.delenv(STRICT_ENV)  # production: the fallback, with one warning
        original = PooledSqliteEventLogStorage._store_asset_event

        def fail_once(self: PooledSqliteEventLogStorage, *args: Any) -> None:
            original(self, *args)
            if not failures:
                failures.append(1)
                raise RuntimeError("injected")

        monkeypatch.setattr(PooledSqliteEventLogStorage, "_store_asset_event", fail_once)
    batched = PooledSqliteEventLogStorage(str(tmp_path / "batched"))
    batched.store_event_batch(events)
    batched.dispose()
    assert failures == ([1] if mode == "failed-batch" else [])

    for name in ("index.db", f"{result.run_id}.db"):
        assert _dump(tmp_path / "batched" / name) == _dump(tmp_path / "one_by_one" / name)
    index = _dump(tmp_path / "one_by_one" / "index.db")
    assert len(index["asset_keys"]) == 2
    assert len(index["asset_event_tags"]) >= 2 * DAYS  # a data version tag per materialization


def test_a_missing_storage_internal_fails_loudly_not_slowly(
    instance: dg.DagsterInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Dagster upgrade that changes the shape of a private helper the batch path calls (here
    ``inserted``, the insert's result): in tests (strict) the batch raises naming
    the versions; in production the events are stored one by one by Dagster's own path with ONE
    warning for the process, however many batches fall back."""
    result = dg.materialize(
        [TOY, OTHER],
        instance=instance,
        tags=range_tags(START, START + timedelta(days=DAYS - 1)),
        run_config=QUIET,
    )
    events = [
        e
        for e in instance.all_logs(result.run_id)
        if e.dagster_event_type in {PLANNED, MATERIALIZATION}
    ]

    def changed_shape(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("execute() takes 2 positional arguments but 3 were given")

    monkeypatch.setattr(instance_storage, "inserted", changed_shape)

    strict = PooledSqliteEventLogStorage(str(tmp_path / "strict"))
    with pytest.raises(BatchFallbackError, match=r"written for Dagster 1\.13\.x and runs on"):
        strict.store_event_batch(events)
    strict.dispose()

    monkeypatch.delenv(STRICT_ENV)
    monkeypatch.setattr(instance_storage, "_warned", False)
    lenient = PooledSqliteEventLogStorage(str(tmp_path / "lenient"))
    with caplog.at_level("WARNING", logger=instance_storage.__name__):
        lenient.store_event_batch(events[: len(events) // 2])
        lenient.store_event_batch(events[len(events) // 2 :])
    warnings = [r for r in caplog.records if r.name == instance_storage.__name__]
    assert len(warnings) == 1 and dg.__version__ in warnings[0].getMessage(), warnings
    stored = lenient.get_records_for_run(result.run_id).records
    assert len(stored) == len(events)
    lenient.dispose()


def test_planned_check_rows_equal_the_stock_storage(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A check planned over a range: one row per day, the same rows as Dagster's own storage
    (which serializes the event once per row; ours once)."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    result = dg.materialize(
        [TOY, OTHER, toy_check],
        instance=instance,
        tags=range_tags(START, START + timedelta(days=DAYS - 1)),
        run_config=QUIET,
    )
    planned = [
        e
        for e in instance.all_logs(result.run_id)
        if e.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
    ]
    assert len(planned) == 1
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    ours = PooledSqliteEventLogStorage(str(tmp_path / "ours"))
    for storage in (stock, ours):
        for event in planned:
            storage.store_event(event)
        storage.dispose()
    rows = _dump(tmp_path / "ours" / "index.db")["asset_check_executions"]
    assert len(rows) == DAYS
    assert rows == _dump(tmp_path / "stock" / "index.db")["asset_check_executions"]


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("daily", asset=TOY, partitions_def=PARTITIONS)], can_subset=True
)
def toy_daily_check(context: dg.AssetCheckExecutionContext) -> Iterator[Any]:
    """One evaluation per day of the run (as the project's checks report), day 3 failing."""
    for day in context.partition_keys:
        yield dg.AssetCheckEvaluation(
            asset_key=TOY.key,
            check_name="daily",
            passed=day != DAY_KEYS[3],
            metadata={"day": day},
            partition=day,
        )
    yield dg.Output(None, output_name="toy_daily")


def test_per_day_check_evaluations_are_written_in_batches(
    instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held per-day evaluations land before the run ends, one transaction per shard a batch, in
    exactly the rows Dagster's own storage writes for them one by one."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    flushes: list[int] = []
    original = PooledSqliteEventLogStorage._store_check_evaluations

    def spy(self: PooledSqliteEventLogStorage, events: list) -> None:
        flushes.append(len(events))
        original(self, events)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "_store_check_evaluations", spy)
    result = dg.materialize(
        [TOY, toy_daily_check],
        instance=instance,
        tags=range_tags(START, START + timedelta(days=DAYS - 1)),
        run_config=QUIET,
    )
    assert result.success
    assert flushes == [BATCH, BATCH, DAYS - 2 * BATCH]  # by batch size, the rest before the output
    key = dg.AssetCheckKey(TOY.key, "daily")
    infos = instance.event_log_storage.get_asset_check_partition_info([key])
    status = {i.partition_key: i.latest_execution_status.value for i in infos}
    assert status == {d: "FAILED" if d == DAY_KEYS[3] else "SUCCEEDED" for d in DAY_KEYS}

    events = list(instance.all_logs(result.run_id))
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    ours = PooledSqliteEventLogStorage(str(tmp_path / "ours"))
    for storage in (stock, ours):
        for event in events:
            storage.store_event(event)
        storage.dispose()
    for name in ("index.db", f"{result.run_id}.db"):
        assert _dump(tmp_path / "ours" / name) == _dump(tmp_path / "stock" / name)


def test_a_runs_check_results_read_without_deserializing(instance: dg.DagsterInstance) -> None:
    """``check_results_of_run`` (the build's summary) gives what the run's evaluation events say:
    every evaluation, its partition, passed or not, and a failure's severity."""
    result = dg.materialize(
        [TOY, toy_daily_check, toy_check],
        instance=instance,
        tags=range_tags(START, START + timedelta(days=DAYS - 1)),
        run_config=QUIET,
    )
    assert result.success
    expected = []
    for entry in instance.all_logs(
        result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ):
        e = entry.get_dagster_event().event_specific_data
        expected.append(
            (e.asset_key, e.check_name, e.partition, e.passed, None if e.passed else e.severity)
        )
    got = instance.event_log_storage.check_results_of_run(result.run_id)
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert len(got) == DAYS + 1  # the daily check's days and toy_check's one result
    assert [r for r in got if not r[3]] == [
        (TOY.key, "daily", DAY_KEYS[3], False, dg.AssetCheckSeverity.ERROR)
    ]
