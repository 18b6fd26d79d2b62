//! [`Map`]: an incident's group key and captured fields, held as one
//! boxed slice sorted by name.
//!
//! Incidents are held whole until the report is written, and a storm
//! makes many (about 145 k per GiB of the storm corpus). A `BTreeMap`
//! allocates a node of eleven slots for even one entry (544 bytes for a
//! key of strings), and an incident had two: on the 1 GiB storm they were
//! 160 MB of the 457 MB the incidents held. A map here is its entries
//! and nothing more, and reads, compares and serializes as the
//! `BTreeMap` did (entries in name order, a later entry of one name
//! replacing an earlier one), so the JSON is unchanged.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

/// Field names and their values, sorted by name, each name once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Map<V>(Box<[(String, V)]>);

impl<V> Default for Map<V> {
    fn default() -> Map<V> {
        Map(Box::default())
    }
}

impl<V> Map<V> {
    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// Returns true if and only if `name` is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Entries in name order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &V)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Names in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    /// Values in name order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns true if and only if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets `name` to `value`; returns the value it replaced. Rebuilds the
    /// slice: for the few edits made after an incident is built.
    pub fn insert(&mut self, name: String, value: V) -> Option<V> {
        let mut entries = std::mem::take(&mut self.0).into_vec();
        let old = match entries.binary_search_by(|(k, _)| k.as_str().cmp(&name)) {
            Ok(i) => Some(std::mem::replace(&mut entries[i].1, value)),
            Err(i) => {
                entries.insert(i, (name, value));
                None
            }
        };
        self.0 = entries.into_boxed_slice();
        old
    }

    /// The entries as a `BTreeMap` (what baselines and the alert spool
    /// compare keys as).
    pub fn to_btree(&self) -> BTreeMap<String, V>
    where
        V: Clone,
    {
        self.0.iter().cloned().collect()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }
}

impl<V> FromIterator<(String, V)> for Map<V> {
    /// As `BTreeMap` collects: sorted by name, the last value of a name
    /// kept.
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Map<V> {
        let mut entries: Vec<(String, V)> = iter.into_iter().collect();
        // Stable: of equal names the last stays last.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(String, V)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match kept.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => kept.push(entry),
            }
        }
        Map(kept.into_boxed_slice())
    }
}

impl<V> From<BTreeMap<String, V>> for Map<V> {
    fn from(map: BTreeMap<String, V>) -> Map<V> {
        Map(map.into_iter().collect::<Vec<_>>().into_boxed_slice())
    }
}

impl<V> std::ops::Index<&str> for Map<V> {
    type Output = V;

    /// The value of `name`; panics where it is absent, as `BTreeMap`'s
    /// index does (tests only).
    fn index(&self, name: &str) -> &V {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no field {name}"),
        }
    }
}

impl<'a, V> IntoIterator for &'a Map<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (String, V)>, fn(&'a (String, V)) -> (&'a String, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<V: Serialize> Serialize for Map<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, u32)]) -> Vec<(String, u32)> {
        list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// Whatever order and repeats the entries come in, the map reads,
    /// orders, compares and serializes as the `BTreeMap` collected from
    /// them: the JSON contract is the `BTreeMap`'s.
    #[test]
    fn a_map_is_the_btree_map_it_replaces() {
        let cases = [
            pairs(&[]),
            pairs(&[("app", 1)]),
            pairs(&[("pm_id", 2), ("app", 1)]),
            pairs(&[("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)]),
            pairs(&[("farm", 9), ("app", 3), ("code", 7), ("app", 4)]),
        ];
        for entries in &cases {
            let map: Map<u32> = entries.iter().cloned().collect();
            let tree: BTreeMap<String, u32> = entries.iter().cloned().collect();
            assert_eq!(map.iter().collect::<Vec<_>>(), tree.iter().collect::<Vec<_>>(), "{entries:?}");
            assert_eq!(map.to_btree(), tree);
            assert_eq!(Map::from(tree.clone()), map);
            assert_eq!(serde_json::to_string(&map).ok(), serde_json::to_string(&tree).ok());
            assert_eq!((map.len(), map.is_empty()), (tree.len(), tree.is_empty()));
            for name in ["a", "app", "b", "c", "z", ""] {
                assert_eq!(map.get(name), tree.get(name), "{name} in {entries:?}");
                assert_eq!(map.contains_key(name), tree.contains_key(name));
            }
            for other in &cases {
                let (m2, t2): (Map<u32>, BTreeMap<String, u32>) =
                    (other.iter().cloned().collect(), other.iter().cloned().collect());
                assert_eq!(map.cmp(&m2), tree.cmp(&t2), "{entries:?} against {other:?}");
                assert_eq!(map == m2, tree == t2);
            }
        }
    }

    /// Inserting keeps the order and replaces a name's value, as the
    /// `BTreeMap` does.
    #[test]
    fn insert_is_the_btree_maps() {
        let mut map: Map<u32> = Map::default();
        let mut tree = BTreeMap::new();
        for (k, v) in pairs(&[("m", 1), ("a", 2), ("z", 3), ("m", 4), ("b", 5)]) {
            assert_eq!(map.insert(k.clone(), v), tree.insert(k, v));
            assert_eq!(map.to_btree(), tree);
        }
        assert_eq!(map["m"], 4);
    }
}
