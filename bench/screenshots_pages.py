"""Screenshots of the agents page and the telemetry drill-down, light and dark, for the README.

    .venv/bin/python bench/screenshots_pages.py [--out docs/screens]

Starts `rundashboard --demo` on a free port (a throwaway workspace), lets the simulator work
for a few seconds, then shoots each page at 1440x900 in both themes with Debian's Chromium.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.server import DashboardProcess  # noqa: E402

PAGES = {
    "agents": "agents/",
    "telemetry-index": "telemetry/",
    "telemetry-invocations": "telemetry/telemetry/invocation/",
    "telemetry-per-day": "telemetry/days/",
    "telemetry-per-model": "telemetry/models/",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screens"))
    parser.add_argument("--settle", type=float, default=8.0, help="seconds of demo first")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with DashboardProcess("--demo") as server, sync_playwright() as p:
        time.sleep(args.settle)
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for theme in ("light", "dark"):
            context = browser.new_context(
                viewport={"width": 1440, "height": 900}, color_scheme=theme
            )
            page = context.new_page()
            page.goto(server.url)
            page.evaluate(f"localStorage.setItem('dashboard-theme', '{theme}')")
            for name, path in PAGES.items():
                page.goto(server.url + path)
                page.wait_for_load_state("networkidle")
                target = args.out / f"{name}-{theme}.png"
                page.screenshot(path=str(target))
                print(target)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
