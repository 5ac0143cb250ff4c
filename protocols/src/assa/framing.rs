//! Message boundaries on the ASSA TCP stream, which the document leaves
//! unsaid (specs/README.md, silent spots: assa framing).
//!
//! - [`Framing::JsonStream`] (the default): a stream of JSON objects,
//!   newline-delimited or simply concatenated, with any JSON whitespace
//!   between them. [`encode`] writes one object per line (`\n`).
//! - [`Framing::LengthPrefixed`]: each JSON message preceded by its length
//!   in bytes, 4 bytes big-endian.
//!
//! The [`Decoder`] is incremental and sans-IO, for servers and clients
//! alike: [`Decoder::feed`] the bytes read, then call
//! [`Decoder::next_frame`] until it returns `Ok(None)` ("need more
//! bytes"). It scans every byte once (position, nesting depth and string
//! state are kept between feeds), so the work is linear in the stream.
//!
//! A frame over the limit ([`limits::MAX_MESSAGE_BYTES`](super::limits::MAX_MESSAGE_BYTES)
//! unless configured) is refused with `frame-too-large` before more than
//! the limit is buffered: in a JSON stream as soon as the value not yet
//! complete is longer than the limit, with a length prefix as soon as the
//! header announces more. Drained after every feed, the decoder holds at
//! most the limit plus the chunk just fed.
//!
//! Errors are final. A JSON stream has no reliable resynchronisation
//! point, so after a malformed value (one that `serde_json` refuses, a
//! top-level value that is not an object, or an oversized one) the decoder
//! returns the same error from every later call and drops what it is fed;
//! the peer is expected to send an `ERROR` if it can and close the
//! connection. With a length prefix the frames are handed out unparsed
//! (a malformed payload does not break the framing, and `decode` reports
//! it); only an oversized announcement is final.

use super::{limits::MAX_MESSAGE_BYTES, Error, Message};
use crate::rules::{CommonError, EncodeError};

/// How messages are delimited on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Framing {
    /// JSON objects one after another, newline-delimited or concatenated.
    #[default]
    JsonStream,
    /// A 4-byte big-endian length, then that many bytes of JSON.
    LengthPrefixed,
}

/// The bytes of one message on the wire: a JSON line, or a length prefix and the JSON.
pub fn encode(framing: Framing, message: &Message) -> Result<Vec<u8>, EncodeError> {
    Ok(encode_payload(framing, &serde_json::to_vec(message)?))
}

/// Frames an already encoded JSON payload (for fuzzers and raw tests).
/// A payload over 4 GiB cannot be length-prefixed; its prefix is clamped.
pub fn encode_payload(framing: Framing, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    match framing {
        Framing::JsonStream => {
            out.extend_from_slice(payload);
            out.push(b'\n');
        }
        Framing::LengthPrefixed => {
            let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(payload);
        }
    }
    out
}

/// An incremental frame decoder.
#[derive(Debug, Clone)]
pub struct Decoder {
    framing: Framing,
    max_frame: usize,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Start of the bytes not yet handed out (a frame in progress, or whitespace).
    start: usize,
    /// JSON stream: next byte to scan.
    pos: usize,
    /// JSON stream: nesting depth of the value in progress (0 between values).
    depth: usize,
    /// JSON stream: inside a string.
    in_string: bool,
    /// JSON stream: the previous byte was a backslash inside a string.
    escape: bool,
    /// Length prefix: the announced length of the frame in progress.
    want: Option<usize>,
    failed: Option<Error>,
}

impl Decoder {
    /// A decoder refusing frames over [`limits::MAX_MESSAGE_BYTES`](super::limits::MAX_MESSAGE_BYTES).
    pub fn new(framing: Framing) -> Self {
        Decoder::with_max_frame(framing, MAX_MESSAGE_BYTES)
    }

    /// A decoder refusing frames over `max_frame` bytes of JSON.
    pub fn with_max_frame(framing: Framing, max_frame: usize) -> Self {
        Decoder {
            framing,
            max_frame,
            buf: Vec::new(),
            base: 0,
            start: 0,
            pos: 0,
            depth: 0,
            in_string: false,
            escape: false,
            want: None,
            failed: None,
        }
    }

