"""What the records app announces to the apps above it, which it never imports: they connect
their receivers in their `AppConfig.ready()`.

- `record_issued(version)`: sent by `mark_issued` inside the transaction that makes a version
  ISSUED, so that what a receiver writes (the exchange: the outbox row that sends the version
  upward) is committed with the issuing or not at all; a receiver that raises undoes the
  issuing.
"""

from django.dispatch import Signal

record_issued = Signal()
