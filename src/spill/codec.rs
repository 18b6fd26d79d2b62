//! The compact form of a run of [`Event`]s on disk: one self-contained
//! chunk, read back whole. A chunk writes each string it holds once (apps,
//! field names and values, and records' texts, in one table; a field set
//! once, named by its index): a noisy log repeats its lines, and the scan
//! shares their texts ([`crate::matcher`]'s interner), so the events read
//! back share them again. Integers are LEB128 varints, so a small line
//! number or rule index is one byte.
//!
//! Layout (every number a varint):
//!
//! ```text
//! chunk  := strings sets events
//! strings:= n (len utf-8)*n
//! sets   := n (pairs (name value)*pairs)*n    name, value: string index
//! events := n event*n
//! event  := rule role shape source line ts day app stream set text tag
//!   role : 0 start, 1 end, 2 + n context n
//!   shape: a byte, [`Which`]'s own
//!   ts   : zigzag of the time in ms, 0 for none (so none is one byte)
//!   day  : 0 none, else DayTime::ms + 1
//!   app  : 0 none, else string index + 1
//!   set  : 0 no fields, else set index + 1
//!   text : string index
//!   tag  : a number the writer keeps beside the event (the group sort's
//!          position in its list)
//! ```
//!
//! Read back, events that shared a string or a field set share it again
//! (one `Arc` per chunk), so the events take no more heap than the
//! scan's did.
//!
//! The writer numbers a string by its address first and by its content
//! only for an address it has not met: the strings the scan shares are one
//! `Arc` each, so a text repeated by many events is hashed once a chunk,
//! not once an event. Equal copies that are not shared are still written
//! once.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;

use crate::input::Stream;
use crate::matcher::{Event, Fields, Ts, Which};
use crate::records::DayTime;
use crate::rules::Role;

/// Why bytes read back are not a chunk this module wrote (the temporary
/// file was changed under the scan, or the disk returned other bytes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a chunk of spilled events is damaged ({0})")]
pub struct Damaged(pub &'static str);

/// A chunk's string table: each distinct string once, numbered in the
/// order first met.
#[derive(Default)]
struct Strings<'e> {
    /// Numbers by address and length. The events of one record share its
    /// text, and the matcher's interner makes a source's repeated lines,
    /// apps and values one `Arc<str>` each (256 MiB storm, every event
    /// spilled: 5.7 M lookups of texts and apps, 300 k addresses), so most
    /// lookups end here, having hashed two words rather than the text.
    /// Sound whatever the strings' origin: two live borrows at one address
    /// with one length are the same bytes.
    by_address: HashMap<(usize, usize), u64, RandomState>,
    /// Numbers by content, for an address not met yet: equal copies that
    /// are not shared (other sources' lines in a sort run, or lines past
    /// the interner's bound) are still written once.
    by_content: HashMap<&'e str, u64, RandomState>,
    order: Vec<&'e str>,
}

impl<'e> Strings<'e> {
    /// The number of `s` in the table, added if new.
    fn number(&mut self, s: &'e str) -> u64 {
        let address = (s.as_ptr() as usize, s.len());
        if let Some(&n) = self.by_address.get(&address) {
            return n;
        }
        let order = &mut self.order;
        let n = *self.by_content.entry(s).or_insert_with(|| {
            order.push(s);
            order.len() as u64 - 1
        });
        self.by_address.insert(address, n);
        n
    }
}

/// Appends the chunk of `events` (each with its tag) to `out`.
pub fn encode<'e>(events: impl ExactSizeIterator<Item = (&'e Event, u64)> + Clone, out: &mut Vec<u8>) {
    let mut strings = Strings::default();
    // By the set's address: the events of one source that capture the same
    // values share one set.
    let mut sets: HashMap<*const (), u64, RandomState> = HashMap::default();
    let mut set_list: Vec<Vec<(u64, u64)>> = Vec::new();
    let mut per_event: Vec<(u64, u64, u64)> = Vec::with_capacity(events.len());
    for (e, _) in events.clone() {
        let text = strings.number(&e.text);
        let app = e.app.as_deref().map_or(0, |a| strings.number(a) + 1);
        let set = if e.fields.is_empty() {
            0
        } else {
            *sets.entry(Arc::as_ptr(&e.fields).cast::<()>()).or_insert_with(|| {
                set_list.push(e.fields.iter().map(|(n, v)| (strings.number(n), strings.number(v))).collect());
                set_list.len() as u64
            })
        };
        per_event.push((text, app, set));
    }
    put(out, strings.order.len() as u64);
    for s in &strings.order {
        put_str(out, s);
    }
    put(out, set_list.len() as u64);
    for set in &set_list {
        put(out, set.len() as u64);
        for &(n, v) in set {
            put(out, n);
            put(out, v);
        }
    }
    put(out, per_event.len() as u64);
    for ((e, tag), (text, app, set)) in events.zip(per_event) {
        put(out, u64::from(e.rule));
        out.push(match e.role {
            Role::Start => 0,
            Role::End => 1,
            Role::Context(n) => n.saturating_add(2),
        });
        out.push(e.shape.to_byte());
        put(out, e.source as u64);
        put(out, e.line);
        put(out, e.ts.get().map_or(0, |t| zigzag(t) + 1));
        put(out, e.day_time.map_or(0, |d| d.ms() as u64 + 1));
        put(out, app);
        out.push(stream_byte(e.stream));
        put(out, set);
        put(out, text);
        put(out, tag);
    }
}

