"""Screenshots of the board for the README: light and dark, 1440x900 and 390x844.

    .venv/bin/python bench/screenshots.py                 # the demo workspace, into docs/screens/
    .venv/bin/python bench/screenshots.py --collab-dir path/to/work/collaboration --out /tmp/s

Starts a real `rundashboard` on a free loopback port (the demo by default, left running a few
seconds so the feed and the cards have moved), opens it in Debian's Chromium and saves
`board-<theme>-<width>x<height>.png`. Writes nothing but the PNG files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.server import DashboardProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SIZES = ((1440, 900), (390, 844))
THEMES = ("light", "dark")


def shoot(url: str, out: Path, settle_s: float) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width, height in SIZES:
                for theme in THEMES:
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        color_scheme=theme,  # type: ignore[arg-type]
                        reduced_motion="reduce",
                    )
                    page = context.new_page()
                    page.goto(url)
                    page.wait_for_selector("body[data-ws=open]", timeout=15_000)
                    page.wait_for_timeout(int(settle_s * 1000))
                    path = out / f"board-{theme}-{width}x{height}.png"
                    page.screenshot(path=str(path))
                    saved.append(path)
                    context.close()
        finally:
            browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collab-dir", type=Path, help="a task tree (default: the demo)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screens")
    parser.add_argument("--warm-up", type=float, default=8.0, help="seconds of demo activity")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds after the page opens")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.collab_dir:
            server_args: tuple[str, ...] = (
                "--collab-dir",
                str(args.collab_dir),
                "--telemetry-db",
                str(Path(tmp) / "none.db"),
            )
        else:
            server_args = ("--demo",)
        server = DashboardProcess(*server_args).start()
        try:
            if not args.collab_dir:
                time.sleep(args.warm_up)  # let the simulated agents make some history
            for path in shoot(server.url, args.out, args.settle):
                print(path)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
