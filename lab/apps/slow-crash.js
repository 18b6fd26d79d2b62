// Up for 1.5 s (longer than pm2's min_uptime), then an uncaught exception:
// pm2 restarts it forever and never marks it errored.
console.log(`worker started (pid ${process.pid})`);
setInterval(() => console.log('polling queue'), 500);
setTimeout(() => {
  const job = JSON.parse('{"id": 7, "payload": ');
  console.log(job);
}, 1500);
