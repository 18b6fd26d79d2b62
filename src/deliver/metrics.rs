//! `watch --metrics ADDR`: delivery health as Prometheus text metrics on
//! `GET /metrics`, per Alertmanager peer. The HTTP side is tiny_http's (a
//! small synchronous server); this module only renders the counters.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use super::Stats;

/// A running metrics endpoint; [`Metrics::stop`] ends it.
pub struct Metrics {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    addr: String,
}

impl Metrics {
    /// Serves `stats` on `addr` (`HOST:PORT`; port 0 picks a free one).
    pub fn serve(addr: &str, stats: Arc<Stats>) -> Result<Metrics, String> {
        let server = tiny_http::Server::http(addr).map_err(|e| {
            format!("--metrics {addr}: cannot listen ({e}); give a free HOST:PORT such as 127.0.0.1:9465")
        })?;
        let bound = server.server_addr().to_ip().map_or_else(|| addr.to_string(), |a| a.to_string());
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                // recv fails once `unblock` is called: the end.
                while let Ok(request) = serving.recv() {
                    let response = if request.url() == "/metrics" {
                        let header =
                            tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"text/plain; version=0.0.4"[..]);
                        let r = tiny_http::Response::from_string(render(&stats));
                        match header {
                            Ok(h) => r.with_header(h),
                            Err(()) => r,
                        }
                    } else {
                        tiny_http::Response::from_string("see /metrics\n").with_status_code(404)
                    };
                    // A client gone before the answer is its business.
                    let _ = request.respond(response);
                }
            })
            .map_err(|e| format!("--metrics {addr}: cannot start its thread ({e})"))?;
        Ok(Metrics { server, thread: Some(thread), addr: bound })
    }

    /// The address it listens on.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Stops serving.
    pub fn stop(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A per-peer series: name, type, help, and its value for a peer.
type Series = (&'static str, &'static str, &'static str, fn(&super::PeerStats) -> u64);

/// The text exposition of `stats`.
pub fn render(stats: &Stats) -> String {
    let mut out = String::new();
    let per_peer: [Series; 5] = [
        ("logtriage_alerts_sent_total", "counter", "Alerts an Alertmanager peer acknowledged (2xx).", |p| {
            p.sent.load(Ordering::Relaxed)
        }),
        ("logtriage_alerts_failed_total", "counter", "Alerts in posts that failed (5xx, no answer); retried.", |p| {
            p.failed.load(Ordering::Relaxed)
        }),
        ("logtriage_alerts_refused_total", "counter", "Alerts a peer refused (4xx); dropped for it.", |p| {
            p.refused.load(Ordering::Relaxed)
        }),
        ("logtriage_alerts_spooled", "gauge", "Alerts in the spool not yet taken by this peer.", |p| {
            p.owed.load(Ordering::Relaxed)
        }),
        ("logtriage_alertmanager_up", "gauge", "1 when the last post to this peer succeeded.", |p| {
            1 - p.down.load(Ordering::Relaxed).min(1)
        }),
    ];
    for (name, kind, help, value) in per_peer {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for p in &stats.peers {
            let _ = writeln!(out, "{name}{{peer=\"{}\"}} {}", escape(&p.url), value(p));
        }
    }
    let totals = [
        ("logtriage_alert_spool_size", "gauge", "Alerts in the spool (firing, or owed to a peer).", &stats.spooled),
        (
            "logtriage_alert_spool_evicted_total",
            "counter",
            "Alerts dropped because the spool was full.",
            &stats.evicted,
        ),
    ];
    for (name, kind, help, value) in totals {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}", value.load(Ordering::Relaxed));
    }
    out
}

/// A label value as the text format quotes it.
fn escape(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::PeerStats;

    #[test]
    fn counters_render_per_peer_in_the_text_format() {
        let stats = Stats {
            peers: vec![PeerStats { url: "http://a:9093".into(), ..PeerStats::default() }],
            ..Stats::default()
        };
        stats.peers[0].sent.store(3, Ordering::Relaxed);
        stats.peers[0].down.store(1, Ordering::Relaxed);
        stats.spooled.store(2, Ordering::Relaxed);
        let text = render(&stats);
        assert!(text.contains("logtriage_alerts_sent_total{peer=\"http://a:9093\"} 3\n"), "{text}");
        assert!(text.contains("logtriage_alertmanager_up{peer=\"http://a:9093\"} 0\n"), "{text}");
        assert!(text.contains("# TYPE logtriage_alert_spool_size gauge\nlogtriage_alert_spool_size 2\n"), "{text}");
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }

    #[test]
    fn the_endpoint_answers_get_metrics() {
        let stats = Arc::new(Stats::default());
        let m = Metrics::serve("127.0.0.1:0", stats).expect("serve");
        let addr = m.addr().to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut r = agent.get(&format!("http://{addr}/metrics")).call().expect("GET");
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.body_mut().read_to_string().expect("body").contains("logtriage_alert_spool_size 0"));
        let r = agent.get(&format!("http://{addr}/")).call().expect("GET");
        assert_eq!(r.status().as_u16(), 404);
        m.stop();
    }
}
