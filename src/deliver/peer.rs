//! One Alertmanager peer: how alerts are posted to it and what its answer
//! means. Alertmanager's HA design has every client send every alert to
//! every peer (the peers gossip only silences and what they notified), so
//! each peer is posted to on its own thread, and one that is down delays
//! no other.
//!
//! The answer decides what becomes of a batch: 2xx delivered; 4xx refused
//! for good (the request is wrong: retrying repeats the refusal), dropped
//! with the reason; 5xx and errors before an answer (refused connection,
//! timeout) retried with backoff. Prometheus's notifier drops a failed
//! batch and relies on its next rule evaluation to send the alert again;
//! `watch` decides an incident once, so it keeps the batch and retries.

use std::time::Duration;

use crate::report::Alert;

/// What became of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// 4xx: the status and what the peer said.
    Refused(u16, String),
    /// 5xx, or no answer: why.
    Retry(String),
}

/// Where and how to post.
pub struct Peer {
    /// The URL as given (the name in notes and metrics).
    pub url: String,
    endpoint: String,
    agent: ureq::Agent,
}

/// How much of a refusal's body is kept for the note.
const REASON_MAX: usize = 300;

impl Peer {
    /// The peer at `url` (an Alertmanager base URL, or its
    /// `/api/v2/alerts` endpoint); `timeout` bounds each post.
    pub fn new(url: &str, timeout: Duration) -> Result<Peer, String> {
        let base = url.trim_end_matches('/');
        let Some(rest) = base.strip_prefix("http://") else {
            return Err(if base.starts_with("https://") {
                format!(
                    "--alertmanager {url}: https is not supported by this build; reach Alertmanager over http \
                     (a local TLS proxy such as stunnel or Caddy can forward to an https one)"
                )
            } else {
                format!("--alertmanager {url}: expected an http:// URL such as http://127.0.0.1:9093")
            });
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("--alertmanager {url}: no host; expected e.g. http://127.0.0.1:9093"));
        }
        let endpoint =
            if base.ends_with("/api/v2/alerts") { base.to_string() } else { format!("{base}/api/v2/alerts") };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("logtriage/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Peer { url: url.to_string(), endpoint, agent })
    }

    /// Posts `alerts` (a JSON array of them).
    pub fn post(&self, alerts: &[&Alert]) -> Outcome {
        let body = match serde_json::to_string(alerts) {
            Ok(b) => b,
            Err(e) => return Outcome::Refused(0, format!("cannot encode the alerts: {e}")),
        };
        let sent = self.agent.post(&self.endpoint).header("Content-Type", "application/json").send(body.as_str());
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let said = response.body_mut().read_to_string().unwrap_or_default();
                classify(status, &said)
            }
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}

/// The outcome of an answer with `status` and body `said`.
fn classify(status: u16, said: &str) -> Outcome {
    let reason = || {
        let said = said.trim();
        let mut end = said.len().min(REASON_MAX);
        while !said.is_char_boundary(end) {
            end -= 1;
        }
        format!("HTTP {status}: {}", &said[..end])
    };
    match status {
        200..=299 => Outcome::Delivered,
        400..=499 => Outcome::Refused(status, reason()),
        _ => Outcome::Retry(reason()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_delivered_refused_or_retried() {
        assert_eq!(classify(200, ""), Outcome::Delivered);
        assert_eq!(classify(400, " bad label \n"), Outcome::Refused(400, "HTTP 400: bad label".into()));
        assert_eq!(classify(503, "down"), Outcome::Retry("HTTP 503: down".into()));
        let long = classify(422, &"é".repeat(400));
        assert!(matches!(long, Outcome::Refused(422, r) if r.len() <= REASON_MAX + 10));
    }

    #[test]
    fn urls_are_http_with_a_host() {
        let t = Duration::from_secs(1);
        assert_eq!(Peer::new("http://h:9093/", t).map(|p| p.endpoint), Ok("http://h:9093/api/v2/alerts".into()));
        assert_eq!(Peer::new("http://h/api/v2/alerts", t).map(|p| p.endpoint), Ok("http://h/api/v2/alerts".into()));
        assert!(Peer::new("https://h", t).err().is_some_and(|e| e.contains("https is not supported")));
        assert!(Peer::new("h:9093", t).is_err());
        assert!(Peer::new("http://", t).is_err());
    }

    #[test]
    fn a_peer_nobody_listens_on_is_retried() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let peer = Peer::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).expect("peer");
        assert!(matches!(peer.post(&[]), Outcome::Retry(_)));
    }
}
