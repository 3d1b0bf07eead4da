"""One-time activation codes: how a person given an account by the school signs in the first
time, or again after the school reset their password.

Only a keyed hash of the code is kept; a code expires (`ACTIVATION_CODE_DAYS`) and works once.
Issuing a new code for a user makes their older codes void.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ActivationCode(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activation_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    void_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.user} ({self.issued_at:%Y-%m-%d})"

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.void_at is None and self.expires_at > timezone.now()
