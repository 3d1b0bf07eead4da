"""Students, their families and enrolments, and the data-quality review of their identities."""
