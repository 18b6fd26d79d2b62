// A cache writer on node-redis with the README's error listener: errors
// while Redis is away, then the client reconnects.
const { createClient } = require('redis');
const client = createClient({ url: 'redis://127.0.0.1:6379' });
client.on('error', (err) => console.error('Redis Client Error', err));
client.on('ready', () => console.log('redis ready'));
client.on('reconnecting', () => console.log('redis reconnecting'));
let n = 0;
client.connect().then(() => {
  console.log(`rate limiter started (pid ${process.pid})`);
  setInterval(async () => {
    const id = ++n;
    try {
      await client.incr(`hits:${id % 5}`);
    } catch (err) {
      console.error(`hit ${id} not counted:`, err);
    }
  }, 500);
});
