from django.apps import AppConfig


class KanbanConfig(AppConfig):
    name = "kanban"

    def ready(self) -> None:
        from . import composition, html, runtime

        # Costs look the same for every viewer: rendered once per telemetry change
        # (`runtime.publish_panel(html.COSTS_PANEL)`), not once per page.
        runtime.register_panel(html.COSTS_PANEL, html.telemetry_html)
        composition.register_panels()
