// Connects with a password that is no longer valid (rotated on the server,
// not in the app's environment); retries every 2 s.
const { Client } = require('pg');
console.log(`billing sync started (pid ${process.pid})`);
let attempt = 0;
const connect = async () => {
  attempt += 1;
  const client = new Client({ host: '127.0.0.1', port: 5432, user: 'app', password: 'old-password', database: 'shop' });
  try {
    await client.connect();
    console.log('connected to postgres');
  } catch (err) {
    console.error(`postgres connect attempt ${attempt} failed:`, err);
    if (attempt < 3) setTimeout(connect, 2000);
  }
};
connect();
