// Legacy node-ib (`ib` on npm) bridge, printing with its README's idiom
// `console.error('error --- %s', err.message)`. node-ib has no reconnect
// logic: the bridge reconnects 10 s after `disconnected` or a failed connect.
const IB = require("ib");

const host = process.env.IB_HOST || "127.0.0.1";
const port = Number(process.env.IB_PORT || 4002);
const clientId = Number(process.env.IB_CLIENT_ID || 17);

let ib = null;
let retry = null;
function scheduleReconnect() {
  if (retry) return;
  console.log("reconnecting in 10 s");
  retry = setTimeout(() => { retry = null; connect(); }, 10_000);
}

function connect() {
  ib = new IB({ clientId, host, port });
  ib.on("error", (err) => {
    console.error("error --- %s", err.message);
    if (err.code === "ECONNREFUSED" || err.code === "ECONNRESET") scheduleReconnect();
  });
  ib.on("connected", () => console.log(`connected to TWS at ${host}:${port} as client ${clientId}`));
  ib.on("disconnected", () => {
    console.log("disconnected from TWS");
    scheduleReconnect();
  });
  ib.on("nextValidId", (orderId) => {
    console.log(`next valid order id ${orderId}`);
  });
  ib.connect();
}

console.log(`bridge starting (pid ${process.pid}), IB_HOST=${host} IB_PORT=${port} IB_CLIENT_ID=${clientId}`);
connect();
