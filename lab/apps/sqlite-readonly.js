// node-sqlite3 on a database file the app's user cannot write (restored
// from a backup as root): reads work, every write fails.
const sqlite3 = require('sqlite3');
const db = new sqlite3.Database(process.env.DB);
console.log(`settings service started (pid ${process.pid})`);
let n = 0;
const tick = () => {
  n += 1;
  db.get('SELECT count(*) AS n FROM settings', (err, row) => {
    if (err) return console.error('settings read failed:', err);
    console.log(`settings rows: ${row.n}`);
    db.run('INSERT INTO settings (k, v) VALUES (?, ?)', [`k${n}`, 'v'], (err2) => {
      if (err2) console.error(`settings write ${n} failed:`, err2);
    });
  });
  if (n < 3) setTimeout(tick, 700);
};
tick();
