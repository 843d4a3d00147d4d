"""The figures of a run: one module per family of figures, one public function per figure.

Each figure function takes the run's tables (paths or DataFrames) and, where it needs
parameters, the weight dumps; draws with matplotlib and seaborn; writes every path in
``out`` (the suffix picks the format: SVG for the report, PNG for the README); and
returns the matplotlib ``Figure`` so that tests can check what it shows. Figures are
plain ``Figure`` objects, never pyplot, so drawing keeps no global state and needs no
display (Agg).

Figures about hidden units (1, 2, 5) and about the MLP's symmetries (3, 4, 6) draw one
MLP (:func:`tables.mlp_rows`); the convex control (7) and the accuracy grid (8) draw
every model. Which two networks are "A" and "B" (1, 2, 5) is a rule, not a choice by
hand: :func:`pair.choose_pair`.

Modules, lowest first (``lint-imports`` checks the order): ``style`` and ``labels`` (how
figures look and write numbers), ``tables`` and ``lines`` (which rows a figure draws,
lines over training), ``pair`` (A and B), the figures (``weights``: 1, 2;
``distances``: 3, 4; ``barriers``: 5; ``similarity``: 6; ``convex``: 7, 8), and
``drawing``, which runs one figure named by its dotted path.

This file imports nothing on purpose: a job's code hash follows its imports, and the job
that draws one figure should not depend on the others.
"""
