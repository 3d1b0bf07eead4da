"""The demo: a whole synthetic province built end to end, deterministic for a seed.

`build_demo` runs the steps of `STEPS` in order; later parts of the system (grades, records,
signatures, PDFs, the warehouse) add their step to the same pipeline.
"""
