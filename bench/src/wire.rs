//! Message boundaries on the generator's connections, written and cut
//! without copies: lines, a JSON stream, length prefixes (ASSA, the
//! baseline) and client WebSocket frames (RFC 6455: masked text frames out,
//! the server's frames cut in place), and the WebSocket upgrade.

use std::ops::Range;

use base64::Engine as _;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// How messages are delimited on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    /// Lines (the baseline).
    Lines,
    /// JSON objects one after another (newlines or nothing between them).
    JsonStream,
    /// A 4-byte big-endian length before each message.
    LengthPrefixed,
    /// WebSocket frames (the generator is the client: its frames are masked).
    WebSocket,
}

/// The largest frame the generator holds (ASSA's 1 MB, and some).
pub(crate) const MAX_FRAME: usize = 2 << 20;

/// What the splitter cut out of the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A message (a WebSocket text or binary frame, a line, a JSON object).
    Message(Range<usize>),
    /// A WebSocket ping, to answer with a pong carrying these bytes.
    Ping(Range<usize>),
    /// A WebSocket close frame.
    Close,
}

/// Why the stream cannot be cut any further (an error kind of the report).
pub(crate) type Broken = &'static str;

/// Cuts the frames out of a read buffer, keeping its scan state between reads.
#[derive(Debug)]
pub(crate) struct Splitter {
    wire: Wire,
    /// Start of the frame in progress.
    start: usize,
    /// Next byte to scan.
    pos: usize,
    depth: u32,
    in_string: bool,
    escape: bool,
}

impl Splitter {
    pub(crate) fn new(wire: Wire) -> Splitter {
        Splitter {
            wire,
            start: 0,
            pos: 0,
            depth: 0,
            in_string: false,
            escape: false,
        }
    }

    /// The next complete frame of `buf`, or `None` until more is read.
    pub(crate) fn next(&mut self, buf: &[u8]) -> Result<Option<Frame>, Broken> {
        let found = match self.wire {
            Wire::Lines => self.line(buf).map(Frame::Message),
            Wire::JsonStream => self.json(buf)?.map(Frame::Message),
            Wire::LengthPrefixed => self.prefixed(buf)?.map(Frame::Message),
            Wire::WebSocket => self.websocket(buf)?,
        };
        if found.is_none() && buf.len().saturating_sub(self.start) > MAX_FRAME {
            return Err("frame-too-large");
        }
        Ok(found)
    }

    fn line(&mut self, buf: &[u8]) -> Option<Range<usize>> {
        loop {
            let nl = buf[self.pos..].iter().position(|&b| b == b'\n');
            let Some(nl) = nl else {
                self.pos = buf.len();
                return None;
            };
            let end = self.pos + nl;
            let frame = self.start..end;
            self.start = end + 1;
            self.pos = end + 1;
            if !frame.is_empty() {
                return Some(frame);
            }
        }
    }

