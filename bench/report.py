"""The load report as a table, with the ratios the targets are stated in."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "vs_bare": 0.80,
    "vs_defaults": 2.0,
    "server_added_p99_ms": 20.0,
    "ttft_overhead_ms": 5.0,
    "kb_per_socket": 50.0,
}


def _row(name: str, figures: dict[str, Any]) -> str:
    rate, p50, p99 = figures["turns_per_s"], figures["p50_ms"], figures["p99_ms"]
    transactions = figures.get("transactions_per_turn")
    counted = "" if transactions is None else f"{transactions:.1f}"
    return f"| {name} | {rate:.0f} | {p50:.1f} | {p99:.1f} | {counted} |"


def _target(name: str, measured: str, goal: str, ok: bool) -> str:
    return f"| {name} | {measured} | {goal} | {_verdict(ok)} |"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _ratios(ours: dict[str, Any], report: dict[str, Any]) -> list[str]:
    """Throughput against each baseline that ran; the first two carry the targets."""
    goals = [
        ("simple_engine", "vs the simplest chatbot, tuned", 0.8),
        ("simple_defaults", "vs the simplest chatbot, defaults", 2.0),
        ("bare_engine", "vs its own graph, tuned engine", None),
        ("langgraph_defaults", "vs its own graph, LangGraph defaults", None),
    ]
    lines = []
    for key, name, goal in goals:
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
    return lines


def render(report: dict[str, Any]) -> str:
    """Markdown: throughput and latency side by side, then the targets."""
    ours = report["threadline"]
    lines = [
        f"Machine: {report['machine']['cpus']} CPUs, Python {report['machine']['python']}, "
        f"{report['machine']['date']}; model: {report['config']['model']}; "
        f"{report['config']['clients']} clients x {report['config']['turns']} turns; "
        f"pool {report['config']['pool']}",
        "",
        "| path | turns/s | p50 ms | p99 ms | transactions/turn |",
        "|---|---|---|---|---|",
        _row("Threadline, full WebSocket turn", ours),
    ]
    baselines = [
        ("simplest chatbot, tuned (exit, no saver lock)", report.get("simple_engine")),
        ("simplest chatbot, LangGraph defaults", report.get("simple_defaults")),
        ("Threadline's graph, tuned engine", report.get("bare_engine")),
        ("Threadline's graph, LangGraph defaults", report.get("langgraph_defaults")),
    ]
    lines += [_row(name, figures) for name, figures in baselines if figures]
    lines += ["", "| target | measured | goal | |", "|---|---|---|---|"]
    lines += _ratios(ours, report)
    paced = report.get("threadline_paced")
    if paced:
        think = report["config"]["think"]
        lines.insert(5, _row(f"Threadline, paced (think ~{think:g} s per turn)", paced))
    if named := report.get("threadline_paced_named"):
        lines.insert(6, _row("Threadline, paced, with client_message_id", named))
    latency = paced or ours  # latency targets are about a server that is not saturated
    added = latency["server_added_p99_ms"]
    lines.append(_target("server-added latency p99", f"{added:.1f} ms", "<= 20 ms", added <= 20))
    lines.append(f"| server-added latency p50 | {latency['server_added_p50_ms']:.1f} ms | | |")
    ttft = latency["ttft_overhead_p50_ms"]
    lines.append(
        _target("time-to-first-token overhead p50", f"{ttft:.1f} ms", "<= 5 ms", ttft <= 5)
    )
    if named:  # what the web page and the terminal client see: they name every message
        lines.append(
            f"| time-to-first-token overhead p50, with client_message_id | "
            f"{named['ttft_overhead_p50_ms']:.1f} ms | | |"
        )
    lines.append(_target("errors", str(ours["errors"]), "0", ours["errors"] == 0))
    idle = report.get("idle")
    if idle:
        per, ok = idle["kb_per_socket"], idle["turn_while_idle_ok"]
        lines.append(
            _target(
                f"idle sockets: {idle['sockets']} open", f"{per:.1f} KB each", "<= 50 KB", per <= 50
            )
        )
        probe = f"{'ok' if ok else 'FAILED'} ({idle['turn_while_idle_p50_ms'] or 0:.1f} ms)"
        lines.append(_target("a turn while they are open", probe, "works", ok))
    lines += _replicas(report.get("replicas") or [])
    return "\n".join(lines)


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
