#!/usr/bin/env python3
"""A scripted fake TWS / IB Gateway API server on 127.0.0.1, for the recorded lab.

It speaks just enough of the TWS API socket protocol for the real client
libraries (@stoqey/ib, node-ib, ib_async, ib_insync, IB's own Python ibapi)
to connect and then print TWS's notices in their own formats:

- the v100+ handshake: `API\\0` + a length-prefixed `v<min>..<max>[ options]`,
  answered with one framed message `<server version>\\0<connection time>\\0`,
  where the server version is min(--server-version, the client's max), as a
  real TWS does; and the legacy (pre-v100) handshake node-ib still uses
  (`<client version>\\0<client id>\\0`, unframed replies);
- `startApi` -> managedAccounts, nextValidId and the farm status notices a
  TWS sends at start-up (2104/2106/2158 for every farm in its current state);
- the requests a client makes while it synchronises (positions, open and
  completed orders, account updates, executions, ids, current time = the
  heartbeat IBApiNext's watchdog sends) answered with their end messages;
- error messages (message id 4) with the field layout the negotiated server
  version implies: `4, 2, id, code, text` below 166, `+ advancedOrderReject`
  from 166, and from 194 (ERROR_TIME) no version field and an errorTime
  (epoch ms) at the end. Protobuf (server version 201+) is not spoken: pass a
  --server-version of 200 or less.

Everything else comes from a scenario script (see lab/tws/README.md), one
step per line, timed from the first API session (the first client to get
through startApi), or from the server's start when it starts refusing:

    at 5s   send 1100 "Connectivity between IBKR and Trader Workstation has been lost."
    at 9s   send 162 "Historical Market Data Service error message:..." reqId 31
    at 50s  close                # drop every API socket (a TWS restart)
    at 50s  refuse 60s           # stop listening: connects are refused
    at 300s end                  # the recording stops (the recorder stops pm2, then this server)
    reject 2 326 "Unable to connect as the client id is already in use. ..."
                                 # the next 2 sessions get 326 at startApi and are closed
    startup refuse               # start without a listener (the Gateway is down)

`send` goes to every open API session. A farm notice also updates the farm's
state, which is what a session that connects later is told at start-up.
Every event is logged to stderr with its time, for the scenario's README.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shlex
import struct
import sys
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"  # --host: any loopback address (127.0.0.0/8)

# Server versions at which the error message's layout changes
# (IB ibapi server_versions.py: MIN_SERVER_VER_ADVANCED_ORDER_REJECT,
# MIN_SERVER_VER_ERROR_TIME; MIN_SERVER_VER_PROTOBUF is 201).
ADVANCED_ORDER_REJECT = 166
ERROR_TIME = 194
PROTOBUF = 201
# The server version this server claims to a legacy (pre-v100) client.
LEGACY_SERVER_VERSION = 76

# Incoming message ids (IB ibapi message.py OUT) and outgoing ones (IN).
OUT_REQ_OPEN_ORDERS = 5
OUT_REQ_ACCT_DATA = 6
OUT_REQ_EXECUTIONS = 7
OUT_REQ_IDS = 8
OUT_REQ_AUTO_OPEN_ORDERS = 15
OUT_REQ_ALL_OPEN_ORDERS = 16
OUT_REQ_CURRENT_TIME = 49
OUT_REQ_POSITIONS = 61
OUT_START_API = 71
OUT_REQ_ACCOUNT_UPDATES_MULTI = 76
OUT_REQ_COMPLETED_ORDERS = 99

IN_ERR_MSG = 4
IN_NEXT_VALID_ID = 9
IN_MANAGED_ACCTS = 15
IN_CURRENT_TIME = 49
IN_OPEN_ORDER_END = 53
IN_ACCT_DOWNLOAD_END = 54
IN_EXECUTION_DATA_END = 55
IN_POSITION_END = 62
IN_ACCOUNT_UPDATE_MULTI_END = 74
IN_COMPLETED_ORDERS_END = 102

ACCOUNT = "DU1234567"

# Farm notices: what TWS prints for each farm kind and state.
FARM_RE = re.compile(
    r"(?P<kind>Market|HMDS|Sec-def) data farm connection is "
    r"(?P<state>broken|OK|inactive but should be available upon demand)[:.](?P<farm>[\w.]+)"
)
FARM_CODES = {
    ("Market", "OK"): 2104,
    ("Market", "broken"): 2103,
    ("Market", "inactive"): 2108,
    ("HMDS", "OK"): 2106,
    ("HMDS", "broken"): 2105,
    ("HMDS", "inactive"): 2107,
    ("Sec-def", "OK"): 2158,
    ("Sec-def", "broken"): 2157,
}


def log(msg: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
    print(f"{stamp} fake-tws: {msg}", file=sys.stderr, flush=True)


def farm_text(kind: str, state: str, farm: str) -> str:
    if state == "inactive":
        return f"{kind} data farm connection is inactive but should be available upon demand.{farm}"
    return f"{kind} data farm connection is {state}:{farm}"


@dataclass
class Step:
    at: float
    verb: str
    args: list[str]


@dataclass
class Script:
    steps: list[Step] = field(default_factory=list)
    rejects: list[tuple[int, int, str]] = field(default_factory=list)
    startup_refuse: bool = False
    farms: list[tuple[str, str, str]] = field(default_factory=list)


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", text)
    if not m:
        raise ValueError(f"bad duration {text!r}")
    value = float(m.group(1))
    return {"ms": value / 1000, "s": value, "m": value * 60, None: value}[m.group(2)]


def parse_script(path: str) -> Script:
    script = Script()
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
            if not line:
                continue
            words = shlex.split(line)
            try:
                if words[0] == "at":
                    script.steps.append(Step(parse_duration(words[1]), words[2], words[3:]))
                elif words[0] == "reject":
                    script.rejects.append([int(words[1]), int(words[2]), words[3]])
                elif words[0] == "startup" and words[1:] == ["refuse"]:
                    script.startup_refuse = True
                elif words[0] == "farm":
                    script.farms.append((words[1], words[2], words[3]))
                else:
                    raise ValueError(f"unknown step {words[0]!r}")
            except (IndexError, ValueError) as e:
                raise SystemExit(f"{path}:{lineno}: {e}")
    script.steps.sort(key=lambda s: s.at)
    return script


class Session:
    """One API client connection."""

    def __init__(self, server: "FakeTws", reader, writer):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.version = 0
        self.legacy = False
        self.client_id = None
        self.ready = False

    # -- framing -------------------------------------------------------

    def send_fields(self, fields: list) -> None:
        payload = b"".join(str(f).encode() + b"\0" for f in fields)
        if not self.legacy:
            payload = struct.pack("!I", len(payload)) + payload
        try:
            self.writer.write(payload)
        except (ConnectionError, RuntimeError):
            pass

    def send_error(self, req_id: int, code: int, text: str) -> None:
        if self.version >= ERROR_TIME:
            fields = [IN_ERR_MSG, req_id, code, text, "", int(time.time() * 1000)]
        elif self.version >= ADVANCED_ORDER_REJECT:
            fields = [IN_ERR_MSG, 2, req_id, code, text, ""]
        else:
            fields = [IN_ERR_MSG, 2, req_id, code, text]
        self.send_fields(fields)

    # -- protocol ------------------------------------------------------

    async def run(self) -> None:
        peer = self.writer.get_extra_info("peername")
        try:
            # "API\0" (v100+) or a legacy client's bare "<version>\0"
            first = b""
            while not (first == b"API\0" or (not b"API\0".startswith(first[:4]) and b"\0" in first)):
                want = 4 - len(first) if b"API\0".startswith(first) else 64
                chunk = await self.reader.read(want)
                if not chunk:
                    return
                first += chunk
            if first == b"API\0":
                await self.handshake_v100()
                while True:
                    size = struct.unpack("!I", await self.reader.readexactly(4))[0]
                    body = await self.reader.readexactly(size)
                    await self.on_message(body.split(b"\0")[:-1])
            else:
                await self.handshake_legacy(first)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as e:  # a request this server does not understand
            log(f"session {peer} client {self.client_id}: {e!r}")
        finally:
            self.server.sessions.discard(self)
            self.writer.close()
            log(f"session {peer} client {self.client_id} closed")

    async def handshake_v100(self) -> None:
        size = struct.unpack("!I", await self.reader.readexactly(4))[0]
        hello = (await self.reader.readexactly(size)).decode()
        m = re.match(r"v(\d+)\.\.(\d+)", hello)
        if not m:
            raise ConnectionError(f"bad hello {hello!r}")
        self.version = min(self.server.max_version, int(m.group(2)))
        log(f"handshake {hello!r} -> server version {self.version}")
        self.send_fields([self.version, self.server.connection_time()])

    async def handshake_legacy(self, first: bytes) -> None:
        # node-ib sends its client version, waits for the server version,
        # and only then sends its client id.
        self.legacy = True
        buf = first
        while buf.count(b"\0") < 1:
            buf += await self.reader.read(4096)
        client_version, buf = buf.split(b"\0", 1)
        self.version = LEGACY_SERVER_VERSION
        log(f"legacy handshake client version {client_version.decode()} -> server version {self.version}")
        self.send_fields([self.version, self.server.connection_time()])
        while buf.count(b"\0") < 1:
            data = await self.reader.read(4096)
            if not data:
                raise ConnectionError("eof")
            buf += data
        tokens = buf.split(b"\0")
        await self.on_start_api(int(tokens[0]))
        rest = b"\0".join(tokens[1:])
        while True:
            # Unframed tokens: only the requests a legacy client makes here
            # (reqCurrentTime "49\0 1\0", reqIds "8\0 1\0 n\0") are understood.
            toks = rest.split(b"\0")
            rest = toks.pop()
            while toks:
                msg_id = toks.pop(0)
                if msg_id == b"49":
                    toks[:1] = []
                    self.send_fields([IN_CURRENT_TIME, 1, int(time.time())])
                elif msg_id == b"8":
                    toks[:2] = []
                    self.send_fields([IN_NEXT_VALID_ID, 1, self.server.next_order_id()])
            data = await self.reader.read(4096)
            if not data:
                raise ConnectionError("eof")
            rest += data

    async def on_start_api(self, client_id: int) -> None:
        self.client_id = client_id
        reject = self.server.take_reject()
        if reject is not None:
            code, text = reject
            log(f"client {client_id}: reject {code}")
            self.send_error(-1, code, text)
            await self.writer.drain()
            self.writer.close()
            raise ConnectionError("rejected")
        self.ready = True
        self.server.sessions.add(self)
        self.server.first_session.set()
        log(f"client {client_id}: API ready")
        self.send_fields([IN_MANAGED_ACCTS, 1, ACCOUNT])
        self.send_fields([IN_NEXT_VALID_ID, 1, self.server.next_order_id()])
        for kind, state, farm in self.server.farms.values():
            self.send_error(-1, FARM_CODES[(kind, state)], farm_text(kind, state, farm))

    async def on_message(self, fields: list[bytes]) -> None:
        if not fields:
            return
        msg_id = int(fields[0])
        if msg_id == OUT_START_API:
            await self.on_start_api(int(fields[2]))
        elif msg_id == OUT_REQ_CURRENT_TIME:
            self.send_fields([IN_CURRENT_TIME, 1, int(time.time())])
        elif msg_id == OUT_REQ_IDS:
            self.send_fields([IN_NEXT_VALID_ID, 1, self.server.next_order_id()])
        elif msg_id == OUT_REQ_POSITIONS:
            self.send_fields([IN_POSITION_END, 1])
        elif msg_id in (OUT_REQ_OPEN_ORDERS, OUT_REQ_ALL_OPEN_ORDERS):
            self.send_fields([IN_OPEN_ORDER_END, 1])
        elif msg_id == OUT_REQ_COMPLETED_ORDERS:
            self.send_fields([IN_COMPLETED_ORDERS_END])
        elif msg_id == OUT_REQ_ACCT_DATA:
            if fields[2] == b"1":
                self.send_fields([IN_ACCT_DOWNLOAD_END, 1, ACCOUNT])
        elif msg_id == OUT_REQ_ACCOUNT_UPDATES_MULTI:
            self.send_fields([IN_ACCOUNT_UPDATE_MULTI_END, 1, int(fields[2])])
        elif msg_id == OUT_REQ_EXECUTIONS:
            self.send_fields([IN_EXECUTION_DATA_END, 1, int(fields[2])])
        # Anything else (market data type, server log level, ...) needs no answer.
        await self.writer.drain()


class FakeTws:
    def __init__(self, host: str, port: int, max_version: int, script: Script):
        self.host = host
        self.port = port
        self.max_version = max_version
        self.script = script
        self.sessions: set[Session] = set()
        self.listener: asyncio.AbstractServer | None = None
        self.order_id = 1
        self.rejects = [list(r) for r in script.rejects]
        self.farms: dict[str, tuple[str, str, str]] = {}
        self.first_session = asyncio.Event()
        for kind, state, farm in script.farms:
            self.farms[farm] = (kind, state, farm)

    def connection_time(self) -> str:
        return time.strftime("%Y%m%d %H:%M:%S %Z", time.localtime())

    def next_order_id(self) -> int:
        self.order_id += 1
        return self.order_id

    def take_reject(self):
        for r in self.rejects:
            if r[0] > 0:
                r[0] -= 1
                return r[1], r[2]
        return None

    async def listen(self) -> None:
        self.listener = await asyncio.start_server(
            lambda r, w: Session(self, r, w).run(), self.host, self.port, reuse_address=True
        )
        log(f"listening on {self.host}:{self.port} (server version up to {self.max_version})")

    async def stop_listening(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            log(f"not listening on {self.port}: connects are refused")

    def close_sessions(self) -> None:
        for s in list(self.sessions):
            s.writer.close()
        log(f"closed {len(self.sessions)} API session(s)")
        self.sessions.clear()

    def broadcast(self, code: int, text: str, req_id: int) -> None:
        m = FARM_RE.search(text)
        if m:
            state = m.group("state").split()[0]
            self.farms[m.group("farm")] = (m.group("kind"), state, m.group("farm"))
        log(f"send {code} reqId {req_id} to {len(self.sessions)} session(s): {text}")
        for s in list(self.sessions):
            s.send_error(req_id, code, text)

    async def run(self) -> None:
        if self.script.startup_refuse:
            log(f"starting without a listener on {self.port}; the clock starts now")
        else:
            await self.listen()
            await self.first_session.wait()
            log("first API session: the clock starts now")
        start = time.monotonic()
        for step in self.script.steps:
            delay = start + step.at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if step.verb == "send":
                req_id = -1
                if len(step.args) >= 4 and step.args[2] == "reqId":
                    req_id = int(step.args[3])
                self.broadcast(int(step.args[0]), step.args[1], req_id)
            elif step.verb == "close":
                self.close_sessions()
            elif step.verb == "refuse":
                await self.stop_listening()
                if step.args:
                    await asyncio.sleep(parse_duration(step.args[0]))
                    await self.listen()
            elif step.verb == "listen":
                await self.listen()
            elif step.verb == "end":
                # Sessions stay open: the recorder stops the clients first,
                # so the end of a recording shows no disconnect.
                log("end of script")
                break
            else:
                raise SystemExit(f"unknown verb {step.verb!r}")
        await asyncio.Event().wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default=HOST)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server-version", type=int, default=200)
    ap.add_argument("script")
    args = ap.parse_args()
    if args.server_version >= PROTOBUF:
        raise SystemExit("server versions from 201 on need protobuf, which this server does not speak")
    if not args.host.startswith("127."):
        raise SystemExit("the fake TWS listens on loopback addresses only")
    server = FakeTws(args.host, args.port, args.server_version, parse_script(args.script))
    try:
        asyncio.run(server.run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
