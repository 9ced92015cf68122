"""A client's outbox: messages wait for room in its socket, bounded whatever the client does."""

import asyncio

from kanban.outbox import TRY_AGAIN_LATER, Outbox


class FakeSocket:
    """Stands in for a Twisted transport: holds what was sent until the client reads."""

    def __init__(self) -> None:
        self.held = 0
        self.received: list[str] = []
        self.closed_with: int | None = None

    async def send(self, text: str) -> None:
        self.held += len(text)
        self.received.append(text)

    async def close(self, code: int) -> None:
        self.closed_with = code

    def unsent(self) -> int:
        return self.held


def outbox_for(sock, **options):
    resyncs = []

    def whole_state():
        resyncs.append(1)
        return ["WHOLE"]

    box = Outbox(sock.send, whole_state, sock.close, sock.unsent, **options)
    return box, resyncs


async def test_a_reading_client_gets_every_message_in_order():
    sock = FakeSocket()
    box, resyncs = outbox_for(sock, low_water=10)
    task = asyncio.ensure_future(box.run())
    for i in range(5):
        box.put([f"m{i}"])
        await asyncio.sleep(0)
        sock.held = 0  # the client reads everything at once
    await asyncio.sleep(0.05)
    assert sock.received == ["m0", "m1", "m2", "m3", "m4"] and not resyncs
    task.cancel()


async def test_a_client_that_stops_reading_costs_one_resync_not_every_change():
    sock = FakeSocket()
    box, resyncs = outbox_for(sock, low_water=100, max_queued=1_000, stall_seconds=5)
    task = asyncio.ensure_future(box.run())
    sock.held = 10_000  # its socket is full: nothing more goes out
    for i in range(1_000):
        box.put([f"change {i:04} " + "x" * 50])
        await asyncio.sleep(0)
    assert box.queued <= 1_000 and box.resync_pending and box.resyncs == 1
    sock.held = 0  # it reads again
    await asyncio.sleep(0.6)
    assert sock.received == ["WHOLE"] and len(resyncs) == 1
    box.put(["after"])
    await asyncio.sleep(0.05)
    assert sock.received[-1] == "after"
    task.cancel()


async def test_a_client_whose_socket_stays_full_is_closed_so_it_reconnects():
    sock = FakeSocket()
    box, _ = outbox_for(sock, low_water=100, stall_seconds=0.3)
    task = asyncio.ensure_future(box.run())
    sock.held = 10_000
    box.put(["waiting"])
    await asyncio.wait_for(task, 2)
    assert sock.closed_with == TRY_AGAIN_LATER == 1013
    assert sock.received == [] and box.closed
