"""Assets, one module per layer: raw, staging, dimensions, facts, aggregates."""
