"""The hand-over of a whole instance: everything it holds written to a directory in open formats
(JSON per table, files named by SHA-256, the XSDs) with a manifest sealed by the operator's
organisation key, and loaded into an empty instance after every hash and the seal are checked.
See docs/handover.md."""
