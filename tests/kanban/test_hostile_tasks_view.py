"""Hostile task files through the real views (security review findings 6, 13, 18, 19, 22, 26).

Each task is a real file on disk, scanned into the live board, then fetched through
Django's test client as a browser would.
"""

from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET

from kanban.detail import MAX_FIELDS
from kanban.tasks import MAX_TITLE_CHARS
from kanban.templatetags.kanban_tags import ago, exacttime, isotime, task_url
from tests.factories import write_task, write_text

HX = {"HX-Request": "true"}
FAR_FUTURE = "9999-12-31T23:59:59-12:00"  # year 10000 once in UTC


def test_a_far_future_date_renders_the_detail_and_the_board(client, show, collab):
    write_text(collab, "inbox/f.yaml", f"id: future\ntitle: Later\ncreated_at: {FAR_FUTURE}\n")
    write_text(collab, "inbox/g.yaml", f"id: future2\ncreated_at: '{FAR_FUTURE}'\n")
    show(collab)
    for task_id in ("future", "future2"):
        response = client.get(task_url(task_id))
        assert response.status_code == 200
        assert FAR_FUTURE[:10] in response.content.decode()  # shown as written
    assert client.get("/").status_code == 200


def test_the_time_filters_give_nothing_outside_the_years_datetime_holds():
    beyond = 253402300800.0 + 86400  # 10000-01-02
    assert isotime(beyond) == "" and exacttime(beyond) == "" and ago(beyond) == ""
    assert isotime(-62135596800.0 - 86400) == ""  # before year 1
    assert isotime(0.5).startswith("1970-01-01T00:00:00")
    assert ago(time.time() - 120) == "2 min ago"


def test_markdown_images_load_nothing_neither_foreign_nor_same_origin(client, show, collab):
    write_task(
        collab,
        "inbox/p.yaml",
        id="pixel",
        description=(
            "Look: ![track](http://attacker.invalid/track.png)\n\n"
            '<img src="/telemetry/export/stats.json">\n\n'
            "![local](/static/logo.png) and [a link](https://example.org/)"
        ),
    )
    show(collab)
    body = client.get(task_url("pixel"), headers=HX).content.decode()
    assert "<img" not in body  # (the raw YAML below shows the URLs as text, escaped)
    assert 'src="http://attacker.invalid' not in body and 'src="/telemetry' not in body
    assert '<a href="https://example.org/" rel="noopener noreferrer">a link</a>' in body


def test_the_svg_file_is_well_formed_xml_whatever_control_characters_titles_hold(
    client, show, collab
):
    write_text(collab, "inbox/a.yaml", 'id: "a\\x07b"\ntitle: "bell\\a vt\\v nul\\0 esc\\e"\n')
    write_text(collab, "inbox/b.yaml", 'id: b\ntitle: "x\\x01"\ndependencies: ["a\\x07b"]\n')
    show(collab)
    response = client.get("/graph/?format=svg&all=1")
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # raised "not well-formed" before
    texts = "".join(root.itertext())
    assert "bell vt nul esc" in texts
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", response.content.decode())


def test_cards_with_slashes_or_dots_in_their_ids_open_their_detail(client, show, collab):
    hostile = ["a/b", "back\\slash", "..", ".", "</script>", "~tilde", "../../etc/passwd"]
    for i, task_id in enumerate(hostile):
        write_task(collab, f"inbox/h{i}.yaml", id=task_id, title=f"Hostile {i}")
    show(collab)
    page = client.get("/").content.decode()
    for i, task_id in enumerate(hostile):
        link = task_url(task_id)
        assert f'href="{link}"' in page, task_id  # the card's own link
        response = client.get(link, headers=HX)
        assert response.status_code == 200, (task_id, link)
        assert f"Hostile {i}" in response.content.decode()
        raw = client.get(link + "?raw=1")
        assert raw.status_code == 200 and f"title: Hostile {i}" in raw.content.decode()


def test_an_encoded_id_only_ever_names_a_task_never_a_file(client, show, collab, tmp_path):
    write_text(tmp_path, "secret.yaml", "id: secret\n")
    write_task(collab, "inbox/t.yaml", id="t")
    show(collab)
    for target in ("../secret.yaml", str(tmp_path / "secret.yaml"), "inbox/t.yaml"):
        response = client.get(task_url(target) + "?raw=1")
        assert response.status_code == 404
        assert "id: secret" not in response.content.decode()
    assert client.get("/tasks/~%25%25%25/").status_code == 400  # not base64 at all
    assert client.get("/tasks/~_w/").status_code == 400  # not UTF-8


def test_a_raw_file_swapped_for_a_link_to_outside_is_refused(client, show, collab, tmp_path):
    write_text(tmp_path, "outside/id_rsa", "PRIVATE KEY\n")
    write_task(collab, "inbox/t.yaml", id="t")
    show(collab)
    os.remove(collab / "inbox" / "t.yaml")
    os.symlink(tmp_path / "outside" / "id_rsa", collab / "inbox" / "t.yaml")
    response = client.get(task_url("t") + "?raw=1")
    assert response.status_code == 404
    assert "PRIVATE KEY" not in response.content.decode()


def test_a_task_with_60000_fields_renders_a_small_page(client, show, collab):
    text = "id: wide\n" + "".join(f"k{i}: v\n" for i in range(60_000))
    write_text(collab, "inbox/w.yaml", text)
    show(collab)
    response = client.get(task_url("wide"), headers=HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert len(re.findall('class="field[ "]', body)) == MAX_FIELDS
    assert f"… and {60_000 - MAX_FIELDS} more fields" in body
    assert len(body) < 400_000  # it was 7.4 MB


def test_a_huge_title_is_cut_on_cards_and_in_the_graph_but_whole_in_the_detail(
    client, show, collab
):
    title = "T" * 100_000
    write_task(collab, "inbox/big.yaml", id="big", title=title, dependencies=["other"])
    show(collab)
    page = client.get("/").content.decode()
    assert "T" * MAX_TITLE_CHARS not in page
    assert "T" * (MAX_TITLE_CHARS - 1) + "…" in page
    assert len(page) < 200_000
    graph = client.get("/graph/").content.decode()
    assert "T" * MAX_TITLE_CHARS not in graph
    detail = client.get(task_url("big"), headers=HX).content.decode()
    assert title in detail
