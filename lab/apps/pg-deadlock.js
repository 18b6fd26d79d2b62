// Two transfers that lock the same two accounts in opposite order: a real
// deadlock, which PostgreSQL breaks by aborting one of them.
const { Pool } = require('pg');
const pool = new Pool({ host: '127.0.0.1', port: 5432, user: 'app', password: 'apppass', database: 'shop', max: 4 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function transfer(from, to, amount) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, from]);
    await sleep(300);
    await client.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, to]);
    await client.query('COMMIT');
    console.log(`transfer ${from} -> ${to} committed`);
  } catch (err) {
    await client.query('ROLLBACK');
    console.error(`transfer ${from} -> ${to} failed:`, err);
  } finally {
    client.release();
  }
}
(async () => {
  await pool.query('CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY, balance int NOT NULL)');
  await pool.query('INSERT INTO accounts VALUES (1, 100), (2, 100) ON CONFLICT DO NOTHING');
  console.log(`payments worker started (pid ${process.pid})`);
  await Promise.all([transfer(1, 2, 10), transfer(2, 1, 5)]);
})();