/// The events of one chunk [`encode`] wrote, with their tags.
pub fn decode(bytes: &[u8]) -> Result<Vec<(Event, u64)>, Damaged> {
    let mut r = Reader::new(bytes);
    let strings: Vec<Arc<str>> = (0..r.count()?).map(|_| r.string()).collect::<Result<_, _>>()?;
    let string = |i: u64| strings.get(i as usize).cloned().ok_or(Damaged("string index"));
    let mut sets: Vec<Fields> = Vec::new();
    for _ in 0..r.count()? {
        let pairs = (0..r.count()?).map(|_| Ok((string(r.num()?)?, string(r.num()?)?))).collect::<Result<_, _>>()?;
        sets.push(Arc::new(pairs));
    }
    let empty = Fields::default();
    let n = r.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let rule = u32::try_from(r.num()?).map_err(|_| Damaged("rule"))?;
        let role = match r.byte()? {
            0 => Role::Start,
            1 => Role::End,
            n => Role::Context(n - 2),
        };
        let shape = Which::from_byte(r.byte()?);
        let source = usize::try_from(r.num()?).map_err(|_| Damaged("source"))?;
        let line = r.num()?;
        let ts: Ts = r.num()?.checked_sub(1).map(unzigzag).into();
        let day_time = match r.num()? {
            0 => None,
            d => Some(DayTime::from_ms((d - 1) as i64).ok_or(Damaged("time of day"))?),
        };
        let app = match r.num()? {
            0 => None,
            a => Some(string(a - 1)?),
        };
        let stream = stream_of(r.byte()?)?;
        let fields = match r.num()? {
            0 => empty.clone(),
            s => sets.get(s as usize - 1).cloned().ok_or(Damaged("field set"))?,
        };
        let text = string(r.num()?)?;
        let tag = r.num()?;
        out.push((Event { rule, role, shape, source, line, ts, day_time, app, stream, fields, text }, tag));
    }
    if r.at != bytes.len() {
        return Err(Damaged("trailing bytes"));
    }
    Ok(out)
}

fn stream_byte(s: Stream) -> u8 {
    match s {
        Stream::Out => 0,
        Stream::Err => 1,
        Stream::Daemon => 2,
        Stream::Combined => 3,
        Stream::Unknown => 4,
    }
}

fn stream_of(b: u8) -> Result<Stream, Damaged> {
    Ok(match b {
        0 => Stream::Out,
        1 => Stream::Err,
        2 => Stream::Daemon,
        3 => Stream::Combined,
        4 => Stream::Unknown,
        _ => return Err(Damaged("stream")),
    })
}

