from django.urls import path

from . import views

urlpatterns = [
    path("api/events", views.api_events, name="api-events"),
    path("api/operations", views.api_operations, name="api-operations"),
    path("api/operations/<str:operation_id>", views.api_operation, name="api-operation"),
    path("api/operations/<str:operation_id>/stop", views.stop_operation, name="operation-stop"),
    path("operations/", views.operations_page, name="operations"),
    path("operations/<str:operation_id>/", views.operation_detail, name="operation-detail"),
]
