//! Drain (He et al., "Drain: An Online Log Parsing Approach with Fixed
//! Depth Tree", ICWS 2017): a message goes down a tree keyed on its token
//! count and its first tokens, to a leaf of templates; it joins the most
//! similar one if the share of equal tokens reaches the threshold (the
//! template's differing tokens become wildcards), or starts a new one.
//!
//! Two changes from the paper: the first level is keyed on the stack
//! anchor too (the same error from two places in the app's code is two
//! templates), and a wildcard in the template meeting a masked token counts
//! as half an equal token (both are values at that place; counted as
//! nothing, as in the paper, a message that is mostly values could never
//! join a template). Messages arrive weighted:
//! the tally has already folded identical ones.
//!
//! Hand-written rather than a crate: see the commit that added it
//! (logdrain, drain3 and drainrs were weighed).

use std::collections::HashMap;

use super::mask::WILD;

/// Tokens routed on below the length level (the paper's depth 4 minus the
/// root and the length level).
const ROUTE: usize = 2;
/// Children a routing node keeps before new tokens go to its wildcard.
const MAX_CHILDREN: usize = 100;
/// The share of equal tokens a message needs to join a template. The
/// paper tunes it per log (0.2 to 0.7 on Loghub); one value serves here,
/// chosen on Loghub-2k as a whole (`benches/loghub.sh`): lower, and
/// constant words that tell two events apart (`HTTPS` / `SOCKS5`,
/// `initialization` / `finalization`) become wildcards.
pub const SIMILARITY: f64 = 0.7;
/// What a wildcard in the template meeting a masked token counts for:
/// both are values there, which says less than an equal word does.
const BOTH_VALUES: f64 = 0.5;

/// A template being formed.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Its tokens, `<*>` where its messages differ.
    pub tokens: Vec<Box<str>>,
    /// The stack anchor its messages share ("" for none).
    pub anchor: Box<str>,
    /// Occurrences so far.
    pub weight: u64,
    /// When it last took a message: eviction ranks by it.
    touched: u64,
}

#[derive(Debug, Default)]
struct Node {
    children: HashMap<Box<str>, Node>,
    leaf: Vec<u32>,
}

/// The tree and its templates.
#[derive(Debug, Default)]
pub struct Drain {
    roots: HashMap<(usize, Box<str>), Node>,
    clusters: Vec<Option<Cluster>>,
    live: usize,
    /// Templates kept at most (None: all).
    cap: Option<usize>,
    clock: u64,
    evicted: Vec<u32>,
}

impl Drain {
    /// A miner keeping at most `cap` templates (the rarest are evicted).
    pub fn new(cap: Option<usize>) -> Drain {
        Drain { cap, ..Drain::default() }
    }

    /// Adds `weight` occurrences of the masked `message` under `anchor`;
    /// returns its template's index.
    pub fn add(&mut self, message: &str, anchor: &str, weight: u64) -> u32 {
        self.clock += 1;
        let tokens: Vec<&str> = message.split(' ').collect();
        let node = descend(self.roots.entry((tokens.len(), anchor.into())).or_default(), &tokens);
        let best = best_match(&self.clusters, &node.leaf, &tokens);
        let id = match best {
            Some(id) => {
                let c = self.clusters[id as usize].as_mut().expect("leaves hold live clusters");
                for (t, m) in c.tokens.iter_mut().zip(&tokens) {
                    if &**t != *m {
                        *t = WILD.into();
                    }
                }
                id
            }
            None => {
                let id = self.clusters.len() as u32;
                let tokens = tokens.iter().map(|&t| t.into()).collect();
                self.clusters.push(Some(Cluster { tokens, anchor: anchor.into(), weight: 0, touched: 0 }));
                node.leaf.push(id);
                self.live += 1;
                id
            }
        };
        if let Some(c) = self.clusters[id as usize].as_mut() {
            c.weight += weight;
            c.touched = self.clock;
        }
        if self.cap.is_some_and(|cap| self.live > cap) {
            self.evict(id);
        }
        id
    }

