// A 5-instance cluster app; its time stamps carry milliseconds and a zone.
module.exports = {
  apps: [
    {
      name: 'web',
      script: 'app/web.js',
      exec_mode: 'cluster',
      instances: 5,
      log_date_format: 'YYYY-MM-DD HH:mm:ss.SSS Z',
      env: { PORT: '18080' },
    },
  ],
};
