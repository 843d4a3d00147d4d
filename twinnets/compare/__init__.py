"""Stage 4, comparison: distances, symmetries, similarity, barriers, group tables and their statistics."""
