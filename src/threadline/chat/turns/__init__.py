"""The turn and its scheduling: admission, lanes, its events, its inputs, the answers."""
