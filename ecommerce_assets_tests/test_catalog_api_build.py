"""``bin/build --products-source api``: the build starts a local catalog server of its landing
zone, its launched run reads ``raw_products`` from it, and the server is gone when the build
ends."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb

from ecommerce_assets.generate import generate_landing_zone

from .conftest import START
from .webserver import INSTANCE_YAML, ROOT, Project


def test_the_build_reads_products_from_a_local_catalog_server(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.home.mkdir(parents=True)
    (project.home / "dagster.yaml").write_text(INSTANCE_YAML)
    generate_landing_zone(project.landing, seed=4, scale=0.5, start=START, days=3)
    result = subprocess.run(
        [sys.executable, "-m", "ecommerce_assets.build", "--no-demo", "--products-source", "api"],
        cwd=ROOT,
        env={**project.env, "ECOMMERCE_CATALOG_API_URL": "", "ECOMMERCE_PRODUCTS_SOURCE": ""},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    url = re.search(
        r"Products from the catalog API at (http://127\.0\.0\.1:(\d+))\.", result.stdout
    )
    assert url, result.stdout
    assert f"a local server of {project.landing}'s products on {url[1]}" in result.stdout
    with socket.socket() as probe:  # the server stopped with the build
        assert probe.connect_ex(("127.0.0.1", int(url[2]))) != 0
    with duckdb.connect(str(project.warehouse), read_only=True) as con:
        counts = con.execute(
            "SELECT delivery_date, count(*), count(*) FILTER (source_file LIKE 'api:%') "
            "FROM raw.raw_products GROUP BY 1 ORDER BY 1"
        ).fetchall()
        staged = con.execute("SELECT count(*) FROM staging.stg_products").fetchone()[0]
    manifests = {
        date.fromisoformat(path.parent.name): json.loads(path.read_text())["tables"]["products"]
        for path in sorted(project.landing.glob("*/_manifest.json"))
    }
    assert len(manifests) == 3
    expected = [(d, m["rows"]) for d, m in manifests.items() if m["rows"]]
    assert [(d, n) for d, n, _ in counts] == expected
    assert all(n == api for _, n, api in counts)
    assert staged == sum(m["staged"] for m in manifests.values()) > 0
