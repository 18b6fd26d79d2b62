// better-sqlite3 reading and writing orders every 700 ms; logs failures.
const Database = require('better-sqlite3');
let db;
try {
  db = new Database(process.env.DB, { timeout: 2000 });
} catch (err) {
  console.error('cannot open orders database:', err);
  process.exit(1);
}
console.log(`orders store started (pid ${process.pid})`);
const value = 'x'.repeat(Number(process.env.ROW_BYTES || 100));
let n = 0;
setInterval(() => {
  n += 1;
  try {
    const { c } = db.prepare('SELECT count(*) AS c FROM orders').get();
    db.prepare('INSERT INTO orders (note) VALUES (?)').run(value);
    if (n % 5 === 0) console.log(`orders: ${c + 1}`);
  } catch (err) {
    console.error(`order ${n} failed:`, err);
  }
}, Number(process.env.EVERY_MS || 700));
