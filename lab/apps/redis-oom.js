// Writes 8 kB values without TTLs into a Redis with maxmemory and the
// noeviction policy: writes start failing with OOM.
const Redis = require('ioredis');
const redis = new Redis({ host: '127.0.0.1', port: 6379 });
const value = 'x'.repeat(8 * 1024);
let n = 0;
let failures = 0;
console.log(`thumbnail cache started (pid ${process.pid})`);
const tick = async () => {
  n += 1;
  try {
    await redis.set(`thumb:${n}`, value);
    if (n % 50 === 0) console.log(`cached ${n} thumbnails`);
  } catch (err) {
    console.error(`thumbnail ${n} not cached:`, err);
    if (++failures >= 5) return;
  }
  setTimeout(tick, 10);
};
tick();
