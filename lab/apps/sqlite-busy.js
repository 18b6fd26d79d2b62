// Each cluster instance appends audit rows in transactions it holds for
// 400 ms, with a 100 ms busy timeout: the instances lock each other out.
const Database = require('better-sqlite3');
const db = new Database(process.env.DB, { timeout: 100 });
db.pragma('journal_mode = DELETE');
db.exec('CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, instance TEXT, at TEXT)');
const id = process.env.NODE_APP_INSTANCE ?? '-';
const insert = db.prepare('INSERT INTO audit (instance, at) VALUES (?, ?)');
const hold = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
console.log(`audit writer ${id} started (pid ${process.pid})`);
let written = 0;
const tick = () => {
  try {
    db.transaction(() => {
      insert.run(id, new Date().toISOString());
      hold(400);
    }).immediate();
    if (++written % 5 === 0) console.log(`instance ${id}: ${written} audit rows`);
  } catch (err) {
    console.error(`instance ${id}: audit write failed:`, err);
  }
  setTimeout(tick, 50);
};
setTimeout(tick, 200);