/// A signed number as an unsigned one that small magnitudes keep small
/// (also the incident store's form).
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// [`zigzag`] undone.
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// `v` as LEB128 (also the incident store's form).
pub(crate) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// `s` as its length and bytes (also the incident store's form).
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reads what [`put`] and the encoder wrote, front to back.
pub(crate) struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'b [u8]) -> Reader<'b> {
        Reader { bytes, at: 0 }
    }

    /// Whether every byte has been read.
    pub(crate) fn at_end(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn byte(&mut self) -> Result<u8, Damaged> {
        let b = *self.bytes.get(self.at).ok_or(Damaged("cut short"))?;
        self.at += 1;
        Ok(b)
    }

    /// The next LEB128 number.
    pub(crate) fn num(&mut self) -> Result<u64, Damaged> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(Damaged("number too long"))
    }

    /// A count of items that each take at least one byte: never more than
    /// the bytes left, so a damaged count allocates nothing absurd.
    fn count(&mut self) -> Result<usize, Damaged> {
        let n = self.num()?;
        usize::try_from(n).ok().filter(|&n| n <= self.bytes.len() - self.at).ok_or(Damaged("count"))
    }

    fn string(&mut self) -> Result<Arc<str>, Damaged> {
        let len = self.count()?;
        let bytes = &self.bytes[self.at..self.at + len];
        self.at += len;
        std::str::from_utf8(bytes).map(Arc::from).map_err(|_| Damaged("text is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(line: u64, text: &Arc<str>, fields: &Fields) -> Event {
        Event {
            rule: 7,
            role: Role::Start,
            shape: 1.into(),
            source: 3,
            line,
            ts: Some(1_700_000_000_000).into(),
            day_time: None,
            app: Some("api".into()),
            stream: Stream::Err,
            fields: fields.clone(),
            text: text.clone(),
        }
    }

    /// Every field of an event comes back as it was, at the extremes of
    /// each (no time and the earliest one, times of day, every role and
    /// stream, empty and shared texts and field sets), with its tag; the
    /// chunk is damaged, not misread, when cut anywhere.
    #[test]
    fn a_chunk_reads_back_the_events_it_was_made_of() {
        let text: Arc<str> = "boom — ünïcode".into();
        let fields: Fields = Arc::new(vec![("code".into(), "1100".into()), ("app".into(), "api".into())]);
        let other: Arc<str> = "".into();
        let mut evs = vec![event(1, &text, &fields), event(1, &text, &fields)];
        evs[1].role = Role::End;
        let variants: Vec<Event> = vec![
            Event { ts: None.into(), day_time: DayTime::from_ms(86_400_000 * 3 + 5), ..event(2, &other, &fields) },
            Event { ts: Some(i64::MIN + 1).into(), role: Role::Context(5), ..event(u64::MAX, &text, &fields) },
            Event { ts: Some(i64::MAX).into(), app: None, fields: Fields::default(), ..event(0, &text, &fields) },
            Event { ts: Some(-1).into(), stream: Stream::Daemon, source: usize::MAX, rule: u32::MAX, ..evs[0].clone() },
            Event { stream: Stream::Out, ..evs[0].clone() },
            Event { stream: Stream::Combined, ..evs[0].clone() },
            Event { stream: Stream::Unknown, shape: Which::new(255), ..evs[0].clone() },
            Event { shape: Which::new(3).with_shared(true), ..evs[1].clone() },
        ];
        evs.extend(variants);
        let mut bytes = Vec::new();
        encode(evs.iter().enumerate().map(|(i, e)| (e, i as u64 * 1000)), &mut bytes);
        let back = decode(&bytes).expect("decodes");
        assert_eq!(back.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>(), evs);
        assert_eq!(
            back.iter().map(|(_, t)| *t).collect::<Vec<_>>(),
            (0..evs.len() as u64).map(|i| i * 1000).collect::<Vec<_>>()
        );
        assert!(Arc::ptr_eq(&back[0].0.text, &back[1].0.text), "a record's text is shared again");
        assert!(Arc::ptr_eq(&back[0].0.text, &back[3].0.text), "so is a repeated line's");
        assert!(Arc::ptr_eq(&back[0].0.fields, &back[1].0.fields), "a field set is shared again");
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    /// A string is written once however many events carry it, whether they
    /// share it or hold equal copies.
    #[test]
    fn shared_strings_are_written_once() {
        let text: Arc<str> = "x".repeat(100).into();
        let fields: Fields = Arc::new(vec![("name".into(), "v".repeat(50).into())]);
        let mut evs: Vec<Event> = (0..100).map(|l| event(l, &text, &fields)).collect();
        evs[50].text = "x".repeat(100).into();
        let mut bytes = Vec::new();
        encode(evs.iter().map(|e| (e, 0)), &mut bytes);
        assert!(bytes.len() < 100 * 20 + 250, "{} bytes: each event about 18, the strings once", bytes.len());
    }

    /// The strings a chunk begins with, in the order written.
    fn table(bytes: &[u8]) -> Vec<String> {
        let mut r = Reader::new(bytes);
        let n = r.count().expect("count");
        (0..n).map(|_| r.string().expect("string").to_string()).collect()
    }

    /// The table holds each distinct content once, in the order first met
    /// (text, app, then a new field set's names and values), however the
    /// events share their strings: the same bytes as numbering by content
    /// alone. Equal copies at other addresses take the first one's number.
    #[test]
    fn the_table_numbers_contents_in_the_order_met() {
        let text: Arc<str> = "boom".into();
        let fields: Fields = Arc::new(vec![("code".into(), "api".into())]);
        let mut evs = vec![event(1, &text, &fields), event(2, &text, &fields)];
        // A copy of the text at another address; an app that is another
        // event's text; a new set whose value is an app met before.
        evs.push(Event { app: Some("boom".into()), ..event(3, &"boom".into(), &fields) });
        let other: Fields = Arc::new(vec![("app".into(), "api".into()), ("code".into(), "9".into())]);
        evs.push(Event { app: Some("worker".into()), ..event(4, &"api".into(), &other) });
        let mut bytes = Vec::new();
        encode(evs.iter().map(|e| (e, 0)), &mut bytes);
        assert_eq!(table(&bytes), ["boom", "api", "code", "worker", "app", "9"]);
        let back = decode(&bytes).expect("decodes");
        assert!(Arc::ptr_eq(&back[0].0.text, &back[2].0.text), "an equal copy reads back shared");
        assert!(Arc::ptr_eq(&back[3].0.text, back[0].0.app.as_ref().expect("app")));
    }

    /// A string's address alone does not name it: two slices of one
    /// buffer that begin at the same byte are different strings when
    /// their lengths differ.
    #[test]
    fn one_address_with_two_lengths_is_two_strings() {
        let buf = String::from("abc");
        let mut strings = Strings::default();
        let (ab, abc) = (strings.number(&buf[..2]), strings.number(&buf[..3]));
        assert_ne!(ab, abc);
        assert_eq!((strings.number(&buf[..2]), strings.number(&buf[..3])), (ab, abc), "each found again");
        assert_eq!(strings.order, ["ab", "abc"]);
    }

    #[test]
    fn zigzag_round_trips() {
        for v in [0, 1, -1, i64::MIN, i64::MAX, 1_700_000_000_000] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
