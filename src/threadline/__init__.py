"""Threadline: a chat backend on LangGraph, streaming replies over WebSockets."""

from threadline.cli import main

__all__ = ("main",)
