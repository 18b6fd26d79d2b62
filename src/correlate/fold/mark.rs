//! Where a record is, as the later stages read it: a [`Mark`] per record
//! a fold keeps (see the module header of [`super`] for which), and the
//! windows before an app's exits in which a record may be its cause
//! ([`BEFORE_MS`], [`STAMP_SLACK_MS`]). They live here, with the fold
//! that makes the marks and bounds them to those windows, so the data
//! flows one way: `incidents` carries the marks, `stories` reads them.
//!
//! Each mark says why it was kept ([`Kept`]): a story reads it from the
//! incident's view ([`Mark::view`]: the first record, pm2's daemon lines,
//! opening records inside an exit's window, or every record where no
//! bounds are known); it is a record another incident may hold
//! ([`Mark::links`]: closing records, records of several events), kept
//! where the fold could not hand it on to `spill::links` as it went; or
//! only for the HTML report's ticks (the first record of an instant).
//! The incident keeps them all; the store's view of it, held to the end
//! of the run, only the first kind, and the store hands the second on.

/// How long before an exit the record that caused it is looked for: a
/// start-up error is written milliseconds before pm2 logs the exit; an
/// error handled for a few seconds (a retry, a flush) still falls in it.
pub const BEFORE_MS: i64 = 5_000;

/// pm2 stamps its lines to the second: an exit stamped `09:10:00`
/// happened up to 999 ms after that, so a record the app stamped
/// `09:10:00.400` may precede it.
pub const STAMP_SLACK_MS: i64 = 999;

/// One record of an incident: its place, its time, whether pm2's daemon
/// wrote it (an exit or restart line) and for which `pm_id`, and why it
/// was kept.
///
/// Incidents are held whole until the report is written, and a storm
/// makes many (about 145 k per GiB of the storm corpus, 11 records each):
/// a mark is packed in 24 bytes (48 as plain fields), the flags and the
/// line sharing one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// When (ms since the epoch), if [`Mark::TS`] is set.
    ts: i64,
    /// The 1-based line below [`Mark::FLAGS`]; the flags above it.
    line_flags: u64,
    /// Source id (saturated: never reached by real inputs).
    source: u32,
    /// The `pm_id`, if [`Mark::PM_ID`] is set.
    pm_id: u32,
}

/// Why a fold keeps a mark ([`Mark::kept`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// A story reads it from the incident's view ([`Mark::view`]).
    View,
    /// Only as a record that may link the incident to another
    /// ([`Mark::links`]), where the fold cannot hand it on as it goes.
    Link,
    /// Only for the HTML report's ticks.
    Tick,
}

/// A mark's parts as the incident store writes them
/// ([`Mark::to_raw`], [`Mark::from_raw`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMark {
    /// Source id.
    pub source: u32,
    /// 1-based line.
    pub line: u64,
    /// The flags, in the low bits (see [`Mark::FLAG_BITS`]).
    pub flags: u8,
    /// The time, meaningful where its flag is set.
    pub ts: i64,
    /// The `pm_id`, meaningful where its flag is set.
    pub pm_id: u32,
}

impl Mark {
    /// Bits of `line_flags` the line keeps (2^57 lines: no file has more).
    const FLAGS: u32 = 57;
    const LINE: u64 = (1 << Self::FLAGS) - 1;
    const TS: u64 = 1 << Self::FLAGS;
    const PM_ID: u64 = 2 << Self::FLAGS;
    const DAEMON: u64 = 4 << Self::FLAGS;
    const START: u64 = 8 << Self::FLAGS;
    /// Kept only for the HTML report's ticks: no story reads it.
    const TICK: u64 = 16 << Self::FLAGS;
    /// The record made more than one event ([`crate::matcher::Event::shared`]).
    const SHARED: u64 = 32 << Self::FLAGS;
    /// Kept for a story only as a record another incident may hold: no
    /// story reads it from the incident's view (see [`Mark::view`]).
    const LINK: u64 = 64 << Self::FLAGS;
    /// How many flags there are ([`RawMark::flags`]).
    pub const FLAG_BITS: u32 = 7;

    /// A record of `source` at `line`, written at `ts`; `daemon`: by pm2's
    /// daemon; `pm_id`: the one it names; `start`: it opened the incident
    /// (not a sequence's or absence's closing record). Kept for the view: see
    /// [`Mark::kept`].
    pub fn new(source: usize, line: u64, ts: Option<i64>, daemon: bool, pm_id: Option<u32>, start: bool) -> Mark {
        let flag = |on: bool, bit: u64| if on { bit } else { 0 };
        Mark {
            ts: ts.unwrap_or_default(),
            line_flags: line.min(Self::LINE)
                | flag(ts.is_some(), Self::TS)
                | flag(pm_id.is_some(), Self::PM_ID)
                | flag(daemon, Self::DAEMON)
                | flag(start, Self::START),
            source: u32::try_from(source).unwrap_or(u32::MAX),
            pm_id: pm_id.unwrap_or_default(),
        }
    }

    /// The same mark, kept for what `why` says.
    pub fn kept(self, why: Kept) -> Mark {
        let line_flags = self.line_flags & !(Self::TICK | Self::LINK);
        let line_flags = match why {
            Kept::View => line_flags,
            Kept::Link => line_flags | Self::LINK,
            Kept::Tick => line_flags | Self::TICK,
        };
        Mark { line_flags, ..self }
    }

    /// Whether its record may link the incident to another: it made more
    /// than one event, or it closed the incident (a closing record is
    /// copied into every group it closes).
    pub fn links(&self) -> bool {
        self.shared() || !self.start()
    }

