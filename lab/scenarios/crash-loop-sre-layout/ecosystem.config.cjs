// The SRE's own layout: pm2's default (no timestamps), logs beside the app
// under the names the ecosystem file gives them.
module.exports = {
  apps: [
    {
      name: 'api',
      script: 'app/crash-start.js',
      error_file: 'logs/pm2-error.log',
      out_file: 'logs/pm2-out.log',
      max_restarts: 3,
    },
  ],
};
