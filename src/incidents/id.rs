//! Stable incident ids. The id is part of the output contract (alerting
//! deduplicates on it), so the hash is pinned here: FNV-1a 64, not std's
//! `DefaultHasher`, whose output may change between Rust releases.

use std::fmt;

use serde::{Serialize, Serializer};

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`: the one pinned hash of the crate. Incident ids,
/// unrecognised-error template ids and `watch`'s file heads (kept in its
/// state file) are all written with it, so none may change between Rust
/// releases.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(OFFSET, bytes)
}

fn fnv1a_from(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// FNV-1a 64 of the parts, each followed by a 0 byte (so `["ab", "c"]`
/// and `["a", "bc"]` differ).
fn fnv1a_parts(parts: &[&[u8]]) -> u64 {
    parts.iter().fold(OFFSET, |h, part| fnv1a_from(fnv1a_from(h, part), &[0]))
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
    format!("{:016x}", fnv1a_parts(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        // The FNV reference vectors for "" (the offset basis), "a" and
        // "foobar".
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// The value alerting has deduplicated on since the first release: a
    /// change here re-fires every alert.
    #[test]
    fn ids_are_pinned() {
        let key = vec![("app".to_string(), "api".to_string())];
        let id = stable_id("pm2.crash-loop", &key, "1795168800000");
        assert_eq!(id, "ddc7090ae30305e6");
        assert_ne!(id, stable_id("pm2.crash-loop", &key, "1795168800001"));
        // Parts are separated: moving a byte across a boundary changes it.
        let moved = vec![("ap".to_string(), "papi".to_string())];
        assert_ne!(id, stable_id("pm2.crash-loop", &moved, "1795168800000"));
    }
}

/// An incident's id held as its number: written (shown and serialized) as
/// the 16 hex digits the incident itself has. A story names every member
/// this way: a storm's story has hundreds of thousands (5 GiB: 732 k ids,
/// 35 MiB as `String`s, 6 as numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdNum(pub u64);

impl fmt::Display for IdNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for IdNum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl PartialEq<str> for IdNum {
    /// Equal to the text the incident has, byte for byte (upper-case hex
    /// is another text).
    fn eq(&self, other: &str) -> bool {
        other.len() == 16
            && other.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && u64::from_str_radix(other, 16) == Ok(self.0)
    }
}

impl PartialEq<String> for IdNum {
    fn eq(&self, other: &String) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod id_num_tests {
    use super::IdNum;

    #[test]
    fn shows_and_serializes_as_sixteen_hex_digits() {
        let id = IdNum(0x00ab_cdef_0123_4567);
        assert_eq!(id.to_string(), "00abcdef01234567");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"00abcdef01234567\"");
        assert_eq!(id, "00abcdef01234567".to_string());
        assert_ne!(id, "abcdef01234567".to_string());
        assert_ne!(id, "00ABCDEF01234567".to_string());
        assert_ne!(IdNum(0x0bcd_ef01_2345_6789), "+bcdef0123456789".to_string());
        assert_eq!(IdNum(u64::MAX), "ffffffffffffffff".to_string());
        assert_ne!(IdNum(1), "0000000000000002".to_string());
    }
}
