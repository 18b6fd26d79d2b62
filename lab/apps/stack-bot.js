// The Telegram bot's container: it keeps a pg Pool for its subscriptions
// and a Redis connection for rate limits; every 700 ms it serves a fake
// update. Errors are logged with console.error(err) (util.inspect).
const { Pool } = require('pg');
const Redis = require('ioredis');
const pool = new Pool({ host: '127.0.0.1', port: 5432, user: 'app', password: 'apppass', database: 'shop', max: 2, idleTimeoutMillis: 0 });
pool.on('error', (err) => console.error('bot: idle postgres client lost', err));
const redis = new Redis({ host: '127.0.0.1', port: 6379 });
console.log('bot: polling for updates');
setInterval(async () => {
  try {
    await redis.incr('bot:updates');
    await pool.query('SELECT 1');
  } catch (err) {
    console.error(err);
  }
}, 700);
