"""The telemetry styles are a static file: a Content-Security-Policy without 'unsafe-inline'
must not break them, so no telemetry template carries an inline <style> or <script>."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

TEMPLATES = Path(settings.BASE_DIR) / "templates" / "telemetry"


def test_the_styles_are_served_as_a_static_file():
    found = finders.find("telemetry/telemetry.css")
    assert found and ".tm-figures" in Path(found).read_text()


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_no_telemetry_template_has_inline_style_or_script(template):
    text = template.read_text().lower()
    assert "<style" not in text and "<script" not in text


def test_the_page_links_the_telemetry_stylesheet():
    # Hashed (telemetry.<hash>.css) once collectstatic has run, plain before.
    assert re.search(
        r'href="/static/telemetry/telemetry(\.[0-9a-f]+)?\.css"', render_to_string("base.html")
    )
