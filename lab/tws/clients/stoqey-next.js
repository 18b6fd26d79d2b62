// @stoqey/ib IBApiNext bridge: auto-reconnect every 10 s and a 30 s
// connection watchdog (reqCurrentTime heartbeats), errors from errorSubject
// printed with the README's idiom, and `ib.logLevel = LogLevel.INFO`.
//
// In @stoqey/ib 1.6.7-1.6.10 that setter only raises the level of the
// IBApiNextLogger proxy: the default ConsoleLogger behind it keeps its own
// level at SYSTEM and prints nothing, so a bridge written this way logs none
// of TWS's notices. With IBAPINEXT_CONSOLE=1 the bridge also raises the
// ConsoleLogger's level (reaching through the proxy, as a user who wants the
// documented `[time] [INFO] [TWS]:  ...` lines must), to record that format.
const { IBApiNext, LogLevel } = require("@stoqey/ib");

const host = process.env.IB_HOST || "127.0.0.1";
const port = Number(process.env.IB_PORT || 4002);
const clientId = Number(process.env.IB_CLIENT_ID || 17);

const ib = new IBApiNext({ host, port, reconnectInterval: 10_000, connectionWatchdogInterval: 30 });
ib.logLevel = LogLevel.INFO;
if (process.env.IBAPINEXT_CONSOLE === "1") ib.logger.logger.logLevel = LogLevel.INFO;

ib.errorSubject.subscribe((err) => {
  console.error(`${err.error.message} - code: ${err.code} - reqId: ${err.reqId}`);
});

console.log(`bridge starting (pid ${process.pid}), IB_HOST=${host} IB_PORT=${port} IB_CLIENT_ID=${clientId}`);
ib.connect(clientId);
