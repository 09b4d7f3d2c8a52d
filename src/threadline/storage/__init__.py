"""PostgreSQL: the pool, migrations, turn leases, and how checkpoints are stored."""
