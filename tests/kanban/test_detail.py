"""The task detail as display structures: Markdown, nested fields, times, dependencies."""

from __future__ import annotations

import datetime as dt

from kanban.board import Board
from kanban.detail import (
    MAX_DEPTH,
    MAX_ITEMS,
    build_page,
    detail_dom_id,
    parse_time,
    render_markdown,
    to_value,
)
from kanban.scanner import Scanner
from tests.factories import write_task, write_text


def scan(root) -> Board:
    return Scanner(root).scan()


# --- Markdown ------------------------------------------------------------------------------


def test_markdown_is_rendered_on_the_server():
    html = render_markdown("Build a **facade**.\n\n- one\n- two\n")
    assert "<strong>facade</strong>" in html
    assert "<li>one</li>" in html


def test_a_script_in_markdown_never_becomes_a_tag():
    html = render_markdown("Hi <script>alert('x')</script> there")
    assert "<script" not in html
    assert "alert" not in html


def test_event_handler_attributes_are_stripped():
    html = render_markdown('<img src="x.png" onerror="alert(1)"> <b onclick="x()">b</b>')
    assert "onerror" not in html
    assert "onclick" not in html


def test_javascript_links_lose_their_target():
    html = render_markdown("[click](javascript:alert(1)) and <a href='javascript:x'>raw</a>")
    assert "javascript:" not in html
    assert "click" in html


def test_links_open_without_leaking_the_opener():
    html = render_markdown("[docs](https://example.org/docs)")
    assert 'href="https://example.org/docs"' in html
    assert "noopener" in html


def test_checklists_show_done_and_open_boxes():
    html = render_markdown("- [x] spiked\n- [ ] designed\n")
    assert 'class="task-item is-done"' in html
    assert 'aria-label="done">☑' in html
    assert 'aria-label="not done">☐' in html
    assert "[x]" not in html and "[ ]" not in html


def test_checklists_written_with_blank_lines_between_items_still_show_boxes():
    html = render_markdown("- [x] one ✅\n\n- [ ] two\n")
    assert html.count("task-item") == 2


def test_a_list_right_after_a_paragraph_line_is_a_list():
    html = render_markdown("Each task includes:\n- criteria\n- agent\n")
    assert "<li>criteria</li>" in html


def test_headings_inside_a_field_sit_below_the_modal_title():
    html = render_markdown("# Big\n\n## Scope\n")
    assert "<h1>" not in html and "<h2>" not in html
    assert "<h3>Big</h3>" in html and "<h4>Scope</h4>" in html


def test_fenced_code_is_kept_as_code():
    html = render_markdown("```\n- [ ] not a checkbox\n<b>x</b>\n```\n")
    assert "<pre><code>" in html
    assert "&lt;b&gt;" in html
    assert "task-item" not in html


# --- values --------------------------------------------------------------------------------


def test_description_is_markdown_even_on_one_line():
    value = to_value("Just one line", "description")
    assert value.kind == "markdown"
    assert value.html == "<p>Just one line</p>"


def test_a_short_plain_field_stays_plain_text():
    value = to_value("docs/adr/ADR-045.md", "specification")
    assert value.kind == "text"
    assert value.text == "docs/adr/ADR-045.md"


def test_a_long_string_in_any_field_is_treated_as_markdown():
    value = to_value("A line\nwith `code`", "implementation_guide")
    assert value.kind == "markdown"
    assert "<code>code</code>" in value.html


def test_a_nested_context_mapping_is_laid_out_as_pairs():
    value = to_value(
        {"background": "Multi\nline", "milestone": "M5.1", "files": ["a.py", "b.py"], "ok": True},
        "context",
    )
    assert value.kind == "mapping"
    entries = {e.key: e for e in value.entries}
    assert entries["milestone"].label == "Milestone"
    assert entries["files"].value.kind == "list"
    assert [i.text for i in entries["files"].value.items] == ["a.py", "b.py"]
    assert entries["ok"].value.text == "yes"
    assert entries["background"].value.kind == "markdown"


def test_a_list_of_flat_mappings_becomes_a_small_table():
    value = to_value(
        [{"file": "a.md", "purpose": "intro"}, {"file": "b.md", "purpose": "guide", "size": 3}],
        "deliverables",
    )
    assert value.kind == "table"
    assert value.columns == ("file", "purpose", "size")
    assert value.rows[0][2].kind == "empty"
    assert value.rows[1][2].text == "3"


