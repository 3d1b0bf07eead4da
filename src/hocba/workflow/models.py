"""A browser signing session: the server prepared the digests for a batch at one signing time;
the browser's signer (the local agent with the USB token) returns the values; the server embeds
them in chunks. Nothing is kept but digests, the certificate and the outcome."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SigningSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    slot = models.CharField(max_length=12)
    subject_code = models.CharField(max_length=20, blank=True)
    certificate = models.TextField(help_text=_("DER, base64"))
    signing_time = models.DateTimeField()
    digests = models.JSONField(default=dict, help_text=_("version id → digests (base64)"))
    done = models.JSONField(default=list)
    signed = models.PositiveIntegerField(default=0)
    failed = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("signing session")
        verbose_name_plural = _("signing sessions")

    def __str__(self) -> str:
        return f"{self.user} {self.slot} {self.created_at:%Y-%m-%d %H:%M}"
