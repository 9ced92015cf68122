from django.urls import path

from .consumers import DashboardConsumer

websocket_urlpatterns = [
    path("dashboard", DashboardConsumer.as_asgi()),
]
