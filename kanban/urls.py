from django.urls import path

from . import views

urlpatterns = [
    path("", views.board, name="board"),
    path("health", views.health, name="health"),
    path("api/tasks", views.api_tasks, name="api-tasks"),
    path("lanes/<str:lane>/", views.lane, name="lane"),
    path("tasks/<path:task_id>/", views.task_detail, name="task-detail"),
    path("graph/", views.graph, name="graph"),
    path("agents/", views.agents_page, name="agents"),
]
