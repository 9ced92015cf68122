# The telemetry URLs on their own: these tests do not depend on the board's URLs.
from django.urls import include, path

urlpatterns = [path("", include("telemetry.urls"))]
