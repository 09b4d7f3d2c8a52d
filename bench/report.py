"""The load report as a table, with the ratios the targets are stated in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Where each bench writes its JSON report unless told otherwise.
RESULTS = Path(__file__).parent / "results"


def ms(value: float | None) -> str:
    """Milliseconds to one decimal, or a dash for what was not measured."""
    return "-" if value is None else f"{value:.1f}"


def publish(report: dict[str, Any], table: str, path: Path | None, name: str) -> None:
    """Write the report's JSON (to `path`, or a dated file in `RESULTS`), print the table.

    Args:
        report: The bench's report.
        table: The report rendered for people.
        path: Where to write the JSON (`--json`); None: `RESULTS/<name>-<time>.json`.
        name: The bench's name, the file's prefix.
    """
    RESULTS.mkdir(exist_ok=True)
    path = path or RESULTS / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(table)
    print(f"\nreport written to {path}")


# (report key, row name), in the order of the table.
_ROWS = [
    ("threadline", "Threadline, full WebSocket turn"),
    ("threadline_paced", "Threadline, paced (think ~{think:g} s per turn)"),
    ("threadline_paced_named", "Threadline, paced, with client_message_id"),
    ("threadline_workers", "Threadline, WORKERS={workers}"),
    ("served_tuned", "simplest served chatbot, tuned (exit, no saver lock)"),
    ("served_defaults", "simplest served chatbot, LangGraph defaults"),
    ("simple_engine", "simplest chatbot's graph alone, tuned"),
    ("simple_defaults", "simplest chatbot's graph alone, LangGraph defaults"),
    ("bare_engine", "Threadline's graph alone, tuned engine"),
    ("langgraph_defaults", "Threadline's graph alone, LangGraph defaults"),
]
# Throughput against each baseline that ran; those with a goal are targets.
_RATIOS = [
    ("served_tuned", "vs the simplest served chatbot, tuned", 0.8),
    ("served_defaults", "vs the simplest served chatbot, defaults", 2.0),
    ("simple_engine", "vs the simplest chatbot's graph alone, tuned", None),
    ("simple_defaults", "vs the simplest chatbot's graph alone, defaults", None),
    ("bare_engine", "vs its own graph, tuned engine", None),
    ("langgraph_defaults", "vs its own graph, LangGraph defaults", None),
]


def _cell(figures: dict[str, Any], key: str, form: str) -> str:
    value = figures.get(key)
    return "" if value is None else format(value, form)


def _row(name: str, figures: dict[str, Any]) -> str:
    cells = [
        name,
        _cell(figures, "turns_per_s", ".0f"),
        _cell(figures, "p50_ms", ".1f"),
        _cell(figures, "p99_ms", ".1f"),
        _cell(figures, "tokens_per_turn", ".1f"),
        _cell(figures, "server_cpu_ms_per_turn", ".1f"),
        _cell(figures, "transactions_per_turn", ".1f"),
    ]
    return "| " + " | ".join(cells) + " |"


def _target(name: str, measured: str, goal: str, ok: bool) -> str:
    return f"| {name} | {measured} | {goal} | {'met' if ok else 'MISSED'} |"


def _ratios(ours: dict[str, Any], report: dict[str, Any]) -> list[str]:
    lines = []
    for key, name, goal in _RATIOS:
        figures = report.get(key)
        if not figures:
            continue
        ratio = ours["turns_per_s"] / figures["turns_per_s"]
        if goal is None:
            lines.append(f"| throughput {name} | {ratio:.2f}x | | |")
        else:
            lines.append(
                _target(f"throughput {name}", f"{ratio:.2f}x", f">= {goal:.2f}x", ratio >= goal)
            )
    if workers := report.get("threadline_workers"):
        ratio = workers["turns_per_s"] / ours["turns_per_s"]
        name = f"WORKERS={workers['workers']} vs WORKERS=1"
        lines.append(_target(name, f"{ratio:.2f}x", ">= 1.60x", ratio >= 1.6))
    return lines


def _latency(report: dict[str, Any]) -> list[str]:
    """The latency targets: about a server that is not saturated, so the paced run's."""
    latency = report.get("threadline_paced") or report["threadline"]
    added, ttft = latency["server_added_p99_ms"], latency["ttft_overhead_p50_ms"]
    lines = [
        _target("server-added latency p99", f"{added:.1f} ms", "<= 20 ms", added <= 20),
        f"| server-added latency p50 | {latency['server_added_p50_ms']:.1f} ms | | |",
        _target("time-to-first-token overhead p50", f"{ttft:.1f} ms", "<= 5 ms", ttft <= 5),
    ]
    if named := report.get("threadline_paced_named"):  # as the web page and terminal send
        lines.append(
            f"| time-to-first-token overhead p50, with client_message_id | "
            f"{named['ttft_overhead_p50_ms']:.1f} ms | | |"
        )
    return lines


