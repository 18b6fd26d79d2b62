// A promise rejection nobody handles, after DELAY ms (a failed lookup whose
// caller forgot the catch). What happens next depends on pm2's mode and on
// @pm2/io: this app only rejects.
const delay = Number(process.env.DELAY || 1000);
const id = process.env.NODE_APP_INSTANCE ?? '-';
console.log(`orders service up (instance ${id}, pid ${process.pid})`);
async function loadCustomer(customerId) {
  await new Promise((r) => setTimeout(r, 10));
  const err = new Error(`customer ${customerId} not found in cache`);
  err.code = 'ECACHEMISS';
  throw err;
}
setTimeout(() => {
  loadCustomer(4711);
}, delay);
setInterval(() => console.log(`instance ${id}: heartbeat`), 1000);
