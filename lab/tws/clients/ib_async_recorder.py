"""ib_async / ib_insync recorder: connects, stays connected, reconnects.

Logging is set up the two ways users do it: `util.logToConsole()` (the
library's helper: `%(asctime)s %(name)s %(levelname)s %(message)s` on
stderr) or plain `logging.basicConfig(level=logging.INFO)` (no time at all:
`INFO:ib_async.client:...`). Usage:

    ib_async_recorder.py {ib_async|ib_insync} {console|basic}

Reconnects 10 s after a disconnect or a failed connect, as a recorder under
pm2 would; the library prints every TWS notice itself (wrapper.error).
"""

import asyncio
import importlib
import logging
import os
import sys

lib_name, log_style = sys.argv[1], sys.argv[2]
lib = importlib.import_module(lib_name)

if log_style == "console":
    lib.util.logToConsole(logging.INFO)
else:
    logging.basicConfig(level=logging.INFO)
log = logging.getLogger("recorder")

HOST = os.environ.get("IB_HOST", "127.0.0.1")
PORT = int(os.environ.get("IB_PORT", "7497"))
CLIENT_ID = int(os.environ.get("IB_CLIENT_ID", "7"))


async def main() -> None:
    ib = lib.IB()
    log.info("recorder starting (pid %d), %s:%d clientId %d", os.getpid(), HOST, PORT, CLIENT_ID)
    while True:
        if not ib.isConnected():
            try:
                await ib.connectAsync(HOST, PORT, clientId=CLIENT_ID, timeout=4)
            except Exception as e:  # the library has logged why
                log.warning("connect failed (%r), retrying in 10 s", e)
        await asyncio.sleep(10)


if lib_name == "ib_insync":
    lib.util.run(main())
else:
    asyncio.run(main())
