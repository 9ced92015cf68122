"""Live LLM operations (CONTRACT section 8).

Pure modules (events, book, tailer, stopper, producer, demo_worker) import no Django; the edges
(views, urls) and `service.panel_html` do. Keep this file free of imports: producers import
`telemetry.operations.producer` without pulling in the web stack.
"""
