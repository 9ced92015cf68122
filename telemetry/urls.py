# Filled in by the telemetry work: /api/stats and the /telemetry/ drill-down.
urlpatterns: list = []
