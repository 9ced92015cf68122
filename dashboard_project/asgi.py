import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from kanban.middleware import TokenWebSocketMiddleware  # noqa: E402
from kanban.routing import websocket_urlpatterns  # noqa: E402

# daphne's Server does not serve static files by itself (only its runserver wrapper does),
# and our page needs htmx from django-htmx's static folder.
application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            TokenWebSocketMiddleware(URLRouter(websocket_urlpatterns))
        ),
    }
)
