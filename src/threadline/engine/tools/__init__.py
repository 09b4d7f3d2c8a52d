"""Tools the built-in agent may call, and the graph node that runs them."""
