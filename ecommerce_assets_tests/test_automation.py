"""The landing-zone sensor, the daily schedule and the automation wiring, without a daemon.

The sensor and schedule look at folders, ``_SUCCESS`` markers and the files' digests, and at what
the instance recorded of each day's last raw run (``raw_deliveries``); these tests fake
deliveries with tiny folders and record loads as the raw step would: fast and exact.
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ecommerce_assets.automation import (
    DAILY_SCHEDULE,
    LANDING_SENSOR,
    TRIGGER_TAG,
    WAREHOUSE_TAG,
    build_deliveries_job,
    build_landing_sensor,
    dump_cursor,
    parse_cursor,
)
from ecommerce_assets.partitions import (
    calendar_partitions,
    contiguous_blocks,
    default_first_day,
    partition_bounds,
)
from ecommerce_assets.runner import range_tags

from .automation_harness import D1, Harness, days, deliver, requested, skip_message


@pytest.fixture
def h(tmp_path: Path):
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def test_new_day_is_requested_once(h: Harness) -> None:
    deliver(h.landing, D1)
    assert requested(h.tick()) == [("2024-01-01", "2024-01-01")]
    assert "no change" in skip_message(h.tick())
    deliver(h.landing, D1 + timedelta(days=1))
    # Day 1's run has not recorded it yet: in flight, not requested a second time.
    assert requested(h.tick()) == [("2024-01-02", "2024-01-02")]
    assert set(parse_cursor(h.cursor)["pending"]) == {"2024-01-01", "2024-01-02"}
    h.load(D1, D1 + timedelta(days=1))
    deliver(h.landing, D1 + timedelta(days=2))
    assert requested(h.tick()) == [("2024-01-03", "2024-01-03")]
    assert set(parse_cursor(h.cursor)["pending"]) == {"2024-01-03"}  # loaded days leave it


def test_identical_redelivery_is_a_no_op_and_a_changed_one_runs(h: Harness) -> None:
    for day in days(3):
        deliver(h.landing, day, mtime=1_700_000_000, text="1,2,2024-01-01 00:00:00,x,y,0,0\n")
    assert requested(h.tick()) == [("2024-01-01", "2024-01-03")]
    h.load(*days(3))
    # Day 2 re-delivered with the same files (a new _SUCCESS): proven a no-op, and said so.
    deliver(h.landing, D1 + timedelta(days=1), mtime=1_700_000_500,
            text="1,2,2024-01-01 00:00:00,x,y,0,0\n")  # fmt: skip
    message = skip_message(h.tick())
    assert "identical to what was loaded" in message and "2024-01-02" in message
    # Day 3 re-delivered with a changed file: requested again.
    deliver(h.landing, D1 + timedelta(days=2), mtime=1_700_000_900, text="changed\n")
    assert requested(h.tick()) == [("2024-01-03", "2024-01-03")]
    assert "no change" in skip_message(h.tick())


def test_incomplete_folder_is_not_requested_until_success_appears(h: Harness) -> None:
    deliver(h.landing, D1)
    h.tick()
    h.load(D1)
    deliver(h.landing, D1 + timedelta(days=1), complete=False)
    assert requested(h.tick()) == []
    deliver(h.landing, D1 + timedelta(days=1))
    assert requested(h.tick()) == [("2024-01-02", "2024-01-02")]


def test_a_redelivery_in_progress_is_neither_requested_nor_lost(h: Harness) -> None:
    deliver(h.landing, D1, mtime=1_700_000_000)
    h.tick()
    h.load(D1)
    (h.landing / "2024-01-01" / "_SUCCESS").unlink()  # the source starts re-delivering
    assert requested(h.tick()) == []
    deliver(h.landing, D1, mtime=1_700_000_000)  # the same files back: nothing to do
    assert requested(h.tick()) == []


def test_a_code_load_while_the_first_day_is_re_delivered_keeps_it_and_runs_its_new_files(
    h: Harness,
) -> None:
    """A re-delivery removes ``_SUCCESS`` first. A code load in that gap must not start the
    partitions a day later: the loaded day would leave the UI, and its re-delivery would be
    "before the first day", never loaded until the next load."""
    deliver(h.landing, D1, mtime=1_700_000_000)
    deliver(h.landing, D1 + timedelta(days=1))
    h.tick()
    h.load(D1, D1 + timedelta(days=1))
    (h.landing / "2024-01-01" / "_SUCCESS").unlink()  # the source starts re-delivering day 1
    first = default_first_day(h.landing)  # what a code load reads now
    assert first == D1
    h.sensor = build_landing_sensor(
        build_deliveries_job(), calendar_partitions(first), now=lambda: h.now
    )
    assert requested(h.tick()) == []
    deliver(h.landing, D1, text="1,10,2024-01-01 10:00:00,placed,paypal,4.99,24.99\n")
    assert requested(h.tick()) == [("2024-01-01", "2024-01-01")]


def test_nothing_in_the_landing_zone_skips(h: Harness) -> None:
    assert "every complete delivery is processed (0" in skip_message(h.tick())
    assert "no change" in skip_message(h.tick())


def test_many_waiting_days_go_as_one_range_run_and_the_cursor_stays_small(h: Harness) -> None:
    for day in days(366):
        deliver(h.landing, day)
    result = h.tick()
    assert requested(result) == [("2024-01-01", "2024-12-31")]
    assert result.run_requests[0].tags == {
        WAREHOUSE_TAG: "duckdb",
        TRIGGER_TAG: LANDING_SENSOR,
        **range_tags(date(2024, 1, 1), date(2024, 12, 31)),
    }
    h.load(*days(366))
    deliver(h.landing, date(2025, 1, 1))
    h.now = datetime(2025, 1, 2, 0, 0, 1, tzinfo=UTC)
    assert requested(h.tick()) == [("2025-01-01", "2025-01-01")]
    h.load(date(2025, 1, 1))
    h.tick()
    # One line whatever the history: a fingerprint, counts, and the days still in flight.
    assert len(h.cursor or "") < 120, h.cursor
    assert parse_cursor(h.cursor)["deliveries"] == 367


def test_gaps_split_into_one_run_per_block_of_consecutive_days(h: Harness) -> None:
    for day in [*days(3), date(2024, 1, 10), date(2024, 1, 11)]:
        deliver(h.landing, day)
    assert requested(h.tick()) == [("2024-01-01", "2024-01-03"), ("2024-01-10", "2024-01-11")]
    assert contiguous_blocks([date(2024, 1, 5), D1, date(2024, 1, 2)]) == [
        (D1, date(2024, 1, 2)),
        (date(2024, 1, 5), date(2024, 1, 5)),
    ]


def test_run_keys_are_stable_so_a_replayed_tick_launches_nothing_twice(h: Harness) -> None:
    for day in days(2):
        deliver(h.landing, day, mtime=1_700_000_000)
    first = h.tick().run_requests[0].run_key
    h.cursor = None  # the daemon lost the cursor update (crash after submitting)
    again = h.tick().run_requests[0].run_key
    assert first == again and first.startswith("2024-01-01..2024-01-02@")
    deliver(h.landing, D1, mtime=1_700_000_900, text="new\n")
    h.cursor = None
    assert h.tick().run_requests[0].run_key != first  # a re-delivery is a new run key


def test_a_delivery_dated_today_waits_for_its_day_to_end(h: Harness) -> None:
    """No reload, no setting: the partition appears when the day ends, and the day runs."""
    h.now = datetime(2024, 1, 3, 9, tzinfo=UTC)
    for day in days(3):  # 2024-01-03 is today
        deliver(h.landing, day)
    result = h.tick()
    assert requested(result) == [("2024-01-01", "2024-01-02")]
    h.load(*days(2))
    message = skip_message(h.tick())
    assert "waiting for its day to end (UTC): 2024-01-03" in message
    h.now = datetime(2024, 1, 4, 0, 0, 5, tzinfo=UTC)  # the day ended
    assert requested(h.tick()) == [("2024-01-03", "2024-01-03")]
    assert partition_bounds(h.partitions, h.now) == (D1, date(2024, 1, 3))


def test_first_tick_skips_days_already_loaded(h: Harness) -> None:
    for day in days(3):
        deliver(h.landing, day, mtime=1_700_000_000)
    h.load(*days(2))  # what bin/build did before the sensor started
    assert requested(h.tick()) == [("2024-01-03", "2024-01-03")]


def test_cursor_round_trips() -> None:
    stamps = {date(2024, 1, 2): 2, date(2024, 1, 1): 1}
    cursor = parse_cursor(dump_cursor(stamps, date(2024, 1, 2), {"2024-01-02": 2}))
    assert cursor["deliveries"] == 2 and cursor["newest"] == "2024-01-02"
    assert cursor["pending"] == {"2024-01-02": 2}
    assert parse_cursor(None) == {}


def schedule_at(h: Harness, when: datetime):
    # Entered and exited here: a context left to the garbage collector exits during a later
    # test, resetting the process's current defs-state storage to this test's closed instance.
    with dg.build_schedule_context(
        instance=h.instance, scheduled_execution_time=when, resources=h.resources
    ) as context:
        return h.schedule(context)


def test_schedule_requests_yesterdays_delivery(h: Harness) -> None:
    deliver(h.landing, D1)
    deliver(h.landing, D1 + timedelta(days=1))
    result = schedule_at(h, datetime(2024, 1, 3, 2, tzinfo=UTC))
    assert isinstance(result, dg.RunRequest)
    assert result.partition_key == "2024-01-02"
    assert result.tags[WAREHOUSE_TAG] and result.tags[TRIGGER_TAG] == DAILY_SCHEDULE
    assert h.schedule.cron_schedule == "0 2 * * *"
    assert h.schedule.execution_timezone == "UTC"


def test_schedule_skips_with_a_reason_when_the_delivery_is_not_there(h: Harness) -> None:
    deliver(h.landing, D1)
    result = schedule_at(h, datetime(2024, 1, 5, 2, tzinfo=UTC))
    assert isinstance(result, dg.SkipReason)
    assert "2024-01-04 has not arrived" in result.skip_message
    assert "newest complete delivery: 2024-01-01" in result.skip_message
    deliver(h.landing, date(2024, 1, 4), complete=False)
    result = schedule_at(h, datetime(2024, 1, 5, 2, tzinfo=UTC))
    assert isinstance(result, dg.SkipReason)
    assert "being written (no _SUCCESS yet)" in result.skip_message


def test_schedule_skips_a_delivery_already_processed(h: Harness) -> None:
    deliver(h.landing, D1, mtime=1_700_000_000)
    h.load(D1)
    result = schedule_at(h, datetime(2024, 1, 2, 2, tzinfo=UTC))
    assert isinstance(result, dg.SkipReason)
    assert "already processed" in result.skip_message
