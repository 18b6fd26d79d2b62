//! Closing events that name fewer groups than their rule's key, or several.
//!
//! A closing event (`until` of an absence rule, `then` of a sequence rule)
//! usually carries the whole group key and closes that group only. Some
//! closers speak for many groups at once: TWS's 1102 "All data farms are
//! connected" names no farm and closes every farm of the app that is open,
//! and "The following farms are connected: usfarm; secdefnj" closes those
//! two. So a closer whose key has a field it did not capture (`-`) matches
//! any value there, and a captured value listing names separated by `;` or
//! `,` matches each name. The other fields (the app) must still agree.
//! The correlation stage copies such a closer into every group it closes;
//! `watch` does the same as events arrive.

/// The value a key field has when the event did not capture it.
pub const MISSING: &str = "-";

/// Returns true if and only if `key` (a closing event's group key) speaks
/// for other groups than its own: a field is missing or holds a list.
pub fn is_wide(key: &[String]) -> bool {
    key.iter().any(|v| v == MISSING || is_list(v))
}

/// Returns true if and only if a closing event with key `closer` closes
/// the group with key `group` (both in the rule's `group_by` order).
pub fn closes(closer: &[String], group: &[String]) -> bool {
    closer.len() == group.len() && closer.iter().zip(group).all(|(c, g)| field_closes(c, g))
}

fn field_closes(closer: &str, group: &str) -> bool {
    closer == MISSING || closer == group || (is_list(closer) && names(closer).any(|n| n == group))
}

fn is_list(v: &str) -> bool {
    v.contains([';', ','])
}

fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split([';', ',']).map(str::trim).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_missing_field_closes_every_value_of_the_same_app() {
        let closer = k(&["bridge", "-"]);
        assert!(is_wide(&closer));
        assert!(closes(&closer, &k(&["bridge", "usfarm"])));
        assert!(closes(&closer, &k(&["bridge", "ushmds"])));
        assert!(!closes(&closer, &k(&["other-bridge", "usfarm"])));
    }

    #[test]
    fn a_list_closes_the_names_it_lists_and_no_other() {
        let closer = k(&["bridge", "usfarm; secdefnj"]);
        assert!(is_wide(&closer));
        assert!(closes(&closer, &k(&["bridge", "usfarm"])));
        assert!(closes(&closer, &k(&["bridge", "secdefnj"])));
        assert!(!closes(&closer, &k(&["bridge", "ushmds"])));
        assert!(!closes(&closer, &k(&["bridge", "usfarm.nj"])));
        assert!(closes(&k(&["bridge", "usfarm,eufarm"]), &k(&["bridge", "eufarm"])));
    }

    #[test]
    fn a_full_key_is_not_wide_and_closes_only_itself() {
        let closer = k(&["bridge", "usfarm"]);
        assert!(!is_wide(&closer));
        assert!(closes(&closer, &closer));
        assert!(!closes(&closer, &k(&["bridge", "ushmds"])));
        assert!(!closes(&k(&["bridge"]), &k(&["bridge", "usfarm"])));
    }
}
