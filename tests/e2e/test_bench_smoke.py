"""A tiny run of the load harness, so it keeps working (its timings are not judged here)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_load_harness_runs_end_to_end(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    command = [sys.executable, "bench/load.py", "--clients", "2", "--turns", "2", "--idle", "20"]
    command += ["--think", "0.05", "--paced-turns", "1", "--json", str(report_path)]
    command += ["--servers", "2", "--stats-settle", "0", "--workers", "2"]
    command += ["--rounds", "2", "--round-clients", "2", "--round-turns", "2"]
    # Eight server processes one after another: generous, for a machine shared with others.
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )

    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["threadline"]["turns"] == 4
    assert report["threadline"]["errors"] == 0
    assert report["threadline_paced"]["turns"] == 2
    assert report["threadline_paced_named"]["turns"] == 2  # with client_message_id
    assert report["threadline_paced_named"]["errors"] == 0
    # The simplest served chatbot, over the same sockets, sends as many token frames a turn.
    for served in ("served_tuned", "served_defaults", "threadline_workers"):
        assert (report[served]["turns"], report[served]["errors"]) == (4, 0), served
        assert report[served]["tokens_per_turn"] == report["threadline"]["tokens_per_turn"]
        assert report[served]["server_cpu_ms_per_turn"] > 0, served
    assert "| throughput vs the simplest served chatbot, tuned |" in done.stdout
    assert "| WORKERS=2 vs WORKERS=1 |" in done.stdout
    # Rounds of new conversations on one server each, side by side.
    for server in ("threadline", "served_tuned"):
        rounds = report["rounds"][server]
        assert [(r["round"], r["turns"], r["errors"]) for r in rounds] == [(1, 4, 0), (2, 4, 0)]
        assert rounds[-1]["rss_kb"] > 0
    for baseline in ("simple_engine", "simple_defaults", "bare_engine", "langgraph_defaults"):
        assert report[baseline]["turns"] == 4, baseline
        assert report[baseline]["transactions_per_turn"] > 0, baseline
    assert report["idle"]["sockets"] == 20
    assert report["idle"]["turn_while_idle_ok"] is True
    assert "| Threadline, full WebSocket turn |" in done.stdout
    assert "| Threadline, paced, with client_message_id |" in done.stdout
    # Spread over 1 and 2 processes; with a second tab elsewhere, frames cross by NOTIFY.
    rounds = [(r["servers"], r["second_tabs"], r["turns"], r["errors"]) for r in report["replicas"]]
    assert rounds == [(1, False, 4, 0), (2, False, 4, 0), (2, True, 4, 0)]
    alone, with_tabs = report["replicas"][1], report["replicas"][2]
    assert with_tabs["notifies_per_turn"] >= alone["notifies_per_turn"] + 1
    assert "| servers | second tab elsewhere |" in done.stdout


def test_the_storage_bench_runs_end_to_end() -> None:
    command = [sys.executable, "bench/storage.py", "--turns", "10"]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )

    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 10 |")]
    assert len(rows) == 1, done.stdout


def test_the_retrieval_bench_runs_and_hybrid_beats_either_ranking(database_url: str) -> None:
    from bench.retrieval import render, run  # noqa: PLC0415 - the bench, imported as a module

    report = asyncio.run(run(database_url))

    assert report["questions"] == 300
    assert report["indexing"]["chunks"] >= report["indexing"]["documents"] == 100
    modes = report["modes"]
    assert set(modes) == {"fulltext", "vector", "hybrid"}
    # Fusion is the point of hybrid retrieval: on this corpus it finds more than either.
    assert modes["hybrid"]["recall_at_5"] > max(
        modes["fulltext"]["recall_at_5"], modes["vector"]["recall_at_5"]
    )
    assert "hybrid" in render(report)


def test_the_edges_bench_drives_every_edge_side_by_side(tmp_path: Path) -> None:
    report_path = tmp_path / "edges.json"
    command = [sys.executable, "bench/edges.py", "--clients", "2", "--turns", "2"]
    command += ["--rounds", "2", "--json", str(report_path)]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )

    assert done.returncode == 0, done.stderr[-3000:]
    edges = json.loads(report_path.read_text())["edges"]
    assert list(edges) == ["websocket", "langgraph_api", "ag_ui", "ai_sdk"]
    for edge, row in edges.items():
        assert (row["turns"], row["errors"]) == (8, 0), (edge, row["error_samples"])
        assert row["ttft_p50_ms"] <= row["reply_p50_ms"], edge
        assert row["cpu_ms_per_turn"] > 0, edge
    for label in ("WebSocket (/ws)", "LangGraph API", "AG-UI (/ag-ui, SSE)", "AI SDK"):
        assert f"| {label}" in done.stdout
    assert done.stdout.count("within 10% of the WebSocket's turns/s") == 3


def test_the_langgraph_servers_bench_runs_threadline_through_the_sdk(tmp_path: Path) -> None:
    # `langgraph dev` and Aegra come from PyPI at run time: only Threadline's row runs here.
    report_path = tmp_path / "servers.json"
    command = [sys.executable, "bench/langgraph_servers.py", "--servers", "threadline"]
    command += ["--clients", "2", "--turns", "2", "--rounds", "1", "--json", str(report_path)]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )

    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    row = report["servers"]["threadline"]
    assert (row["turns"], row["errors"], report["not_run"]) == (4, 0, {}), row["error_samples"]
    assert row["ttft_p50_ms"] <= row["reply_p50_ms"]
    assert "| threadline | 4 | 0 |" in done.stdout
