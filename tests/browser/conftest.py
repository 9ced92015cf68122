import pytest
from playwright.sync_api import sync_playwright

from ..server import DashboardProcess

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def dashboard(collab, tmp_path):
    server = DashboardProcess("--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db"))
    server.start()
    yield server
    server.stop()


def open_board(page, url):
    page.goto(url)
    page.wait_for_selector("body[data-ws=open]")
    return page
