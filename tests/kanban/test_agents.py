import datetime as dt
import os
import time

from kanban.agents import BUSY, IDLE, SILENT, agent_flows
from kanban.scanner import Scanner

from ..factories import write_task

# Files' change times (ctime) cannot be set back, so "now" is the real now, at noon UTC of
# a whole day later so day buckets are stable.
NOW = (time.time() // 86400 + 1) * 86400 + 12 * 3600


def iso(days_ago=0.0, hours_ago=0.0):
    moment = dt.datetime.fromtimestamp(NOW, dt.timezone.utc) - dt.timedelta(
        days=days_ago, hours=hours_ago
    )
    return moment.isoformat().replace("+00:00", "Z")


def touch_all(root, seconds_ago):
    for path in root.rglob("*.yaml"):
        os.utime(path, (NOW - seconds_ago, NOW - seconds_ago))


def flows_of(root, **kwargs):
    board = Scanner(root).scan()
    return {f.name: f for f in agent_flows(board.tasks.values(), NOW, **kwargs)}


def test_an_agent_with_work_in_progress_is_busy_and_one_without_is_idle(tmp_path):
    write_task(tmp_path, "assigned/ann/a.yaml", id="a", status="in_progress", started_at=iso(0, 2))
    write_task(tmp_path, "assigned/bob/b.yaml", id="b", status="assigned", assigned_at=iso(0, 1))
    touch_all(tmp_path, 60)
    flows = flows_of(tmp_path)
    assert flows["ann"].state == BUSY
    assert [t.id for t in flows["ann"].working_on] == ["a"]
    assert flows["bob"].state == IDLE
    assert flows["bob"].oldest_in_lane_s == 3600


def test_an_agent_whose_files_and_calls_are_quiet_is_silent(tmp_path):
    write_task(tmp_path, "assigned/cid/c.yaml", id="c", status="assigned")
    write_task(tmp_path, "assigned/dee/d.yaml", id="d", status="assigned")
    touch_all(tmp_path, 2 * 3600)
    flows = flows_of(tmp_path, last_seen={"dee": NOW - 60}, silent_after_s=1800)
    assert flows["cid"].state == SILENT
    assert flows["dee"].state == IDLE  # a telemetry call a minute ago is a sign of life


def test_a_running_operation_makes_an_agent_busy(tmp_path):
    write_task(tmp_path, "assigned/eve/e.yaml", id="e", status="assigned")
    touch_all(tmp_path, 2 * 3600)
    assert flows_of(tmp_path, running=["eve"])["eve"].state == BUSY


def test_cycle_time_and_throughput_come_from_the_tasks_own_times(tmp_path):
    write_task(
        tmp_path, "done/fay/1.yaml", id="1", started_at=iso(2), completed_at=iso(2, -4)
    )  # 4 hours
    write_task(tmp_path, "done/fay/2.yaml", id="2", assigned_at=iso(1), completed_at=iso(1, -8))
    write_task(tmp_path, "done/fay/3.yaml", id="3", created_at=iso(30), completed_at=iso(29))
    touch_all(tmp_path, 10)  # a fresh clone: every file "just changed"
    fay = flows_of(tmp_path)["fay"]
    assert fay.cycle_time_s == 8 * 3600  # median of 4 h, 8 h and 24 h
    assert fay.done_per_day[-3:] == (1, 1, 0)  # two days ago, yesterday, today
    assert sum(fay.done_per_day) == 2  # the one from a month ago is outside the window
    assert fay.lanes == {"assigned": 0, "done": 3}


def test_an_agent_with_nothing_waiting_is_idle_however_long_ago_it_finished(tmp_path):
    write_task(tmp_path, "done/gus/g.yaml", id="g", completed_at=iso(40))
    touch_all(tmp_path, 30 * 86400)
    assert flows_of(tmp_path, silent_after_s=60)["gus"].state == IDLE


def test_silent_agents_come_first_then_busy_then_idle():
    from kanban.agents import AgentFlow, by_attention, silent_names

    def flow(name, state):
        return AgentFlow(name, state, {}, (), None, None, None)

    flows = [flow("a", IDLE), flow("b", BUSY), flow("c", SILENT), flow("d", SILENT)]
    assert [f.name for f in by_attention(flows)] == ["c", "d", "b", "a"]
    assert silent_names(flows) == {"c", "d"}


def test_durations_read_as_people_say_them():
    from kanban.agents import human_duration

    assert [human_duration(s) for s in (None, 5, 600, 3600, 12_000, 86_400, 5 * 86_400)] == [
        "–",
        "5 s",
        "10 min",
        "1 h",
        "3 h 20 min",
        "1 day",
        "5 days",
    ]


def test_the_throughput_chart_has_one_bar_a_day_scaled_to_the_busiest():
    from kanban.agents import throughput_bars

    chart = throughput_bars((0,) * 12 + (2, 4), NOW, width=140, height=40)
    assert len(chart["bars"]) == 14
    assert chart["bars"][-1]["h"] == 38 and chart["bars"][-2]["h"] == 19
    assert chart["bars"][0]["h"] == 0
    assert chart["bars"][-1]["date"] == iso()[:10]
