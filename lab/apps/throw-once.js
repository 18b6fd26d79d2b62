// Throws an uncaught exception DELAY ms after its first start; once
// restarted (a marker file says so) it stays up.
const fs = require('fs');
const marker = `${__dirname}/.threw-${process.env.NODE_APP_INSTANCE ?? 'fork'}`;
const delay = Number(process.env.DELAY || 1500);
console.log(`billing started (pid ${process.pid})`);
setInterval(() => console.log('billing: invoice batch done'), 700);
if (!fs.existsSync(marker)) {
  setTimeout(() => {
    fs.writeFileSync(marker, '');
    const invoice = undefined;
    console.log(invoice.total.toFixed(2));
  }, delay);
}
