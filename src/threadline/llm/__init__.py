"""The chat model: Groq, the offline stand-in, retries that never repeat a token."""