    /// Templates evicted since the last call.
    pub fn take_evicted(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.evicted)
    }

    /// The live templates, by index.
    pub fn clusters(&self) -> impl Iterator<Item = (u32, &Cluster)> {
        self.clusters.iter().enumerate().filter_map(|(i, c)| c.as_ref().map(|c| (i as u32, c)))
    }

    /// Drops the rarest quarter (fewest occurrences, then least recently
    /// touched), never `keep` (the template just fed).
    fn evict(&mut self, keep: u32) {
        let mut rank: Vec<(u64, u64, u32)> =
            self.clusters().filter(|(i, _)| *i != keep).map(|(i, c)| (c.weight, c.touched, i)).collect();
        rank.sort_unstable();
        for &(_, _, i) in &rank[..(self.live / 4).max(1).min(rank.len())] {
            self.clusters[i as usize] = None;
            self.evicted.push(i);
            self.live -= 1;
        }
        // Pruning one subtree never looks at another: the order is free.
        let clusters = &self.clusters;
        self.roots.retain(|_, n| {
            prune(n, clusters);
            !n.children.is_empty() || !n.leaf.is_empty()
        });
    }
}

/// The leaf for `tokens`, made on the way when missing.
fn descend<'n>(mut node: &'n mut Node, tokens: &[&str]) -> &'n mut Node {
    for &t in tokens.iter().take(ROUTE) {
        let key: &str = if t.contains(WILD) { WILD } else { t };
        let key = if node.children.contains_key(key) || node.children.len() + 1 < MAX_CHILDREN { key } else { WILD };
        node = node.children.entry(key.into()).or_default();
    }
    node
}

/// The most similar template in `leaf` at or above [`SIMILARITY`]; ties
/// go to the one with more wildcards, then the older.
fn best_match(clusters: &[Option<Cluster>], leaf: &[u32], tokens: &[&str]) -> Option<u32> {
    let mut best: Option<(f64, usize, u32)> = None;
    for &id in leaf {
        let Some(c) = clusters[id as usize].as_ref() else { continue };
        let (same, wild) = similarity(&c.tokens, tokens);
        let sim = same / tokens.len().max(1) as f64;
        if sim >= SIMILARITY && best.is_none_or(|(s, w, _)| sim > s || (sim == s && wild > w)) {
            best = Some((sim, wild, id));
        }
    }
    best.map(|(_, _, id)| id)
}

/// Equal tokens (a wildcard meeting a masked token counts
/// [`BOTH_VALUES`]), and the template's wildcards met by a word.
fn similarity(template: &[Box<str>], tokens: &[&str]) -> (f64, usize) {
    let (mut same, mut wild) = (0.0, 0);
    for (t, m) in template.iter().zip(tokens) {
        if &**t == WILD {
            if *m == WILD { same += BOTH_VALUES } else { wild += 1 }
        } else if &**t == *m {
            same += 1.0;
        }
    }
    (same, wild)
}

fn prune(node: &mut Node, clusters: &[Option<Cluster>]) {
    node.leaf.retain(|&id| clusters[id as usize].is_some());
    node.children.retain(|_, n| {
        prune(n, clusters);
        !n.children.is_empty() || !n.leaf.is_empty()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(d: &Drain, id: u32) -> String {
        let c = d.clusters().find(|(i, _)| *i == id).expect("live").1;
        c.tokens.join(" ")
    }

    #[test]
    fn similar_messages_share_a_template_and_its_wildcards() {
        let mut d = Drain::new(None);
        let a = d.add("session opened for bob from <*>", "", 1);
        let b = d.add("session opened for alice from <*>", "", 2);
        let c = d.add("disk full on <*>", "", 1);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(template(&d, a), "session opened for <*> from <*>");
        assert_eq!(d.clusters().find(|(i, _)| *i == a).map(|(_, c)| c.weight), Some(3));
    }

    #[test]
    fn length_and_anchor_keep_templates_apart() {
        let mut d = Drain::new(None);
        let a = d.add("Error: boom", "at a (x/a.js)", 1);
        let b = d.add("Error: boom", "at b (x/b.js)", 1);
        let c = d.add("Error: boom again", "at a (x/a.js)", 1);
        assert!(a != b && a != c && b != c);
    }

    #[test]
    fn the_cap_evicts_the_rarest_first() {
        let mut d = Drain::new(Some(8));
        let kept = d.add("the frequent one", "", 1000);
        for i in 0..100 {
            d.add(&format!("distinct{i} message w{i} x{i}"), "", 1);
            assert!(d.clusters().count() <= 8);
        }
        assert!(d.clusters().any(|(i, _)| i == kept));
        assert!(!d.take_evicted().is_empty());
    }
}
