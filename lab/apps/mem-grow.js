// Grows its resident memory by about 8 MB a second (no V8 limit reached):
// pm2's max_memory_restart is what stops it.
console.log(`report builder started (pid ${process.pid})`);
const kept = [];
setInterval(() => {
  kept.push(Buffer.alloc(8 * 1024 * 1024, 1));
  console.log(`rss ${Math.round(process.memoryUsage().rss / 1048576)} MB`);
}, 1000);