    /// The framing read.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The frame limit in bytes.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Bytes held: the frame in progress and what was fed since (after a
    /// feed, frames already handed out are no longer held).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The error that stopped the decoder, if any.
    pub fn error(&self) -> Option<&Error> {
        self.failed.as_ref()
    }

    /// Stream offset of the first byte not yet handed out in a frame
    /// (where a failed or truncated frame begins).
    pub fn unread_offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Adds bytes read from the stream. Ignored once the decoder has failed.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.base += self.start as u64;
            self.pos = self.pos.saturating_sub(self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame's bytes (JSON, without delimiter or prefix);
    /// `Ok(None)` when more bytes are needed; `Err` when the stream is broken.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .next_span()?
            .map(|(offset, len)| {
                let start = (offset - self.base) as usize;
                self.buf.get(start..start + len).map(<[u8]>::to_vec)
            })
            .and_then(|frame| frame))
    }

    /// Like [`Decoder::next_frame`], but gives the frame's stream offset and
    /// length; its bytes stay readable until the next feed.
    pub fn next_span(&mut self) -> Result<Option<(u64, usize)>, Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = match self.framing {
            Framing::JsonStream => self.scan_json(),
            Framing::LengthPrefixed => self.scan_prefixed(),
        };
        if let Err(e) = &result {
            self.failed = Some(e.clone());
            self.buf.truncate(self.start);
            self.buf.shrink_to_fit();
        }
        result
    }

    fn too_large(&self, size: u64) -> Error {
        Error::FrameTooLarge {
            size,
            limit: self.max_frame,
        }
    }

    fn scan_json(&mut self) -> Result<Option<(u64, usize)>, Error> {
        while self.pos < self.buf.len() {
            if self.in_string && !self.escape {
                // Inside a string only a quote or a backslash changes the
                // state: skip to the next one (a megabyte of content is
                // one search, not a megabyte of turns of this loop), but
                // never past the frame limit, which is checked below.
                let limit = self
                    .start
                    .saturating_add(self.max_frame)
                    .min(self.buf.len());
                if self.pos < limit {
                    self.pos += memchr::memchr2(b'"', b'\\', &self.buf[self.pos..limit])
                        .unwrap_or(limit - self.pos);
                }
                if self.pos >= self.buf.len() {
                    break;
                }
            }
            let i = self.pos;
            let b = self.buf[i];
            self.pos += 1;
            if self.depth == 0 {
                match b {
                    b' ' | b'\t' | b'\n' | b'\r' => self.start = self.pos,
                    b'{' => {
                        self.start = i;
                        self.depth = 1;
                    }
                    _ => {
                        self.start = i;
                        return Err(Error::NotAnObject);
                    }
                }
            } else if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth = self.depth.saturating_add(1),
                    b'}' | b']' => self.depth -= 1,
                    _ => {}
                }
            }
            // Between values `start` follows `pos`, so `len` is the length of
            // the value in progress.
            let len = self.pos - self.start;
            if len > self.max_frame {
                return Err(self.too_large(len as u64));
            }
            if self.depth == 0 && matches!(b, b'}' | b']') {
                let frame = &self.buf[self.start..self.pos];
                if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(frame) {
                    return Err(CommonError::InvalidJson {
                        reason: e.to_string(),
                        spec: super::S1_1,
                    }
                    .into());
                }
                let span = (self.base + self.start as u64, len);
                self.start = self.pos;
                return Ok(Some(span));
            }
        }
        Ok(None)
    }

    fn scan_prefixed(&mut self) -> Result<Option<(u64, usize)>, Error> {
        let want = match self.want {
            Some(want) => want,
            None => {
                let Some(header) = self.buf.get(self.start..self.start + 4) else {
                    return Ok(None);
                };
                let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
                let len = len as usize;
                if len > self.max_frame {
                    return Err(self.too_large(len as u64));
                }
                self.start += 4;
                self.want = Some(len);
                len
            }
        };
        if self.buf.len() - self.start < want {
            return Ok(None);
        }
        let span = (self.base + self.start as u64, want);
        self.start += want;
        self.want = None;
        Ok(Some(span))
    }
}
