"""Everything that runs LangGraph: the graph, its context window, the turn runner."""
