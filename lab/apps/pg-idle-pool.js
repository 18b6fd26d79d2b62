// A pg Pool that keeps an idle client (idleTimeoutMillis 0). With
// LISTENER=1 the app has pool.on('error'); without it the pool's 'error'
// event, emitted when the server ends the idle connection, kills the app.
const { Pool } = require('pg');
const pool = new Pool({ host: '127.0.0.1', port: 5432, user: 'app', password: 'apppass', database: 'shop', max: 2, idleTimeoutMillis: 0 });
if (process.env.LISTENER === '1') {
  pool.on('error', (err) => console.error('unexpected error on idle postgres client', err));
}
console.log(`inventory api started (pid ${process.pid})`);
const tick = async () => {
  try {
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM pg_stat_activity');
    console.log(`inventory check ok (${rows[0].n} backends)`);
  } catch (err) {
    console.error('inventory check failed:', err);
  }
};
tick();
setInterval(tick, 2000);
