"""Example graphs to run Threadline with (`THREADLINE_GRAPH=examples.<module>:build`)."""
