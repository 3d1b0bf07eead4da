"""Organisations and people: Sở, Phòng, schools, school years, classes, staff, roles and scopes."""
