//! Stable incident ids. The id is part of the output contract (alerting
//! deduplicates on it), so the hash is pinned here: FNV-1a 64, not std's
//! `DefaultHasher`, whose output may change between Rust releases.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h = OFFSET;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0u8)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// 16 hex digits from the rule id, the group key and the anchor (the first
/// occurrence's time, or its file:line when the log has no times).
pub fn stable_id(rule: &str, key: &[(String, String)], anchor: &str) -> String {
    let mut parts: Vec<&[u8]> = vec![rule.as_bytes()];
    for (k, v) in key {
        parts.push(k.as_bytes());
        parts.push(v.as_bytes());
    }
    parts.push(anchor.as_bytes());
    format!("{:016x}", fnv1a(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        // FNV-1a 64 of "a" is af63dc4c8601ec8c; our parts add a 0 byte.
        let mut h = OFFSET;
        h ^= u64::from(b'a');
        h = h.wrapping_mul(PRIME);
        assert_eq!(h, 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn ids_are_pinned() {
        let key = vec![("app".to_string(), "api".to_string())];
        let id = stable_id("pm2.crash-loop", &key, "1795168800000");
        assert_eq!(id.len(), 16);
        assert_eq!(id, stable_id("pm2.crash-loop", &key, "1795168800000"));
        assert_ne!(id, stable_id("pm2.crash-loop", &key, "1795168800001"));
    }
}
