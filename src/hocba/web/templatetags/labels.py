"""`{{ value|label }}`: an enum of `hocba.rules.labels` in the reader's language (Vietnamese
unless the page is in English); anything else as it is."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from hocba.rules.labels import Labelled

register = template.Library()


@register.filter
def label(value: object) -> object:
    if isinstance(value, Labelled):
        return value.label_in(get_language())
    return value
