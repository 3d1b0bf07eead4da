"""Bringing a school's people in from files: students, staff, teaching and homeroom assignments
from the sector database (CSDL ngành), vnEdu, SMAS or hocba's own lists; and writing the lists
back out in the same layouts. See docs/imports.md."""
