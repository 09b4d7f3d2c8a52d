"""The edge: the WebSocket protocol and socket, the REST API, HTTP errors."""
