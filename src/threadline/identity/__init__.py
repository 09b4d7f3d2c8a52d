"""Who is calling: API keys, JWTs from an identity provider, and WebSocket tickets."""
