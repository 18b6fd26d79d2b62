// An HTTP client against an upstream that resets every connection: each
// request fails with ECONNRESET; the client logs it and goes on.
const http = require('http');
const port = Number(process.env.PORT || 18090);
const total = Number(process.env.REQUESTS || 15);
const upstream = http.createServer((req) => req.socket.resetAndDestroy());
upstream.listen(port, '127.0.0.1', () => {
  console.log(`price feed client started (pid ${process.pid})`);
  let sent = 0;
  const next = () => {
    if (sent++ >= total) return console.log('giving up on this batch');
    http
      .get({ host: '127.0.0.1', port, path: `/prices?page=${sent}` }, (res) => res.resume())
      .on('error', (err) => {
        console.error(`GET /prices?page=${sent} failed:`, err);
        setTimeout(next, 100);
      });
  };
  next();
});
