"""Synthetic data from the catalog: introspection, profiles, generators and the COPY loader.

:mod:`dbkit.synth.catalog` reads what the database promises (types, NOT NULL, CHECK ranges,
enums, unique keys, foreign keys); :mod:`dbkit.synth.profiles` reads the project's
``synth/profiles/*.toml`` that add meaning per table and column; :mod:`dbkit.synth.generate`
compiles both into one row function per table; :mod:`dbkit.synth.loader` streams the rows
through ``COPY`` in dependency order, one transaction per table.
"""
