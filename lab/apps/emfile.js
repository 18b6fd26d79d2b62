// Opens files without closing them (a leak of file descriptors); under a
// small `ulimit -n` the opens start failing with EMFILE.
const fs = require('fs');
console.log(`uploader started (pid ${process.pid})`);
const held = [];
let failures = 0;
const tick = () => {
  fs.open(__filename, 'r', (err, fd) => {
    if (err) {
      console.error('failed to open upload part:', err);
      if (++failures >= 5) return;
      setTimeout(tick, 300);
      return;
    }
    held.push(fd);
    setTimeout(tick, 5);
  });
};
tick();
