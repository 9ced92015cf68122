import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from dashboard_project.security import (  # noqa: E402
    SameOriginWebSocketMiddleware,
    TokenWebSocketMiddleware,
)
from kanban.routing import websocket_urlpatterns  # noqa: E402

# Static files are served by WhiteNoise inside Django's middleware, after the Host and token
# checks, like every other path.
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginWebSocketMiddleware(
            TokenWebSocketMiddleware(URLRouter(websocket_urlpatterns))
        ),
    }
)
