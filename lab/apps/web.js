// A small HTTP service on PORT (cluster instances share it).
const http = require('http');
const port = Number(process.env.PORT || 18080);
const id = process.env.NODE_APP_INSTANCE ?? '-';
const server = http.createServer((req, res) => {
  console.log(`instance ${id}: ${req.method} ${req.url}`);
  res.end('ok\n');
});
server.listen(port, '127.0.0.1', () => {
  console.log(`instance ${id} listening on 127.0.0.1:${port} (pid ${process.pid})`);
  if (process.send) process.send('ready');
});
process.on('SIGINT', () => {
  console.log(`instance ${id}: SIGINT, closing`);
  server.close(() => process.exit(0));
});
