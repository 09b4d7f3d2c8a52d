"""Threadline: a chat backend on LangGraph, streaming replies over WebSockets."""

__all__ = ("main",)


def main(argv: list[str] | None = None) -> None:
    """`threadline`: the command line (see `threadline.cli`).

    Imported only when called, so that importing one of the package's modules alone (a
    document reader process imports `threadline.knowledge.reader`) stays quick and light.
    """
    from threadline.cli import main as run  # noqa: PLC0415

    run(argv)
