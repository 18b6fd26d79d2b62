// Leaks until V8's heap limit (--max-old-space-size) kills the process.
console.log(`cache warmer started (pid ${process.pid})`);
const leak = [];
let n = 0;
const grow = () => {
  for (let i = 0; i < 1000; i++) leak.push({ key: `item-${n++}`, value: 'x'.repeat(64) });
  if (n % 100000 === 0) console.log(`cached ${n} items`);
  setTimeout(grow, 20);
};
setTimeout(grow, 300);
