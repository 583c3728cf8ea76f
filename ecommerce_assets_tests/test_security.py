"""Security: only validated values reach SQL and paths; the UI binds loopback; no secrets in git.

Delivery folder names become dates (or are ignored), table and schema names come from code and
are quoted, CSV headers and values travel as parameters or registered frames -- never spliced into
SQL. Hostile values below try to break each of those.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ecommerce_assets.automation.alerts import WEBHOOK_ENV, Alert, send_alert
from ecommerce_assets.contract import ORDERS, REVIEWS
from ecommerce_assets.landing import (
    ReadReport,
    check_delivery,
    complete_deliveries,
    parse_day,
    read_raw,
)
from ecommerce_assets.transforms.staging import stage_table
from ecommerce_assets.warehouse import connect, quote_ident
from ecommerce_assets.writes import write_slice

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 1, 2)
HOSTILE = [
    "x'; DROP TABLE raw.raw_orders; --",
    'a"b',
    "Robert'); DELETE FROM staging.stg_orders; --",
    "$1",
    "?",
    "\\",
]

HOSTILE_FOLDERS = [
    "2024-01-01'; DROP TABLE x;--",
    "2024-01-01;",
    "..2024-01-01",
    "2024-01-01 ",
    "2024-1-1",
    "\uff12\uff10\uff12\uff14-\uff10\uff11-\uff10\uff11",  # full-width digits match \d
    "2024-02-30",
    "2024-01-01\n",
]


@pytest.mark.parametrize("name", HOSTILE_FOLDERS)
def test_hostile_delivery_folder_names_are_never_days(name: str) -> None:
    assert parse_day(name) is None


def test_hostile_folders_and_path_traversal_are_ignored(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    header = ",".join(ORDERS.column_names) + "\n"
    row = "1,1,2024-01-01 10:00:00,placed,paypal,0,1\n"
    for name in HOSTILE_FOLDERS:
        folder = landing / name
        folder.mkdir(parents=True)
        (folder / "orders.csv").write_text(header + row)
        (folder / "_SUCCESS").touch()
    # A real day beside them, and a complete delivery *outside* the landing zone that a
    # traversal ("../2024-01-05") would reach.
    outside = tmp_path / "2024-01-05"
    outside.mkdir()
    (outside / "orders.csv").write_text(header + row)
    (outside / "_SUCCESS").touch()
    good = landing / "2024-01-03"
    good.mkdir()
    (good / "orders.csv").write_text(header + row.replace("2024-01-01", "2024-01-03"))
    (good / "_SUCCESS").touch()

    assert complete_deliveries(landing) == {date(2024, 1, 3): good}
    df = read_raw(landing, ORDERS, [date(2024, 1, 3), date(2024, 1, 5)], NOW, ReadReport())
    assert df["source_file"].tolist() == ["2024-01-03/orders.csv"]


def test_hostile_header_and_values_stay_data(tmp_path: Path) -> None:
    """Quotes, semicolons and SQL in a header name and in every text field: loaded verbatim."""
    hostile_column = 'x"";DROP TABLE raw_reviews;--'
    header = ",".join(REVIEWS.column_names) + f',"{hostile_column}"'
    lines = [header]
    for i, text in enumerate(HOSTILE, start=1):
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f"{i},5,6,4,{quoted},2024-01-01,0,{quoted}")
    folder = tmp_path / "2024-01-01"
    folder.mkdir()
    (folder / "reviews.csv").write_text("\n".join(lines) + "\n")
    (folder / "_SUCCESS").touch()

    report = ReadReport()
    check_delivery(folder, [REVIEWS], report)
    assert any("DROP TABLE raw_reviews" in w for w in report.warnings)  # named, then ignored
    raw = read_raw(tmp_path, REVIEWS, [date(2024, 1, 1)], NOW, report)
    assert raw["review_text"].tolist() == HOSTILE
    staged = stage_table(REVIEWS, raw).staged
    assert staged["review_text"].tolist() == HOSTILE


def test_hostile_order_values_are_quarantined_with_their_text(tmp_path: Path) -> None:
    folder = tmp_path / "2024-01-01"
    folder.mkdir()
    header = ",".join(ORDERS.column_names)
    body = ["'; DROP TABLE x;--,1,2024-01-01 10:00:00,placed,paypal,0,1"]
    body.append("2,1,2024-01-01 10:00:00,placed,paypal,0,1'); DELETE FROM y;--")
    (folder / "orders.csv").write_text("\n".join([header, *body]) + "\n")
    (folder / "_SUCCESS").touch()
    raw = read_raw(tmp_path, ORDERS, [date(2024, 1, 1)], NOW, ReadReport())
    result = stage_table(ORDERS, raw)
    assert result.quarantine["reason"].tolist() == ["bad_key", "bad_value:order_amount"]
    assert "DROP TABLE x" in result.quarantine["raw_values"].iloc[0]


def test_identifiers_are_quoted_so_a_hostile_name_is_just_a_name(tmp_path: Path) -> None:
    """Table names come from code; even so, quoting makes a hostile one inert."""
    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        con.execute("CREATE SCHEMA s; CREATE TABLE s.keep AS SELECT 1 AS one")
        df = pd.DataFrame({"d": pd.to_datetime(["2024-01-01"]), "v": ["x'; DROP TABLE s.keep;--"]})
        name = 'evil"; DROP TABLE s.keep; --'
        window = ("d", datetime(2024, 1, 1), datetime(2024, 1, 2))
        write_slice(con, "s", name, df, [("d", "DATE", False), ("v", "VARCHAR", True)], window)
    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT one FROM s.keep").fetchall() == [(1,)]
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert tables == {"keep", name}
        fq = "s." + quote_ident(name)
        assert con.execute(f"SELECT v FROM {fq}").fetchall() == [("x'; DROP TABLE s.keep;--",)]


def test_partition_keys_are_validated_dates_before_any_run() -> None:
    """Dagster refuses a partition key that is not a day of the definition; no SQL ever sees it."""
    import dagster as dg

    partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-10")
    assert partitions.has_partition_key("2024-01-03")
    for key in ["2024-01-01'; DROP TABLE x;--", "../2024-01-01", "2024-01-01 00:00:00"]:
        assert not partitions.has_partition_key(key)


# ------------------------------------------------------------------------------------------------
# The repository: loopback UI, no secrets, webhook from the environment.
# ------------------------------------------------------------------------------------------------
def _repo_files() -> list[Path]:
    """Files git would track: generated data, the virtualenvs and caches pruned while walking."""
    skip = {".venv", ".git", "data", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
    out = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [
            d
            for d in dirs
            if d not in skip and not d.endswith(".egg-info") and not d.startswith(".venv")
        ]
        here = Path(folder)
        for name in files:
            path = here / name
            rel = path.relative_to(ROOT)
            if rel.parts[0] == "dagster_home" and rel.name != "dagster.yaml":
                continue  # git-ignored instance storage
            if path.stat().st_size < 2_000_000:
                out.append(path)
    return out


def test_documented_dagster_dev_commands_bind_loopback_only() -> None:
    commands, hosts = [], []
    for path in _repo_files():
        if path.suffix not in {".md", ".sh", ".yaml", ".toml", ""} and path.parent.name != "bin":
            continue
        for line in path.read_text(errors="replace").splitlines():
            if re.search(r"^\s*(exec\s+)?(dagster dev|dagster-webserver)\b", line):
                commands.append((path.name, line))
            hosts += [(path.name, h) for h in re.findall(r"(?:^|\s)(?:-h|--host)[\s=]+(\S+)", line)]
    assert commands, "bin/ui should run dagster dev"
    for name, line in commands:
        assert re.search(r"(-h|--host)\s+127\.0\.0\.1\b", line), (name, line)
    # Wherever a host is passed (README, docs, scripts), it is loopback.
    assert all(host.strip("`'\"") == "127.0.0.1" for _, host in hosts), hosts


# Split so that this file does not match its own patterns.
SECRET_PATTERNS = [
    re.compile(WEBHOOK_ENV + r"\s*[=:]\s*['\"]?https?://"),
    re.compile("hooks" + r"\.slack\.com/services/[A-Za-z0-9/]+"),
    re.compile("AK" + r"IA[0-9A-Z]{16}"),
    re.compile("-----BEGIN " + r"[A-Z ]*PRIVATE KEY-----"),
    re.compile("gh" + r"p_[A-Za-z0-9]{36}"),
    re.compile("xox" + r"[baprs]-[A-Za-z0-9-]{10,}"),
    re.compile(r"(?i)(api[_-]?key|secret|password|token)\s*[=:]\s*['\"][^'\"\s]{12,}['\"]"),
]


def test_no_secret_is_committed() -> None:
    found = []
    for path in _repo_files():
        text = path.read_text(errors="replace")
        for pattern in SECRET_PATTERNS:
            found += [(str(path.relative_to(ROOT)), m.group(0)) for m in pattern.finditer(text)]
    assert found == []


def test_webhook_url_comes_only_from_the_environment(tmp_path: Path) -> None:
    # No URL other than loopback is written into the product code.
    for path in (ROOT / "ecommerce_assets").rglob("*.py"):
        for url in re.findall(r"https?://[^\s\"')>]+", path.read_text()):
            assert url.startswith(("http://127.0.0.1", "http://localhost")), (path, url)
    # Without the variable nothing is posted anywhere; the alert is only logged.
    delivery = send_alert(Alert(kind="run_failure", message="x"), tmp_path / "a.jsonl", {})
    assert delivery.webhook_status is None and delivery.webhook_error is None
    assert (tmp_path / "a.jsonl").read_text().count("\n") == 1
