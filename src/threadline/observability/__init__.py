"""What an operator watches: structured logs (metrics and traces come here too)."""
