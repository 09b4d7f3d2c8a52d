"""The chat service: conversations, turns and their scheduling, what a client may ask."""
