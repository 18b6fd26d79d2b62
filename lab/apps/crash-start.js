// Dies during start-up, every time: a required setting is missing.
console.log(`api starting (pid ${process.pid})`);
if (!process.env.DATABASE_URL) {
  throw new Error('DATABASE_URL is not set: refusing to start');
}
