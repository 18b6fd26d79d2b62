// A cache writer on ioredis 5 (installed as ioredis5), without an 'error' listener (as many apps
// are): ioredis prints "[ioredis] Unhandled error event" itself while it
// reconnects, and queued commands fail after maxRetriesPerRequest.
const Redis = require('ioredis5');
const redis = new Redis({ host: '127.0.0.1', port: 6379 });
console.log(`session cache started (pid ${process.pid})`);
let n = 0;
setInterval(async () => {
  const id = ++n;
  try {
    await redis.set(`session:${id}`, 'active', 'EX', 60);
    console.log(`session ${id} stored`);
  } catch (err) {
    console.error(`session ${id} not stored:`, err);
  }
}, 1000);