def _idle(report: dict[str, Any]) -> list[str]:
    idle = report.get("idle")
    if not idle:
        return []
    per, ok = idle["kb_per_socket"], idle["turn_while_idle_ok"]
    probe = f"{'ok' if ok else 'FAILED'} ({idle['turn_while_idle_p50_ms'] or 0:.1f} ms)"
    return [
        _target(
            f"idle sockets: {idle['sockets']} open",
            f"{per:.1f} KB each",
            "<= 50 KB",
            per <= 50,
        ),
        _target("a turn while they are open", probe, "works", ok),
    ]


def render(report: dict[str, Any]) -> str:
    """Markdown: throughput, latency and cost side by side, then the targets."""
    ours, config, machine = report["threadline"], report["config"], report["machine"]
    lines = [
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, {machine['date']}, "
        f"load average {machine.get('loadavg', '?')}; model: {config['model']}; "
        f"{config['clients']} clients x {config['turns']} turns; pool {config['pool']}",
        "",
        "| path | turns/s | p50 ms | p99 ms | token frames/turn | server CPU ms/turn | "
        "transactions/turn |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, name in _ROWS:
        if figures := report.get(key):
            lines.append(
                _row(name.format(think=config["think"], workers=config["workers"]), figures)
            )
    lines += ["", "| target | measured | goal | |", "|---|---|---|---|"]
    lines += _ratios(ours, report) + _latency(report)
    lines.append(_target("errors", str(ours["errors"]), "0", ours["errors"] == 0))
    lines += _idle(report) + _replicas(report.get("replicas") or [])
    lines += _rounds(report.get("rounds") or {})
    return "\n".join(lines)


def _rounds(measured: dict[str, list[dict[str, Any]]]) -> list[str]:
    """First and last rounds of new conversations on one server: CPU per turn, memory."""
    if not measured:
        return []
    lines = [
        "",
        "| server | rounds | CPU ms/turn, first round | last round | RSS MB, first round | "
        "last round | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rounds in measured.items():
        first, last = rounds[0], rounds[-1]
        errors = sum(r["errors"] for r in rounds)
        lines.append(
            f"| {name} | {len(rounds)} | {first['cpu_ms_per_turn']:.2f} | "
            f"{last['cpu_ms_per_turn']:.2f} | {first['rss_kb'] / 1024:.0f} | "
            f"{last['rss_kb'] / 1024:.0f} | {errors} |"
        )
    return lines


def _replicas(rounds: list[dict[str, Any]]) -> list[str]:
    """The load spread over 1..N processes: throughput, and what each turn costs."""
    if not rounds:
        return []
    lines = [
        "",
        "| servers | second tab elsewhere | turns/s | p50 ms | transactions/turn | "
        "NOTIFYs/turn | NOTIFY KB/turn | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        lines.append(
            f"| {r['servers']} | {'yes' if r['second_tabs'] else 'no'} | "
            f"{r['turns_per_s']:.0f} | {r['p50_ms']:.1f} | {r['transactions_per_turn']:.1f} | "
            f"{r['notifies_per_turn']:.2f} | {r['notify_kb_per_turn']:.2f} | {r['errors']} |"
        )
    return lines
