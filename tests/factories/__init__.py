"""The data tests build, in one place.

- `tests.factories.records`: records as dataclasses (every level), records signed step by step
  or through all four steps, packages sealed with keys of a development PKI. No database and no
  Django settings are needed to import it (`bench/` uses it too).
- `tests.factories.database`: rows beside the demo province: organisations, staff, students,
  issued versions, packages sealed with a demo school's token, the sending school of the
  exchange tests with its outbox and warehouse account.
"""
