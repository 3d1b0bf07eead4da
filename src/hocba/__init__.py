"""hocba: học bạ số from the grade book to a signed, verifiable record."""

__version__ = "0.1.0"
