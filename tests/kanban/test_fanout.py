"""The process-local hub: one pass over the registered viewers per message."""

import asyncio
import threading

from kanban.fanout import Hub


class Recorder:
    def __init__(self) -> None:
        self.got: list[dict] = []

    def deliver(self, message: dict) -> None:
        self.got.append(message)


class Broken:
    def deliver(self, message: dict) -> None:
        raise RuntimeError("this viewer's socket is in a bad way")


def test_a_registered_viewer_gets_each_message_once():
    hub, viewer = Hub(), Recorder()
    hub.register(viewer)
    hub.register(viewer)  # twice: still one viewer
    hub.publish({"type": "board.update", "seq": 1})
    assert viewer.got == [{"type": "board.update", "seq": 1}]


def test_an_unregistered_viewer_gets_nothing():
    hub, gone, staying = Hub(), Recorder(), Recorder()
    hub.register(gone)
    hub.register(staying)
    hub.unregister(gone)
    hub.unregister(Recorder())  # never registered: no error
    hub.publish({"type": "board.resync"})
    assert gone.got == [] and len(staying.got) == 1 and len(hub) == 1


def test_one_failing_viewer_does_not_stop_the_others(caplog):
    hub, before, after = Hub(), Recorder(), Recorder()
    hub.register(before)
    hub.register(Broken())
    hub.register(after)
    hub.publish({"type": "board.update", "seq": 7})
    assert len(before.got) == len(after.got) == 1
    assert "could not take a board.update message" in caplog.text


def test_a_viewer_leaving_during_a_pass_does_not_break_it():
    hub, other = Hub(), Recorder()

    class Leaving:
        def deliver(self, message: dict) -> None:
            hub.unregister(self)
            hub.unregister(other)

    hub.register(Leaving())
    hub.register(other)
    hub.publish({"type": "board.resync"})
    hub.publish({"type": "board.resync"})
    assert len(other.got) == 1  # the pass that began with it still reached it
    assert len(hub) == 0


async def test_messages_from_threads_arrive_on_the_loop_in_the_order_published():
    hub, viewer = Hub(), Recorder()
    hub.register(viewer)
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    threads_seen: set[int] = set()

    def deliver(message: dict) -> None:
        threads_seen.add(threading.get_ident())
        viewer.got.append(message)

    viewer.deliver = deliver  # type: ignore[method-assign]

    def publisher() -> None:
        for seq in range(1, 201):
            hub.publish_threadsafe(loop, {"type": "board.update", "seq": seq})

    thread = threading.Thread(target=publisher)
    thread.start()
    await asyncio.to_thread(thread.join)
    await asyncio.sleep(0.05)
    assert [m["seq"] for m in viewer.got] == list(range(1, 201))
    assert threads_seen == {loop_thread}


def test_publishing_to_a_closed_loop_is_quietly_nothing():
    loop = asyncio.new_event_loop()
    loop.close()
    Hub().publish_threadsafe(loop, {"type": "board.resync"})  # the server stopping: no error
