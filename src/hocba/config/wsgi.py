import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hocba.config.settings")
django_application = get_wsgi_application()

from hocba.verification.fastpath import FastPath  # noqa: E402 - needs the apps loaded

application = FastPath(django_application)
