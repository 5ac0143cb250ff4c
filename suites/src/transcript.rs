//! The wire transcript of a case: every frame in and out of every
//! connection it opens, with times relative to the case's start.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Sent by the suite to the target.
    Out,
    /// Received from the target.
    In,
    /// Not a frame: a connection opened or closed, an HTTP status, a note of the case.
    Note,
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Milliseconds since the case started.
    pub at_ms: f64,
    /// The connection, numbered from 1 in the order the case opened them.
    pub conn: u32,
    /// Which way.
    pub dir: Direction,
    /// The frame: text as it is, binary as `<hex>` prefixed with `0x`.
    pub frame: String,
}

/// A shared, cheaply cloned recorder.
#[derive(Debug, Clone)]
pub struct Transcript {
    start: Instant,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<Entry>,
    connections: u32,
}

/// At most this many entries are kept; later ones are counted in a last note.
pub const MAX_ENTRIES: usize = 2_000;
/// A frame longer than this is cut, with its length noted.
pub const MAX_FRAME_CHARS: usize = 4_096;

impl Default for Transcript {
    fn default() -> Self {
        Self::new()
    }
}

impl Transcript {
    /// A transcript whose clock starts now.
    pub fn new() -> Self {
        Transcript {
            start: Instant::now(),
            inner: Arc::default(),
        }
    }

    /// Numbers a new connection and notes what it is.
    pub fn open(&self, what: impl Into<String>) -> u32 {
        let conn = {
            let mut inner = self.inner.lock().unwrap();
            inner.connections += 1;
            inner.connections
        };
        self.push(conn, Direction::Note, what.into());
        conn
    }

    /// Records a text frame.
    pub fn text(&self, conn: u32, dir: Direction, frame: &str) {
        self.push(conn, dir, frame.to_owned());
    }

    /// Records a binary frame.
    pub fn binary(&self, conn: u32, dir: Direction, frame: &[u8]) {
        let mut s = String::with_capacity(2 + frame.len() * 2);
        s.push_str("0x");
        for b in frame {
            s.push_str(&format!("{b:02x}"));
        }
        self.push(conn, dir, s);
    }

    /// Records a note (connection closed, HTTP status, what the case expected).
    pub fn note(&self, conn: u32, note: impl Into<String>) {
        self.push(conn, Direction::Note, note.into());
    }

    fn push(&self, conn: u32, dir: Direction, mut frame: String) {
        if frame.chars().count() > MAX_FRAME_CHARS {
            let len = frame.len();
            frame = frame.chars().take(MAX_FRAME_CHARS).collect();
            frame.push_str(&format!("… ({len} bytes in all)"));
        }
        let at_ms = self.start.elapsed().as_secs_f64() * 1000.0;
        let mut inner = self.inner.lock().unwrap();
        if inner.entries.len() < MAX_ENTRIES {
            inner.entries.push(Entry {
                at_ms,
                conn,
                dir,
                frame,
            });
        } else if inner.entries.len() == MAX_ENTRIES {
            inner.entries.push(Entry {
                at_ms,
                conn: 0,
                dir: Direction::Note,
                frame: "transcript full: later frames not kept".into(),
            });
        }
    }

    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.inner.lock().unwrap().entries.clone()
    }
}
