// A report endpoint fans out 8 queries at once through a pg Pool (max 10)
// against a server with max_connections 6: the connections past the limit
// are refused.
const { Pool } = require('pg');
const pool = new Pool({ host: '127.0.0.1', port: 5432, user: 'app', password: 'apppass', database: 'shop', max: 10 });
pool.on('error', (err) => console.error('pg pool error', err));
console.log(`reports api started (pid ${process.pid})`);
const run = async () => {
  const queries = Array.from({ length: 8 }, (_, i) =>
    pool.query('SELECT pg_sleep(1.5), $1::int AS part', [i]).then(
      () => console.log(`report part ${i} done`),
      (err) => console.error(`report part ${i} failed:`, err),
    ),
  );
  await Promise.all(queries);
};
setTimeout(run, 500);
