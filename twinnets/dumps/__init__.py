"""Stage 3, the storage contract: Parquet dumps, other formats, checkpoints."""
