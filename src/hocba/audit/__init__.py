"""Append-only, hash-chained audit events: who changed what, when, from where."""
