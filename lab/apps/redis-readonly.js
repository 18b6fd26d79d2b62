// node-redis v4 pointed at a read-only replica (a failover left the
// config on the old address): every write fails with READONLY.
const { createClient } = require('redis4');
const client = createClient({ url: 'redis://127.0.0.1:6380' });
client.on('error', (err) => console.error('Redis Client Error', err));
client.connect().then(async () => {
  console.log(`job queue started (pid ${process.pid})`);
  for (let i = 1; i <= 3; i++) {
    try {
      await client.lPush('jobs', `job-${i}`);
    } catch (err) {
      console.error(`job-${i} not queued:`, err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
});
