// Two cluster instances writing one merged pair of files; stamps in local
// time with a zone (the scenario runs with TZ=America/New_York).
module.exports = {
  apps: [
    {
      name: 'orders',
      script: 'app/reject.js',
      exec_mode: 'cluster',
      instances: 2,
      merge_logs: true,
      log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
      env: { DELAY: '1500' },
    },
  ],
};
