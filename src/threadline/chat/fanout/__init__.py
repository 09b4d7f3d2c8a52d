"""Fan-out across processes: this process's sockets, subscriptions and bulletins."""