    /// The same mark, of a record that made more than one event
    /// (`shared`) or of one that made only this one.
    pub fn of_shared(self, shared: bool) -> Mark {
        let line_flags = if shared { self.line_flags | Self::SHARED } else { self.line_flags & !Self::SHARED };
        Mark { line_flags, ..self }
    }

    /// The record made more than one event: it may be another incident's
    /// too.
    pub fn shared(&self) -> bool {
        self.line_flags & Self::SHARED != 0
    }

    /// Source id.
    pub fn source(&self) -> usize {
        self.source as usize
    }

    /// 1-based line.
    pub fn line(&self) -> u64 {
        self.line_flags & Self::LINE
    }

    /// When (ms since the epoch), if known.
    pub fn ts(&self) -> Option<i64> {
        (self.line_flags & Self::TS != 0).then_some(self.ts)
    }

    /// Written by pm2's daemon.
    pub fn daemon(&self) -> bool {
        self.line_flags & Self::DAEMON != 0
    }

    /// The `pm_id` the record names, if any.
    pub fn pm_id(&self) -> Option<u32> {
        (self.line_flags & Self::PM_ID != 0).then_some(self.pm_id)
    }

    /// It opened the incident (not a sequence's or absence's closing
    /// record).
    pub fn start(&self) -> bool {
        self.line_flags & Self::START != 0
    }

    /// Kept because a story may read it (see the module header): from
    /// the incident's view, or as a record that links it to another;
    /// else only for the report's ticks.
    pub fn story(&self) -> bool {
        self.line_flags & Self::TICK == 0
    }

    /// Kept because a story reads it from the incident's view: the first
    /// record, pm2's daemon lines, records inside an exit's window (every
    /// record where no bounds are known).
    pub fn view(&self) -> bool {
        self.line_flags & (Self::TICK | Self::LINK) == 0
    }

    /// Its parts, every bit of them.
    pub fn to_raw(&self) -> RawMark {
        RawMark {
            source: self.source,
            line: self.line(),
            flags: (self.line_flags >> Self::FLAGS) as u8,
            ts: self.ts,
            pm_id: self.pm_id,
        }
    }

    /// The mark of `raw` (None: a line or flags no mark has).
    pub fn from_raw(raw: RawMark) -> Option<Mark> {
        if raw.line > Self::LINE || u32::from(raw.flags) >> Self::FLAG_BITS != 0 {
            return None;
        }
        Some(Mark {
            ts: raw.ts,
            line_flags: raw.line | (u64::from(raw.flags) << Self::FLAGS),
            source: raw.source,
            pm_id: raw.pm_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packed mark gives back what it was made of: each flag on its
    /// own, a time of 0 and a `pm_id` of 0 apart from none, the largest
    /// line and time.
    #[test]
    fn a_mark_keeps_each_of_its_parts() {
        let cases = [
            (0, 1, None, false, None, false),
            (3, 42, Some(0), false, None, false),
            (7, 1 << 40, Some(i64::MIN), true, Some(0), false),
            (1, Mark::LINE, Some(i64::MAX), false, Some(u32::MAX), true),
            (9, 5, Some(-1), true, None, true),
            (2, 6, None, false, Some(17), false),
        ];
        for (source, line, ts, daemon, pm_id, start) in cases {
            let m = Mark::new(source, line, ts, daemon, pm_id, start);
            assert_eq!(
                (m.source(), m.line(), m.ts(), m.daemon(), m.pm_id(), m.start()),
                (source, line, ts, daemon, pm_id, start)
            );
        }
        assert_eq!(std::mem::size_of::<Mark>(), 24);
    }

    /// Every flag and the line survive each other and the raw parts; the
    /// tag changes nothing else.
    #[test]
    fn flags_line_and_tag_are_independent() {
        let lines = [1, 2, Mark::LINE - 1, Mark::LINE];
        for line in lines {
            for bits in 0..32u8 {
                let on = |b: u8| bits & b != 0;
                let ts = on(1).then_some(-5);
                let pm_id = on(2).then_some(u32::MAX);
                let m = Mark::new(7, line, ts, on(4), pm_id, on(8)).of_shared(on(16));
                let parts = |m: Mark| (m.line(), m.ts(), m.pm_id(), m.daemon(), m.start(), m.shared());
                assert_eq!(parts(m), (line, ts, pm_id, on(4), on(8), on(16)));
                assert!(m.story() && m.view());
                let t = m.kept(Kept::Tick);
                assert!(!t.story() && !t.view());
                let l = m.kept(Kept::Link);
                assert!(l.story() && !l.view());
                assert_eq!(parts(t), parts(m));
                assert_eq!(parts(l), parts(m));
                assert_eq!(t.kept(Kept::View), m);
                assert_eq!(l.kept(Kept::Tick), t);
                assert_eq!(m.links(), on(16) || !on(8));
                assert_eq!(m.of_shared(!on(16)).of_shared(on(16)), m);
                for x in [m, t, l] {
                    assert_eq!(Mark::from_raw(x.to_raw()), Some(x));
                }
            }
        }
        assert_eq!(Mark::new(0, u64::MAX, None, false, None, false).line(), Mark::LINE, "saturates");
        let raw = Mark::new(0, 1, None, false, None, false).to_raw();
        assert_eq!(Mark::from_raw(RawMark { flags: 1 << Mark::FLAG_BITS, ..raw }), None);
        assert_eq!(Mark::from_raw(RawMark { line: Mark::LINE + 1, ..raw }), None);
    }
}
