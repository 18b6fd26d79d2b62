//! Shares repeated strings among the events of one source. A noisy log
//! repeats itself: a flapping link writes the same line thousands of times,
//! and every event of a rule captures the same app and code. Each event
//! holding its own copy of its record's text and field values made those
//! copies most of a noisy scan's heap; interned, the repeats cost a pointer.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;

/// Distinct strings remembered at most: past this the set starts afresh,
/// so a log of all-different lines costs a bounded table, not a second
/// copy of its matches.
const MAX_STRINGS: usize = 1 << 16;

/// A bounded set of strings (or of other shared values: the sets of
/// fields a rule captures) already handed out.
#[derive(Debug)]
pub struct Interner<T: ?Sized = str> {
    seen: HashSet<Arc<T>>,
}

impl<T: ?Sized> Default for Interner<T> {
    fn default() -> Self {
        Interner { seen: HashSet::new() }
    }
}

/// How a value the table has not seen is made into its shared copy.
pub trait Share {
    /// A shared copy of `self`.
    fn share(&self) -> Arc<Self>;
}

impl Share for str {
    fn share(&self) -> Arc<str> {
        Arc::from(self)
    }
}

impl<T: Clone> Share for Vec<T> {
    /// As long as it is (a clone keeps no spare capacity).
    fn share(&self) -> Arc<Vec<T>> {
        Arc::new(self.clone())
    }
}

impl<T: ?Sized + Hash + Eq + Share> Interner<T> {
    /// The shared copy of `s`.
    pub fn get(&mut self, s: &T) -> Arc<T> {
        if let Some(known) = self.seen.get(s) {
            return known.clone();
        }
        if self.seen.len() >= MAX_STRINGS {
            self.seen.clear();
        }
        let fresh: Arc<T> = s.share();
        self.seen.insert(fresh.clone());
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_share_one_allocation() {
        let mut strings: Interner = Interner::default();
        let a = strings.get("Connectivity between IBKR and Trader Workstation has been lost.");
        let b = strings.get("Connectivity between IBKR and Trader Workstation has been lost.");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &strings.get("restored")));
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut strings: Interner = Interner::default();
        let first = strings.get("0");
        for i in 0..MAX_STRINGS + 10 {
            strings.get(&i.to_string());
        }
        assert!(strings.seen.len() <= MAX_STRINGS);
        // Forgotten by the table, still valid for the event holding it.
        assert_eq!(&*first, "0");
    }
}
