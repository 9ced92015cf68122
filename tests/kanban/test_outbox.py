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


class DirectSocket(FakeSocket):
    """A socket with a synchronous write beside the async send (what daphne gives)."""

    def __init__(self) -> None:
        super().__init__()
        self.written_now: list[str] = []

    def write_now(self, text: str) -> bool:
        self.held += len(text)
        self.received.append(text)
        self.written_now.append(text)
        return True


def direct_outbox(sock, **options):
    box = Outbox(sock.send, lambda: ["WHOLE"], sock.close, sock.unsent, sock.write_now, **options)
    return box


async def test_with_room_in_the_socket_a_message_is_written_at_once_without_the_drainer():
    sock = DirectSocket()
    box = direct_outbox(sock, low_water=100)  # no drainer task running at all
    box.put(["a", "b"])
    assert sock.received == sock.written_now == ["a", "b"] and box.queued == 0


async def test_a_full_socket_sends_the_message_through_the_queue_and_keeps_the_order():
    sock = DirectSocket()
    box = direct_outbox(sock, low_water=100)
    task = asyncio.ensure_future(box.run())
    sock.held = 1_000  # full: nothing is written now
    box.put(["first"])
    assert sock.written_now == [] and box.queued == len("first")
    sock.held = 0  # room again, but "first" still waits: "second" must not overtake it
    box.put(["second"])
    assert sock.written_now == []
    await asyncio.sleep(0.3)
    assert sock.received == ["first", "second"] and box.queued == 0
    box.put(["third"])  # nothing waits any more: straight out
    assert sock.written_now == ["third"] and sock.received[-1] == "third"
    task.cancel()


async def test_the_socket_filling_mid_list_queues_the_rest_in_order():
    sock = DirectSocket()
    box = direct_outbox(sock, low_water=5)
    task = asyncio.ensure_future(box.run())
    box.put(["123456", "b", "c"])  # after the first, the socket holds more than low water
    assert sock.written_now == ["123456"] and box.queued == 2
    sock.held = 0
    await asyncio.sleep(0.3)
    assert sock.received == ["123456", "b", "c"]
    task.cancel()


async def test_a_pending_resync_is_never_jumped_by_a_direct_write():
    sock = DirectSocket()
    box = direct_outbox(sock, low_water=100)
    box.request_resync()
    box.put(["covered by the resync"])
    assert sock.received == []
    task = asyncio.ensure_future(box.run())
    await asyncio.sleep(0.05)
    assert sock.received == ["WHOLE"]
    task.cancel()


async def test_a_closed_socket_writes_nothing_and_queues_nothing():
    sock = DirectSocket()
    sock.write_now = lambda text: False  # type: ignore[method-assign]
    box = direct_outbox(sock, low_water=100)
    box.put(["lost with the connection"])
    assert sock.received == [] and box.queued == 0


async def test_a_message_the_drainer_is_still_sending_is_not_overtaken_by_a_direct_write():
    sock = DirectSocket()
    release = asyncio.Event()
    slow_sent: list[str] = []

    async def slow_send(text: str) -> None:
        await release.wait()  # a send that takes a while (a non-daphne server)
        slow_sent.append(text)
        sock.received.append(text)

    box = Outbox(slow_send, lambda: ["WHOLE"], sock.close, sock.unsent, sock.write_now)
    task = asyncio.ensure_future(box.run())
    sock.held = 10 << 20
    box.put(["queued"])
    sock.held = 0
    await asyncio.sleep(0.3)  # the drainer has taken "queued" off and waits in its send
    box.put(["later"])
    assert sock.written_now == []
    release.set()
    await asyncio.sleep(0.05)
    assert sock.received == ["queued", "later"]
    task.cancel()
