"""A project in the layout of LangChain's react-agent template, served from its langgraph.json."""
