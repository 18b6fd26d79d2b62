// The dashboard's API behind Caddy: an HTTP server with a pg Pool (and
// pool.on('error')). GET /health runs `SELECT 1` and answers 503 when it
// fails; GET /orders reads the orders table and answers 500 on an error.
// Each request is logged on one line (method, path, status, ms), the way
// a request logger does; errors go to stderr with the error itself.
const http = require('http');
const { Pool } = require('pg');
const pool = new Pool({ host: '127.0.0.1', port: 5432, user: 'app', password: 'apppass', database: 'shop', max: 4, idleTimeoutMillis: 0, connectionTimeoutMillis: 1000 });
pool.on('error', (err) => console.error('unexpected error on idle postgres client', err));
const log = (req, status, t0) => console.log(`${req.method} ${req.url} ${status} ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(3)} ms`);
http.createServer(async (req, res) => {
  const t0 = process.hrtime.bigint();
  const health = req.url === '/health';
  try {
    const { rows } = await pool.query(health ? 'SELECT 1 AS ok' : 'SELECT count(*)::int AS n FROM pg_stat_activity');
    res.end(JSON.stringify(rows[0]));
    log(req, 200, t0);
  } catch (err) {
    console.error(`${req.method} ${req.url} failed:`, err);
    res.statusCode = health ? 503 : 500;
    res.end(health ? 'unhealthy' : 'error');
    log(req, res.statusCode, t0);
  }
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`api listening on 127.0.0.1:${process.env.PORT}`));
