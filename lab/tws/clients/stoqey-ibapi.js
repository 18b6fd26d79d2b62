// @stoqey/ib IBApi bridge, printing the way the README shows: the error
// handler idiom `${err.message} - code: ${code} - reqId: ${reqId}`, plus an
// info handler (TWS's reqId -1 notices arrive as `info`, not `error`).
// Reconnects 10 s after a disconnect, as a bridge under pm2 would.
const { IBApi, EventName } = require("@stoqey/ib");

const host = process.env.IB_HOST || "127.0.0.1";
const port = Number(process.env.IB_PORT || 4002);
const clientId = Number(process.env.IB_CLIENT_ID || 17);

const ib = new IBApi({ host, port });

ib.on(EventName.error, (err, code, reqId) => {
  console.error(`${err.message} - code: ${code} - reqId: ${reqId}`);
});
ib.on(EventName.info, (message, code) => {
  console.log(`${message} - code: ${code}`);
});
ib.on(EventName.connected, () => {
  console.log(`connected to TWS at ${host}:${port} as client ${clientId}`);
});
ib.on(EventName.disconnected, () => {
  console.log("disconnected from TWS, reconnecting in 10 s");
  setTimeout(() => ib.connect(clientId), 10_000);
});

console.log(`bridge starting (pid ${process.pid}), IB_HOST=${host} IB_PORT=${port} IB_CLIENT_ID=${clientId}`);
ib.connect(clientId);
