"""Stage 5, the report: which networks the prose speaks of, the answer, figures and pages."""