    fn json(&mut self, buf: &[u8]) -> Result<Option<Range<usize>>, Broken> {
        while self.pos < buf.len() {
            let b = buf[self.pos];
            self.pos += 1;
            if self.depth == 0 {
                match b {
                    b' ' | b'\t' | b'\n' | b'\r' => self.start = self.pos,
                    b'{' => self.depth = 1,
                    _ => return Err("not-json"),
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
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            let frame = self.start..self.pos;
                            self.start = self.pos;
                            return Ok(Some(frame));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(None)
    }

    fn prefixed(&mut self, buf: &[u8]) -> Result<Option<Range<usize>>, Broken> {
        let Some(header) = buf.get(self.start..self.start + 4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        self.body(buf, 4, len)
    }

    /// A server's WebSocket frame: unmasked, whole (the servers the
    /// generator drives never fragment a message; a fragment is reported).
    fn websocket(&mut self, buf: &[u8]) -> Result<Option<Frame>, Broken> {
        let Some(&[first, second]) = buf.get(self.start..self.start + 2) else {
            return Ok(None);
        };
        if second & 0x80 != 0 {
            return Err("ws-masked-by-server");
        }
        let (header, len) = match second & 0x7f {
            126 => match buf.get(self.start + 2..self.start + 4) {
                Some(b) => (4, u16::from_be_bytes([b[0], b[1]]) as usize),
                None => return Ok(None),
            },
            127 => match buf.get(self.start + 2..self.start + 10) {
                Some(b) => {
                    let mut n = [0; 8];
                    n.copy_from_slice(b);
                    (
                        10,
                        usize::try_from(u64::from_be_bytes(n)).unwrap_or(usize::MAX),
                    )
                }
                None => return Ok(None),
            },
            n => (2, n as usize),
        };
        let Some(body) = self.body(buf, header, len)? else {
            return Ok(None);
        };
        let fin = first & 0x80 != 0;
        Ok(Some(match first & 0x0f {
            1 | 2 if fin => Frame::Message(body),
            0..=2 => return Err("ws-fragmented"),
            8 => Frame::Close,
            9 => Frame::Ping(body),
            // A pong, or an opcode no server sends the generator unasked.
            _ => Frame::Message(0..0),
        }))
    }

    /// The body of `len` bytes after a header of `header` bytes at the frame's start.
    fn body(
        &mut self,
        buf: &[u8],
        header: usize,
        len: usize,
    ) -> Result<Option<Range<usize>>, Broken> {
        if len > MAX_FRAME {
            return Err("frame-too-large");
        }
        let body = self.start + header;
        if buf.len() < body + len {
            return Ok(None);
        }
        self.start = body + len;
        self.pos = self.start;
        Ok(Some(body..body + len))
    }

    /// Drops the frames already handed out from the front of `buf`.
    pub(crate) fn compact(&mut self, buf: &mut Vec<u8>) {
        if self.start > 0 {
            buf.drain(..self.start);
            self.pos -= self.start;
            self.start = 0;
        }
    }
}

/// The write buffer of a connection: whole frames, appended in place.
#[derive(Debug)]
pub(crate) struct Out {
    pub(crate) buf: Vec<u8>,
    wire: Wire,
    /// The state of the masking keys' generator (xorshift).
    key: u32,
}

/// The room a WebSocket frame header may take (2 + 8 length bytes + 4 key bytes).
const WS_HEADER: usize = 14;

impl Out {
    /// An empty buffer; `seed` varies the WebSocket masking keys between connections.
    pub(crate) fn new(wire: Wire, seed: u32) -> Out {
        Out {
            buf: Vec::new(),
            wire,
            key: seed | 1,
        }
    }

    /// Appends one message whose payload `body` writes.
    pub(crate) fn frame(&mut self, body: impl FnOnce(&mut Vec<u8>)) {
        self.framed(0x1, body);
    }

    /// Appends one frame of `opcode` (WebSocket; any other wire ignores the opcode).
    pub(crate) fn framed(&mut self, opcode: u8, body: impl FnOnce(&mut Vec<u8>)) {
        let out = &mut self.buf;
        match self.wire {
            Wire::Lines | Wire::JsonStream => {
                body(out);
                out.push(b'\n');
            }
            Wire::LengthPrefixed => {
                let at = out.len();
                out.extend_from_slice(&[0; 4]);
                body(out);
                let len = u32::try_from(out.len() - at - 4).unwrap_or(u32::MAX);
                out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
            Wire::WebSocket => {
                // The body goes after room for the largest header; the header
                // is then written before it and the gap closed.
                let at = out.len();
                out.resize(at + WS_HEADER, 0);
                body(out);
                let len = out.len() - at - WS_HEADER;
                let mut header = [0u8; WS_HEADER];
                header[0] = 0x80 | opcode;
                let n = if len < 126 {
                    header[1] = 0x80 | len as u8;
                    2
                } else if let Ok(len) = u16::try_from(len) {
                    header[1] = 0x80 | 126;
                    header[2..4].copy_from_slice(&len.to_be_bytes());
                    4
                } else {
                    header[1] = 0x80 | 127;
                    header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
                    10
                };
                self.key ^= self.key << 13;
                self.key ^= self.key >> 17;
                self.key ^= self.key << 5;
                let key = self.key.to_ne_bytes();
                header[n..n + 4].copy_from_slice(&key);
                let header = &header[..n + 4];
                let start = at + WS_HEADER - header.len();
                out[start..at + WS_HEADER].copy_from_slice(header);
                for (i, b) in out[at + WS_HEADER..].iter_mut().enumerate() {
                    *b ^= key[i & 3];
                }
                out.copy_within(start.., at);
                out.truncate(at + header.len() + len);
            }
        }
    }

    /// A WebSocket pong carrying `payload` (the ping's).
    pub(crate) fn pong(&mut self, payload: &[u8]) {
        self.framed(0xA, |o| o.extend_from_slice(payload));
    }

    /// A WebSocket close frame (normal closure); nothing on other wires.
    pub(crate) fn close(&mut self) {
        if self.wire == Wire::WebSocket {
            self.framed(0x8, |o| o.extend_from_slice(&1000u16.to_be_bytes()));
        }
    }
}

/// A `ws://` URL cut into what the upgrade needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WsUrl<'a> {
    /// `host:port` (port 80 when the URL names none).
    pub(crate) addr: String,
    /// The `Host` header.
    pub(crate) host: &'a str,
    /// The path and query.
    pub(crate) path: &'a str,
}

impl WsUrl<'_> {
    pub(crate) fn parse(url: &str) -> Result<WsUrl<'_>, String> {
        let rest = url.strip_prefix("ws://").ok_or_else(|| {
            format!("the generator speaks plain ws:// (no TLS); the target is {url}")
        })?;
        let (host, path) = rest.find('/').map_or((rest, "/"), |at| rest.split_at(at));
        if host.is_empty() {
            return Err(format!("no host in {url}"));
        }
        let addr = if host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        Ok(WsUrl { addr, host, path })
    }
}

/// The upgrade request for `url` with `key` (16 bytes), and the accept
/// value a server must answer with.
pub(crate) fn upgrade_request(url: &WsUrl<'_>, key: [u8; 16]) -> (Vec<u8>, String) {
    let key = base64::engine::general_purpose::STANDARD.encode(key);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        url.path, url.host
    );
    (request.into_bytes(), derive_accept_key(key.as_bytes()))
}

/// The length of the upgrade response at the front of `buf` once it is
/// whole, checked: status 101 and the expected `Sec-WebSocket-Accept`.
pub(crate) fn upgrade_response(buf: &[u8], accept: &str) -> Result<Option<usize>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("101") {
        return Err(format!("the upgrade was refused: {status}"));
    }
    let accepted = lines
        .filter_map(|l| l.split_once(':'))
        .any(|(name, value)| {
            name.trim().eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == accept
        });
    if !accepted {
        return Err("the upgrade answer has no matching Sec-WebSocket-Accept".to_owned());
    }
    Ok(Some(end + 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_in_every_framing() {
        let mut s = Splitter::new(Wire::JsonStream);
        let buf = br#"{"a":"}{"} {"b":[1]}{"c":"#.to_vec();
        assert_eq!(s.next(&buf), Ok(Some(Frame::Message(0..10))));
        assert_eq!(s.next(&buf), Ok(Some(Frame::Message(11..20))));
        assert_eq!(s.next(&buf), Ok(None));
        let mut buf = buf;
        s.compact(&mut buf);
        buf.extend_from_slice(b"1}\n");
        assert_eq!(s.next(&buf), Ok(Some(Frame::Message(0..7))));
        assert_eq!(s.next(&buf), Ok(None));
        assert_eq!(Splitter::new(Wire::JsonStream).next(b"x"), Err("not-json"));

        let mut lines = Splitter::new(Wire::Lines);
        let buf = b"1 a\n\n2 b\n3";
        assert_eq!(lines.next(buf), Ok(Some(Frame::Message(0..3))));
        assert_eq!(lines.next(buf), Ok(Some(Frame::Message(5..8))));
        assert_eq!(lines.next(buf), Ok(None));

        let mut prefixed = Splitter::new(Wire::LengthPrefixed);
        let mut out = Out::new(Wire::LengthPrefixed, 1);
        out.frame(|o| o.extend_from_slice(br#"{"a":1}"#));
        assert_eq!(&out.buf[..4], &[0, 0, 0, 7]);
        assert_eq!(prefixed.next(&out.buf[..6]), Ok(None));
        assert_eq!(prefixed.next(&out.buf), Ok(Some(Frame::Message(4..11))));
    }

    /// Unmasks a client frame the way a server does.
    fn unmask(frame: &[u8]) -> (u8, Vec<u8>) {
        assert_eq!(frame[1] & 0x80, 0x80, "client frames are masked");
        let (len, at) = match frame[1] & 0x7f {
            126 => (u16::from_be_bytes([frame[2], frame[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(frame[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let key = &frame[at..at + 4];
        let body = &frame[at + 4..];
        assert_eq!(body.len(), len);
        let plain = body.iter().enumerate().map(|(i, b)| b ^ key[i & 3]);
        (frame[0], plain.collect())
    }

    #[test]
    fn websocket_frames_are_masked_with_the_right_length() {
        for size in [0, 5, 125, 126, 300, 65_535, 65_536, 70_000] {
            let mut out = Out::new(Wire::WebSocket, 7);
            let payload = vec![b'x'; size];
            out.frame(|o| o.extend_from_slice(&payload));
            let (first, body) = unmask(&out.buf);
            assert_eq!(first, 0x81, "a final text frame");
            assert_eq!(body, payload, "size {size}");
        }
        let mut out = Out::new(Wire::WebSocket, 7);
        out.frame(|o| o.extend_from_slice(b"42"));
        let one = out.buf.len();
        out.pong(b"hi");
        assert_eq!(unmask(&out.buf[one..]), (0x8A, b"hi".to_vec()));
    }

    #[test]
    fn server_websocket_frames_are_cut_in_place() {
        let mut buf = vec![0x81, 2, b'4', b'0', 0x89, 1, b'p', 0x81, 126, 0, 200];
        buf.extend(std::iter::repeat_n(b'y', 200));
        buf.extend_from_slice(&[0x88, 0]);
        let mut s = Splitter::new(Wire::WebSocket);
        assert_eq!(s.next(&buf[..3]), Ok(None));
        assert_eq!(s.next(&buf), Ok(Some(Frame::Message(2..4))));
        assert_eq!(s.next(&buf), Ok(Some(Frame::Ping(6..7))));
        assert_eq!(s.next(&buf), Ok(Some(Frame::Message(11..211))));
        assert_eq!(s.next(&buf), Ok(Some(Frame::Close)));
        assert_eq!(s.next(&buf), Ok(None));
        let fragment = [0x01, 1, b'4'];
        assert_eq!(
            Splitter::new(Wire::WebSocket).next(&fragment),
            Err("ws-fragmented")
        );
        let masked = [0x81, 0x81, 0, 0, 0, 0, b'4'];
        assert_eq!(
            Splitter::new(Wire::WebSocket).next(&masked),
            Err("ws-masked-by-server")
        );
    }

    #[test]
    fn the_upgrade_is_checked() {
        let url = WsUrl::parse("ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket").unwrap();
        assert_eq!(url.addr, "127.0.0.1:3000");
        assert_eq!(url.path, "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(
            WsUrl::parse("ws://example.org").unwrap().addr,
            "example.org:80"
        );
        assert!(WsUrl::parse("wss://example.org/").is_err());
        // The example of RFC 6455 section 1.3.
        let (request, accept) = upgrade_request(&url, *b"the sample nonce");
        let request = String::from_utf8(request).unwrap();
        assert!(request.contains("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let answer = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\
                       sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x010";
        assert_eq!(upgrade_response(&answer[..20], &accept), Ok(None));
        assert_eq!(
            upgrade_response(answer, &accept),
            Ok(Some(answer.len() - 3))
        );
        let wrong = b"HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: x\r\n\r\n";
        assert!(upgrade_response(wrong, &accept).is_err());
        assert!(upgrade_response(b"HTTP/1.1 400 Bad\r\n\r\n", &accept).is_err());
    }
}
