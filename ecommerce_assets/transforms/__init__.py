"""Pure transforms, one module per layer: DataFrames in, DataFrames out, no Dagster."""
