import datetime as dt
import hashlib
import subprocess
import sys

from playwright.sync_api import expect

from ..server import REPO, DashboardProcess
from ..telemetry.builders import create, row
from .conftest import open_board


def now_iso():
    return dt.datetime.now(dt.timezone.utc).isoformat()


def test_a_row_inserted_by_another_process_changes_cost_today_on_screen(page, collab, tmp_path):
    db = create(tmp_path / "telemetry.db", "llm", [row(now_iso(), 1.25)])
    with DashboardProcess("--collab-dir", str(collab), "--telemetry-db", str(db)) as server:
        open_board(page, server.url)
        expect(page.locator("#cost-today")).to_have_text("$1.25")
        before = hashlib.sha256(db.read_bytes()).hexdigest()
        script = (
            "import sys; sys.path.insert(0, sys.argv[1]);"
            "from tests.telemetry.builders import insert, row;"
            "insert(sys.argv[2], 'llm', [row(sys.argv[3], 0.08)])"
        )
        subprocess.run([sys.executable, "-c", script, str(REPO), str(db), now_iso()], check=True)
        expect(page.locator("#cost-today")).to_have_text("$1.33", timeout=3000)
        expect(page.locator("#cost-total")).to_have_text("$1.33")
        assert hashlib.sha256(db.read_bytes()).hexdigest() != before  # the writer's change only


def test_a_missing_database_shows_a_dash_and_fills_when_it_appears(page, collab, tmp_path):
    db = tmp_path / "later.db"
    with DashboardProcess("--collab-dir", str(collab), "--telemetry-db", str(db)) as server:
        open_board(page, server.url)
        for figure in ("#cost-today", "#cost-month", "#cost-total"):
            expect(page.locator(figure)).to_have_text("—")  # unknown, not "free"
        expect(page.locator("#telemetry-figures")).to_contain_text("No telemetry database yet")
        expect(page.locator("#telemetry-figures")).not_to_contain_text("$0.00")
        create(db, "spec", [row(now_iso(), 2.5)])
        expect(page.locator("#cost-total")).to_have_text("$2.50", timeout=5000)
