// Ignores SIGINT (a shutdown handler that never finishes): pm2 must wait
// kill_timeout and then SIGKILL it.
console.log(`stream consumer started (pid ${process.pid})`);
process.on('SIGINT', () => {
  console.log('SIGINT received: draining consumers (this never finishes)');
});
setInterval(() => console.log('consumed 10 messages'), 500);
