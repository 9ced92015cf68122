"""GET /tasks/<id>/: the modal fragment, the shareable page, the raw file and the live update."""

from __future__ import annotations

import html
import os
from urllib.parse import quote

import pytest

from kanban import runtime
from kanban.scanner import Scanner
from kanban.views import render_detail_fragment
from tests.factories import CORPUS, write_task, write_text

HX = {"HX-Request": "true"}


def url(task_id: str) -> str:
    return "/tasks/" + quote(task_id, safe="") + "/"


def test_every_corpus_task_opens_and_shows_every_top_level_field(client, show):
    if not CORPUS.is_dir():
        pytest.skip("the shared corpus is not next to this repository")
    board = show(CORPUS)
    assert len(board.tasks) > 50
    for task in board.tasks.values():
        response = client.get(url(task.id), headers=HX)
        assert response.status_code == 200, task.path
        body = response.content.decode()
        for key in task.data:
            assert f'data-field="{html.escape(str(key))}"' in body, (task.path, key)
        assert html.escape(task.path) in body


def test_an_htmx_request_gets_the_modal_fragment_without_a_page_around_it(client, show, collab):
    write_task(collab, "inbox/t.yaml", id="t-1", title="Fragment me", agent="a")
    show(collab)
    response = client.get(url("t-1"), headers=HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="task-detail"')
    assert 'data-task-id="t-1"' in body
    assert '<h2 id="modal-title" data-field="title">Fragment me</h2>' in body
    assert (
        '<form method="dialog" class="detail-close"><button type="submit">Close</button></form>'
        in body
    )


def test_a_plain_request_gets_a_shareable_page(client, show, collab):
    write_task(collab, "inbox/t.yaml", id="t-1", title="Share me")
    show(collab)
    response = client.get(url("t-1"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body and '<div id="task-detail"' in body
    assert "<title>Share me · Execution Dashboard</title>" in body
    assert "Back to the board" in body


def test_the_page_shows_lane_agent_status_priority_and_file(client, show, collab):
    write_task(
        collab,
        "assigned/pedro/2026/x.yaml",
        id="x",
        title="X",
        status="in_progress",
        priority="HIGH",
        estimated_hours="1-2",
    )
    show(collab)
    body = client.get(url("x"), headers=HX).content.decode()
    assert "assigned/pedro/2026/x.yaml" in body
    assert 'lane-badge lane-assigned">assigned' in body
    assert "pedro" in body
    assert "in_progress" in body
    assert 'prio-high">high' in body
    assert "1-2 h" in body


def test_a_script_in_the_description_does_not_appear_as_a_tag(client, show, collab):
    write_task(
        collab,
        "inbox/evil.yaml",
        id="evil",
        title="<script>alert(1)</script>",
        description="Hello <script>alert('boom')</script> **there**\n\n"
        "<img src=x onerror=alert(1)>\n\n[x](javascript:alert(2))",
        notes={"nested": "<b onmouseover=alert(3)>hover</b>\nline"},
    )
    show(collab)
    body = client.get(url("evil"), headers=HX).content.decode()
    assert "<script" not in body
    rendered, raw = body.split('<details class="raw">')
    assert "onerror" not in rendered
    assert "onmouseover" not in rendered
    assert "javascript:" not in rendered
    assert "<strong>there</strong>" in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered  # the title, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in raw  # the raw file, as text


def test_ids_with_dots_colons_and_spaces_are_reachable(client, show, collab):
    for i, task_id in enumerate(
        ["mfd-task-1.3", "ns:task:7", "with space", "dots.and:colons here"]
    ):
        write_task(collab, f"inbox/t{i}.yaml", id=task_id, title=f"Task {i}")
    show(collab)
    for i, task_id in enumerate(
        ["mfd-task-1.3", "ns:task:7", "with space", "dots.and:colons here"]
    ):
        response = client.get(url(task_id), headers=HX)
        assert response.status_code == 200, task_id
        assert f"Task {i}" in response.content.decode()


def test_two_files_with_one_id_are_both_shown_with_a_note(client, show, collab):
    write_task(collab, "inbox/a.yaml", id="twin", title="First twin")
    write_task(collab, "done/bob/b.yaml", id="twin", title="Second twin", result={"summary": "ok"})
    show(collab)
    body = client.get(url("twin"), headers=HX).content.decode()
    assert body.count('<article class="task-section') == 2
    assert 'data-path="inbox/a.yaml"' in body and 'data-path="done/bob/b.yaml"' in body
    assert "is used by 2 files" in body
    assert "duplicate id" in body


def test_an_unknown_id_is_a_friendly_404_page_and_fragment(client, show, collab):
    show(collab)
    page = client.get(url("nobody-has-this"))
    assert page.status_code == 404
    assert "No task has the id" in page.content.decode()
    assert "<html" in page.content.decode()
    fragment = client.get(url("nobody-has-this"), headers=HX)
    assert fragment.status_code == 404
    assert "<html" not in fragment.content.decode()
    assert 'id="modal-title"' in fragment.content.decode()


@pytest.mark.parametrize(
    "path", ["/tasks/../x/", "/tasks/a%2Fb/", "/tasks/a%00b/", "/tasks/%2e%2e/"]
)
def test_malformed_paths_answer_4xx_never_500(client, show, collab, path):
    show(collab)
    response = client.get(path)
    assert 400 <= response.status_code < 500


def test_only_get_is_allowed(client, show, collab):
    write_task(collab, "inbox/t.yaml", id="t", title="T")
    show(collab)
    assert client.post(url("t")).status_code == 405


def test_dependencies_and_dependents_are_links_and_unknown_and_unmet_ones_are_marked(
    client, show, collab
):
    write_task(collab, "done/x/base.yaml", id="base", title="Base done")
    write_task(collab, "assigned/x/mid.yaml", id="mid", title="Middle", dependencies=["base"])
    write_task(
        collab,
        "inbox/top.yaml",
        id="top",
        title="Top",
        dependencies=[
            {"type": "prerequisite", "task_id": "mid", "description": "Needs the middle"},
            {"type": "prerequisite", "task_id": "ghost"},
        ],
    )
    write_task(
        collab, "inbox/after.yaml", id="after", title="After", dependencies={"needs": ["top"]}
    )
    show(collab)
    body = client.get(url("top"), headers=HX).content.decode()
    assert 'href="/tasks/mid/" hx-get="/tasks/mid/" hx-target="#modal-body"' in body
    assert 'class="dep dep-pending" data-dep-id="mid"' in body
    assert "not done" in body
    assert 'class="dep dep-unknown" data-dep-id="ghost"' in body
    assert ">unknown</span>" in body
    assert "Needs the middle" in body
    assert 'data-dependent-id="after"' in body
    assert 'href="/tasks/after/"' in body
    middle = client.get(url("mid"), headers=HX).content.decode()
    assert 'class="dep dep-done" data-dep-id="base"' in middle


def test_timestamps_read_as_ago_with_the_exact_time_on_hover(client, show, collab):
    write_text(
        collab,
        "inbox/t.yaml",
        "id: t\ntitle: T\ncreated: 2026-02-09 20:33:00+00:00\n"
        "completed_at: '2026-02-10T08:00:00Z'\n",
    )
    show(collab)
    body = client.get(url("t"), headers=HX).content.decode()
    assert '<time datetime="2026-02-09T20:33:00+00:00"' in body
    assert 'title="2026-02-10 08:00:00 UTC (2026-02-10T08:00:00Z)"' in body
    assert "ago</time>" in body


def test_nested_context_and_result_are_laid_out_not_dumped(client, show, collab):
    write_task(
        collab,
        "done/x/t.yaml",
        id="t",
        title="T",
        context={"background": "Why", "files": ["a.py", "b.py"]},
        result={"summary": "Shipped", "metrics": {"tests": 12}},
        deliverables=[{"file": "a.md", "purpose": "intro"}, {"file": "b.md", "purpose": "guide"}],
        acceptance_criteria="- [x] works\n- [ ] documented\n",
    )
    show(collab)
    body = client.get(url("t"), headers=HX).content.decode()
    assert '<dl class="vmap">' in body
    assert (
        '<dt title="files">Files</dt><dd><ul class="vlist"><li><span class="text">a.py</span>'
        in body
    )
    assert '<th scope="col">purpose</th>' in body
    assert 'aria-label="done">☑</span> works' in body
    assert "summary:" not in body.split('<details class="raw">')[0]  # not a YAML dump


def test_the_raw_yaml_is_read_from_disk_when_asked(client, show, collab):
    path = write_text(collab, "inbox/t.yaml", "id: t\ntitle: Old title\n")
    show(collab)
    path.write_text("id: t\ntitle: New title  # edited after the scan\n", encoding="utf-8")
    body = client.get(url("t"), headers=HX).content.decode()
    assert "<summary>Raw YAML</summary>" in body
    assert "New title  # edited after the scan" in body
    raw = client.get(url("t") + "?raw=1")
    assert raw.status_code == 200
    assert raw["Content-Type"] == "text/plain; charset=utf-8"
    assert raw.content.decode() == "id: t\ntitle: New title  # edited after the scan\n"


def test_the_raw_link_picks_among_duplicates_but_never_reads_another_file(client, show, collab):
    write_text(collab, "inbox/a.yaml", "id: twin\ntitle: A\n")
    write_text(collab, "inbox/b.yaml", "id: twin\ntitle: B\n")
    write_text(collab, "inbox/other.yaml", "id: other\ntitle: Secret\n")
    show(collab)
    assert "title: B" in client.get(url("twin") + "?raw=1&path=inbox/b.yaml").content.decode()
    fallback = client.get(url("twin") + "?raw=1&path=inbox/other.yaml").content.decode()
    assert "Secret" not in fallback and "title: A" in fallback
    assert client.get(url("ghost") + "?raw=1").status_code == 404


def test_a_stale_card_says_why(client, show, collab):
    path = write_text(collab, "inbox/s.yaml", "id: s\ntitle: Was fine\n")
    scanner = Scanner(collab)
    first = scanner.scan()
    path.write_text("id: s\ntitle: [broken\n", encoding="utf-8")
    os.utime(path, (1, 1))
    board = scanner.refresh(first, ["inbox/s.yaml"], [])[0]
    show(collab)
    runtime.STATE.board = board
    body = client.get(url("s"), headers=HX).content.decode()
    assert "Was fine" in body
    assert "stale" in body
    assert "invalid YAML" in body


def test_the_pushed_update_replaces_only_the_modal_showing_that_task(show, collab):
    write_task(collab, "inbox/t.yaml", id="t", title="Live title")
    board = show(collab)
    html_text = render_detail_fragment(board, "t")
    assert html_text.lstrip().startswith('<div id="task-detail-')
    assert 'hx-swap-oob="true"' in html_text
    assert "Live title" in html_text
    assert 'id="task-detail"' not in html_text  # the stable wrapper stays put
    other = render_detail_fragment(board, "someone-else")
    assert other.split('"')[1] != html_text.split('"')[1]


def test_the_pushed_update_for_a_removed_task_says_it_is_gone(show, collab):
    board = show(collab)
    html_text = render_detail_fragment(board, "gone")
    assert "No task has the id" in html_text
    assert 'hx-swap-oob="true"' in html_text
