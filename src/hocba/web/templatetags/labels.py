"""`{{ value|label }}`: an enum of `hocba.rules.labels` in the reader's language (Vietnamese
unless the page is in English); anything else as it is. `{{ codes|subject_names:level }}`:
subject codes by their catalogue names."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from hocba.rules.catalogue import CATALOGUE, Level
from hocba.rules.labels import Labelled

register = template.Library()


@register.filter
def label(value: object) -> object:
    if isinstance(value, Labelled):
        return value.label_in(get_language())
    return value


@register.filter
def subject_names(codes: object, level: str) -> str:
    """`{{ codes|subject_names:class_group.level }}`: subject codes as the catalogue names them
    ("Ngữ văn, Toán"), never the code itself."""
    if not isinstance(codes, list | tuple):
        return ""
    names = []
    for code in codes:
        subject = CATALOGUE.get((Level(level), str(code))) if level in Level.__members__ else None
        names.append(subject.name if subject is not None else str(code))
    return ", ".join(names)
