"""The conversation index: ownership and what a sidebar shows, in LangGraph's store."""
