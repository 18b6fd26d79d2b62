"""IB's official Python client (ibapi, EClient + EWrapper), default wrapper.

The EWrapper's own `error()` logs every TWS notice as
`ERROR <reqId> <errorTime> <code> <text>` on logger `ibapi.wrapper`;
logging is `logging.basicConfig(level=logging.INFO)` (no time), as IB's
samples leave it. The reader runs in IB's thread; the main thread reconnects
10 s after the connection closes or fails.
"""

import logging
import os
import threading
import time

from ibapi.client import EClient
from ibapi.wrapper import EWrapper

logging.basicConfig(level=logging.INFO)
log = logging.getLogger("recorder")

HOST = os.environ.get("IB_HOST", "127.0.0.1")
PORT = int(os.environ.get("IB_PORT", "7497"))
CLIENT_ID = int(os.environ.get("IB_CLIENT_ID", "7"))


class Recorder(EWrapper, EClient):
    def __init__(self):
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)

    def nextValidId(self, orderId: int):
        log.info("connected, next valid id %d", orderId)

    def connectionClosed(self):
        log.warning("connection to TWS closed")


def main() -> None:
    log.info("recorder starting (pid %d), %s:%d clientId %d", os.getpid(), HOST, PORT, CLIENT_ID)
    app = Recorder()
    while True:
        app.connect(HOST, PORT, CLIENT_ID)
        if app.isConnected():
            reader = threading.Thread(target=app.run, daemon=True)
            reader.start()
            reader.join()
        log.info("reconnecting in 10 s")
        time.sleep(10)


main()