def test_a_list_of_mixed_items_stays_a_list():
    value = to_value(["Works", {"tests": ["unit", "integration"]}], "acceptance_criteria")
    assert value.kind == "list"
    assert value.items[1].kind == "mapping"


def test_checklist_strings_in_a_list_become_checks():
    value = to_value(["[x] done thing", "- [ ] open thing"], "acceptance_criteria")
    assert [(i.kind, i.done) for i in value.items] == [("check", True), ("check", False)]
    assert value.items[0].items[0].text == "done thing"


def test_empty_values_say_so():
    for empty in (None, "", [], {}):
        assert to_value(empty, "artefacts").kind == "empty"


def test_numbers_are_shown_without_a_useless_decimal():
    assert to_value(2.0, "estimated_hours").text == "2"
    assert to_value(3.5, "estimated_hours").text == "3.5"


def test_very_deep_values_are_shown_preformatted_instead_of_nested_forever():
    deep: dict = {}
    node = deep
    for _ in range(MAX_DEPTH + 5):
        node["inner"] = {}
        node = node["inner"]
    node["leaf"] = "x"
    value = to_value(deep, "result")
    depth = 0
    while value.kind == "mapping":
        value = value.entries[0].value
        depth += 1
    assert value.kind == "pre"
    assert depth == MAX_DEPTH
    assert "leaf: x" in value.text


def test_long_lists_are_cut_with_a_count_of_the_rest():
    value = to_value([f"item {i}" for i in range(MAX_ITEMS + 7)], "files")
    assert len(value.items) == MAX_ITEMS
    assert value.more == 7


# --- time ----------------------------------------------------------------------------------


def test_time_fields_in_every_written_form_become_times():
    expected = dt.datetime(2026, 2, 9, 20, 33, tzinfo=dt.timezone.utc).timestamp()
    for text in ("2026-02-09T20:33:00Z", "2026-02-09 20:33:00+00:00", "2026-02-09T20:33"):
        value = to_value(text, "created_at")
        assert value.kind == "time", text
        assert value.ts == expected
        assert value.text == text


def test_yaml_timestamps_become_times_under_any_key():
    moment = dt.datetime(2026, 2, 9, 5, 0, tzinfo=dt.timezone.utc)
    value = to_value(moment, "created")
    assert value.kind == "time"
    assert value.ts == moment.timestamp()


def test_bare_created_and_other_at_keys_count_as_times():
    assert to_value("2026-02-10", "created").kind == "time"
    assert to_value("2026-02-10T10:00:00Z", "reassigned_at").kind == "time"


def test_a_time_field_that_is_not_a_time_stays_text():
    value = to_value("sometime next week", "started_at")
    assert value.kind == "text"


def test_times_without_an_offset_are_utc():
    assert (
        parse_time("2026-01-01T00:00:00")
        == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    )
    assert parse_time("not a time") is None


# --- whole tasks ---------------------------------------------------------------------------


def test_every_field_except_title_and_id_is_listed_in_file_order(collab):
    write_task(
        collab,
        "inbox/t.yaml",
        id="t",
        title="T",
        agent="a",
        status="new",
        description="d",
        context={"k": "v"},
        result={"summary": "s"},
        notes="n",
    )
    page = build_page(scan(collab), "t")
    keys = [e.key for e in page.sections[0].fields]
    assert keys == ["agent", "status", "description", "context", "result", "notes"]


def test_a_short_value_naming_a_known_task_links_to_it(collab):
    write_task(collab, "inbox/a.yaml", id="a.1", title="A", blocks=["b:2", "nobody"])
    write_task(collab, "inbox/b.yaml", id="b:2", title="B")
    page = build_page(scan(collab), "a.1")
    blocks = next(e for e in page.sections[0].fields if e.key == "blocks").value
    assert [(i.text, i.link) for i in blocks.items] == [("b:2", "b:2"), ("nobody", "")]


