from mcp_servers.backoff import Backoff
from mcp_servers.status import ServerState, ToolInfo, format_duration, tools_change_text


def test_the_first_restart_is_quick_and_later_ones_grow_to_a_cap():
    backoff = Backoff(first=1, factor=2, cap=10, stable_after=60)
    delays = [backoff.next_delay(ran_for=0.5) for _ in range(6)]
    assert delays == [1, 2, 4, 8, 10, 10]
    assert delays[0] < 10


def test_a_long_healthy_run_resets_the_backoff():
    backoff = Backoff(first=1, factor=2, cap=60, stable_after=30)
    for _ in range(4):
        backoff.next_delay(ran_for=1)
    assert backoff.next_delay(ran_for=31) == 1


def test_tool_changes_are_told_in_words():
    a, b, c = ToolInfo("a"), ToolInfo("b"), ToolInfo("c")
    assert tools_change_text((), (a, b), first=True) == "2 tools discovered"
    text = tools_change_text((a, b), (a, c), first=False)
    assert "added c" in text and "removed b" in text and "(2 now)" in text


def test_only_stdio_servers_offer_actions_and_the_json_has_every_contract_field():
    state = ServerState(name="x", transport="stdio", target="x")
    assert state.view().actions == ("start",)
    state.managed = True
    assert state.view().actions == ("restart", "stop")
    http = ServerState(name="h", transport="http", target="http://h/mcp")
    assert http.view().actions == ()
    assert set(state.view().as_json()) == {
        "name", "transport", "status", "managed", "tools", "last_check", "latency_ms",
        "uptime_s", "restarts", "pid", "rss_mb", "cpu_pct", "error",
    }  # fmt: skip


def test_durations_read_naturally():
    assert format_duration(None) == "–"
    assert format_duration(42) == "42s"
    assert format_duration(3600 * 2 + 60 * 15) == "2h 15m"
