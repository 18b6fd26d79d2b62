// A background worker (run by systemd in production, here through
// systemd-cat into journald): every second it reads pending jobs from
// PostgreSQL and caches a counter in Redis; failures are logged with the
// error and the loop goes on.
const { Client } = require('pg');
const Redis = require('ioredis');
const redis = new Redis({ host: '127.0.0.1', port: 6379 });
let n = 0;
const tick = async () => {
  const client = new Client({ host: '127.0.0.1', port: 5432, user: 'app', password: 'apppass', database: 'shop' });
  client.on('error', (err) => console.error('worker: postgres client error', err.message));
  try {
    await client.connect();
    const { rows } = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity');
    await redis.set('worker:last', String(rows[0].n));
    n += 1;
    if (n % 5 === 1) console.log(`worker: ${n} batches done`);
  } catch (err) {
    console.error('worker: batch failed:', err);
  } finally {
    client.end().catch(() => {});
  }
};
console.log(`worker started (pid ${process.pid})`);
setInterval(tick, 1000);