def test_dependencies_of_every_shape_are_classified(collab):
    write_task(collab, "done/x/prereq.yaml", id="prereq", title="Done one")
    write_task(collab, "assigned/x/pending.yaml", id="pending", title="Not done yet")
    write_task(
        collab,
        "inbox/list.yaml",
        id="list-ids",
        title="List of ids",
        dependencies=["prereq", "pending", "ghost"],
    )
    write_task(
        collab,
        "inbox/dicts.yaml",
        id="dicts",
        title="List of mappings",
        dependencies=[
            {"type": "prerequisite", "task_id": "pending", "description": "Needs it"},
            {"type": "parallel", "description": "Can run alongside"},
        ],
    )
    write_task(
        collab,
        "inbox/map.yaml",
        id="mapping",
        title="Mapping of lists",
        dependencies={"prerequisites": ["Hugo installed locally", "prereq"], "related": ["ADR-9"]},
    )
    board = scan(collab)

    listed = build_page(board, "list-ids").sections[0]
    assert [(d.task_id, d.state) for d in listed.dependencies] == [
        ("prereq", "done"),
        ("pending", "pending"),
        ("ghost", "unknown"),
    ]
    assert listed.unmet == ("pending",)
    assert listed.dependencies[0].targets[0].title == "Done one"

    dicts = build_page(board, "dicts").sections[0]
    assert [(d.task_id, d.kind, d.state, d.description) for d in dicts.dependencies] == [
        ("pending", "prerequisite", "pending", "Needs it"),
        (None, "parallel", "note", "Can run alongside"),
    ]

    mapping = build_page(board, "mapping").sections[0]
    assert [(d.task_id, d.kind, d.state) for d in mapping.dependencies] == [
        (None, "prerequisites", "note"),
        ("prereq", "prerequisites", "done"),
        ("ADR-9", "related", "unknown"),
    ]


def test_dependents_are_the_tasks_that_name_this_one(collab):
    write_task(collab, "inbox/base.yaml", id="base", title="Base")
    write_task(collab, "inbox/one.yaml", id="one", title="One", dependencies=["base"])
    write_task(
        collab,
        "inbox/two.yaml",
        id="two",
        title="Two",
        dependencies=[{"task_id": "base", "type": "prerequisite"}],
    )
    page = build_page(scan(collab), "base")
    assert [r.id for r in page.sections[0].dependents] == ["one", "two"]


def test_two_files_with_one_id_give_two_sections_that_know_of_each_other(collab):
    write_task(collab, "inbox/a.yaml", id="same", title="First copy")
    write_task(collab, "assigned/x/b.yaml", id="same", title="Second copy")
    page = build_page(scan(collab), "same")
    assert [s.task.path for s in page.sections] == ["assigned/x/b.yaml", "inbox/a.yaml"]
    assert page.sections[0].duplicate_paths == ("inbox/a.yaml",)
    assert page.sections[0].anchor != page.sections[1].anchor


def test_an_unknown_id_gives_an_empty_page():
    page = build_page(Board(), "nope")
    assert not page.found
    assert page.title == "nope"


def test_the_raw_text_comes_from_the_reader_at_build_time(collab):
    write_text(collab, "inbox/r.yaml", "id: r\ntitle: R\n")
    page = build_page(scan(collab), "r", lambda path: (f"text of {path}", ""))
    assert page.sections[0].raw == "text of inbox/r.yaml"


def test_the_detail_dom_id_is_stable_and_differs_per_task():
    assert detail_dom_id("a") == detail_dom_id("a")
    assert detail_dom_id("a") != detail_dom_id("b")
    assert detail_dom_id("with space:and.dots").startswith("task-detail-")


def test_a_title_that_is_not_text_stays_in_the_field_list(collab):
    write_text(collab, "inbox/odd.yaml", "id: odd\ntitle:\n  en: English\n  de: Deutsch\n")
    page = build_page(scan(collab), "odd")
    title = next(e for e in page.sections[0].fields if e.key == "title")
    assert title.value.kind == "mapping"
    assert page.title == "(untitled task)"


def test_a_file_tree_keeps_its_indentation():
    tree = "docs-site/\n  config/    # settings\n    _default/\n  content/   # pages\n"
    value = to_value(tree, "proposed_structure")
    assert value.kind == "pre"
    assert value.text == tree.rstrip("\n")


def test_prose_with_an_indented_sub_list_is_still_markdown():
    text = "Steps:\n\n- one\n  - one a\n  - one b\n- two\n"
    assert to_value(text, "plan").kind == "markdown"
