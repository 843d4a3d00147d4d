"""Workflow support: the grid, job resources, code hashes and job setup, imported groups."""
