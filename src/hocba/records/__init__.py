"""The học bạ record: one per student per school year, with versions that are never edited
once issued; built from the grade book, stored by hash, corrected and revoked by new versions."""
