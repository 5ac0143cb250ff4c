//! The hot path of each protocol the generator speaks: requests written
//! straight into the connection's write buffer, and the classification of
//! server frames without parsing JSON (an answer is recognised by its
//! prefix and id). Socket.IO and SocketCluster are here; the plain-TCP
//! protocols are in [`crate::tcp`].

use std::io::Write as _;

use crate::wire::{Out, Wire};

/// What a server frame is to the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Got {
    /// The answer to request `id`.
    Answer(u64),
    /// Request `id` was refused (ASSA: `success: false`, or an ERROR naming it).
    Refused(u64),
    /// A fan-out delivery whose payload says it was sent at this many
    /// microseconds after the Unix epoch.
    Delivery(u64),
    /// A heartbeat to answer ([`Dialect::pong`]).
    Ping,
    /// An error that names no request of the hot path.
    ServerError,
    /// The server ends the session.
    Closing,
    /// Anything else (events the scenario does not count).
    Other,
}

/// The protocol a run speaks, with what it needs to know of the target.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialect {
    /// Engine.IO 4 / Socket.IO 5 over WebSocket, against the echo app
    /// (`message-with-ack` is acknowledged with its arguments) and its room
    /// events (`join`, `room-message` to every member, the sender included).
    Socketio {
        /// `ws://host:port/socket.io/?EIO=4&transport=websocket`.
        url: String,
    },
    /// SocketCluster protocol 1 over WebSocket: the `echo` procedure, `#subscribe` and `#publish`.
    Socketcluster {
        /// `ws://host:port/socketcluster/`.
        url: String,
        /// The target's name of the echo procedure.
        echo: String,
    },
    /// A protocol over plain TCP (ASSA, the loopback baseline): its own connection loop.
    Tcp(crate::tcp::TcpDialect),
}

/// Why a connection could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnError {
    /// The error kind the report counts (`connect-failed`, `handshake-refused`, ...).
    pub kind: &'static str,
    /// What happened.
    pub detail: String,
}

impl ConnError {
    pub(crate) fn new(kind: &'static str, detail: impl std::fmt::Display) -> ConnError {
        ConnError {
            kind,
            detail: detail.to_string(),
        }
    }
}

/// The marker before the send time in a fan-out payload.
pub(crate) const STAMP: &str = "~T";

impl Dialect {
    /// The dialect of `protocol` at its target in `targets` (the target
    /// configuration of `chatspec run`).
    pub fn from_targets(
        targets: &suites::target::Targets,
        protocol: protocols::Protocol,
    ) -> anyhow::Result<Dialect> {
        use suites::target::{SocketclusterTarget, SocketioTarget};
        match protocol {
            protocols::Protocol::Socketio => {
                let t = targets
                    .get::<SocketioTarget>()
                    .ok_or_else(|| anyhow::anyhow!("no socketio target given"))?;
                anyhow::ensure!(
                    t.engineio.contains(&4),
                    "the generator speaks Engine.IO 4; the target speaks only {:?}",
                    t.engineio
                );
                let ws = t
                    .url
                    .replacen("https://", "wss://", 1)
                    .replacen("http://", "ws://", 1);
                Ok(Dialect::Socketio {
                    url: format!("{ws}{}?EIO=4&transport=websocket", t.path),
                })
            }
            protocols::Protocol::Socketcluster => {
                let t = targets
                    .get::<SocketclusterTarget>()
                    .ok_or_else(|| anyhow::anyhow!("no socketcluster target given"))?;
                anyhow::ensure!(
                    t.protocol_version == 1,
                    "the generator speaks SocketCluster protocol 1; the target speaks {}",
                    t.protocol_version
                );
                Ok(Dialect::Socketcluster {
                    url: t.url.clone(),
                    echo: t.procedures.echo.clone().unwrap_or_else(|| "echo".into()),
                })
            }
            protocols::Protocol::Assa => {
                let t = targets
                    .get::<suites::target::AssaTarget>()
                    .ok_or_else(|| anyhow::anyhow!("no assa target given"))?;
                anyhow::ensure!(
                    t.users.jwt_secret.is_some() || !t.users.tokens.is_empty(),
                    "the generator needs the assa target's users.jwt_secret (it mints a user per \
                     client) or users.tokens (one per client); it does not provision users"
                );
                Ok(Dialect::Tcp(crate::tcp::TcpDialect::Assa(Box::new(
                    crate::tcp::AssaBench {
                        first_user: t.first_fresh_user_id(),
                        target: t.clone(),
                    },
                ))))
            }
            other => anyhow::bail!(
                "no bench for {} yet (benches exist for: socketio, socketcluster, assa)",
                other.id()
            ),
        }
    }

    /// The protocol's id.
    pub fn protocol(&self) -> &'static str {
        match self {
            Dialect::Socketio { .. } => "socketio",
            Dialect::Socketcluster { .. } => "socketcluster",
            Dialect::Tcp(t) => t.protocol(),
        }
    }

    /// The URL it connects to.
    pub fn url(&self) -> &str {
        match self {
            Dialect::Socketio { url } | Dialect::Socketcluster { url, .. } => url,
            Dialect::Tcp(t) => t.url(),
        }
    }

    /// How messages are delimited on its connections.
    pub(crate) fn wire(&self) -> Wire {
        match self {
            Dialect::Socketio { .. } | Dialect::Socketcluster { .. } => Wire::WebSocket,
            Dialect::Tcp(t) => t.wire(),
        }
    }

    /// The first request id after the handshake (SocketCluster's handshake used cid 1).
    pub fn first_id(&self) -> u64 {
        match self {
            Dialect::Socketio { .. } | Dialect::Tcp(_) => 0,
            Dialect::Socketcluster { .. } => 2,
        }
    }

    /// The handshake's first request, if the client speaks first (SocketCluster's `#handshake`, cid 1).
    pub(crate) fn hello(&self, out: &mut Out) {
        if let Dialect::Socketcluster { .. } = self {
            out.frame(|o| o.extend_from_slice(br##"{"event":"#handshake","data":{},"cid":1}"##));
        }
    }

    /// A request answered by the server with the same `payload` (a JSON string's content).
    pub(crate) fn request(&self, out: &mut Out, id: u64, payload: &str) {
        out.frame(|o| match self {
            Dialect::Socketio { .. } => {
                o.extend_from_slice(b"42");
                number(o, id);
                o.extend_from_slice(br#"["message-with-ack",""#);
                o.extend_from_slice(payload.as_bytes());
                o.extend_from_slice(br#""]"#);
            }
            Dialect::Socketcluster { echo, .. } => {
                o.extend_from_slice(br#"{"event":""#);
                o.extend_from_slice(echo.as_bytes());
                o.extend_from_slice(br#"","data":""#);
                o.extend_from_slice(payload.as_bytes());
                o.extend_from_slice(br#"","cid":"#);
                number(o, id);
                o.push(b'}');
            }
            Dialect::Tcp(t) => t.echo(o, id, payload),
        });
    }

    /// A subscription to `room` (Socket.IO: `join`), answered with id `id`.
    pub(crate) fn subscribe(&self, out: &mut Out, id: u64, room: &str) {
        out.frame(|o| {
            let _ = match self {
                Dialect::Socketcluster { .. } => write!(
                    o,
                    r##"{{"event":"#subscribe","data":{{"channel":"{room}"}},"cid":{id}}}"##
                ),
                Dialect::Socketio { .. } => write!(o, r#"42{id}["join","{room}"]"#),
                // ASSA's rooms are set up by `tcp::room`.
                Dialect::Tcp(_) => Ok(()),
            };
        });
    }

    /// A publication to `room` (Socket.IO: `room-message`), acknowledged
    /// with id `id`, whose payload carries the send time (`sent_us` after
    /// the Unix epoch) and is padded to `size` bytes.
    pub(crate) fn publish(&self, out: &mut Out, id: u64, room: &Room, sent_us: u64, size: usize) {
        if let Dialect::Tcp(t) = self {
            return t.send_message(out, id, room, sent_us, size);
        }
        out.frame(|o| {
            let name = &room.name;
            let _ = match self {
                Dialect::Socketcluster { .. } => write!(
                    o,
                    r##"{{"event":"#publish","data":{{"channel":"{name}","data":"{STAMP}{sent_us}~"##
                ),
                _ => write!(
                    o,
                    r#"42{id}["room-message",{{"room":"{name}","data":"{STAMP}{sent_us}~"#
                ),
            };
            pad(o, sent_us, size);
            let _ = match self {
                Dialect::Socketcluster { .. } => write!(o, r#""}},"cid":{id}}}"#),
                _ => write!(o, r#""}}]"#),
            };
        });
    }

    /// Answers the heartbeat `frame`.
    pub(crate) fn pong(&self, out: &mut Out, frame: &[u8]) {
        match self {
            Dialect::Socketio { .. } => out.frame(|o| o.push(b'3')),
            Dialect::Socketcluster { .. } => out.frame(|o| o.extend_from_slice(b"#2")),
            Dialect::Tcp(t) => t.pong(out, frame),
        }
    }

    /// What a message from the server is.
    pub fn classify(&self, frame: &[u8]) -> Got {
        match self {
            Dialect::Socketio { .. } => {
                if frame == b"2" {
                    Got::Ping
                } else if frame.starts_with(br#"42["room-message","#) {
                    stamp(frame)
                } else if let Some(rest) = frame.strip_prefix(b"43") {
                    leading_number(rest).map_or(Got::Other, Got::Answer)
                } else if frame == b"1" || frame.starts_with(b"41") {
                    Got::Closing
                } else {
                    Got::Other
                }
            }
            Dialect::Socketcluster { .. } => {
                if frame == b"#1" {
                    Got::Ping
                } else if frame.starts_with(br##"{"event":"#publish""##) {
                    stamp(frame)
                } else if frame.starts_with(br##"{"event":"#disconnect""##) {
                    Got::Closing
                } else if let Some(at) = find(frame, br#""rid":"#) {
                    leading_number(&frame[at + 6..]).map_or(Got::Other, Got::Answer)
                } else {
                    Got::Other
                }
            }
            Dialect::Tcp(t) => t.classify(frame),
        }
    }

    /// What the handshake waits for: Socket.IO's Engine.IO open, then the
    /// CONNECT of `/` (`Ok(true)`: done; a CONNECT_ERROR is an `Err`);
    /// SocketCluster's answer to `#handshake`. `None`: not yet.
    pub(crate) fn handshake_step(&self, frame: &[u8]) -> Option<Result<bool, String>> {
        match self {
            Dialect::Socketio { .. } if frame.starts_with(b"0") => Some(Ok(false)),
            Dialect::Socketio { .. } if frame.starts_with(b"40") => Some(Ok(true)),
            Dialect::Socketio { .. } if frame.starts_with(b"44") => {
                Some(Err(String::from_utf8_lossy(frame).into_owned()))
            }
            Dialect::Socketcluster { .. } if self.classify(frame) == Got::Answer(1) => {
                Some(if find(frame, br#""error""#).is_some() {
                    Err(String::from_utf8_lossy(frame).into_owned())
                } else {
                    Ok(true)
                })
            }
            _ => None,
        }
    }

    /// What the client says once the server opened the session (Socket.IO: CONNECT `/`).
    pub(crate) fn after_open(&self, out: &mut Out) {
        if let Dialect::Socketio { .. } = self {
            out.frame(|o| o.extend_from_slice(b"40"));
        }
    }
}

/// The room a connection publishes to and receives from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Room {
    /// Its name (Socket.IO, SocketCluster).
    pub(crate) name: String,
    /// ASSA: its id, and the session's user id.
    pub(crate) id: u64,
    pub(crate) user: u64,
    /// ASSA: the `timestamp` of the sends of one burst.
    pub(crate) timestamp: String,
}

/// Appends `n` in decimal.
pub(crate) fn number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Pads a stamped payload (`~T<sent_us>~`) to `size` bytes.
pub(crate) fn pad(out: &mut Vec<u8>, sent_us: u64, size: usize) {
    let stamp_len = STAMP.len() + digits(sent_us) + 1;
    out.resize(out.len() + size.saturating_sub(stamp_len), b'x');
}

/// Where `needle` first occurs in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A fan-out delivery, by the send time stamped into its payload.
pub(crate) fn stamp(frame: &[u8]) -> Got {
    find(frame, STAMP.as_bytes())
        .and_then(|at| leading_number(&frame[at + STAMP.len()..]))
        .map_or(Got::Other, Got::Delivery)
}

pub(crate) fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// The decimal number `text` starts with.
pub(crate) fn leading_number(text: &[u8]) -> Option<u64> {
    let end = text
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(text.len());
    if end == 0 || end > 19 {
        return None;
    }
    Some(
        text[..end]
            .iter()
            .fold(0, |n, &d| n * 10 + u64::from(d - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sio() -> Dialect {
        Dialect::Socketio { url: String::new() }
    }

    fn sc() -> Dialect {
        Dialect::Socketcluster {
            url: String::new(),
            echo: "echo".into(),
        }
    }

    /// The messages `write` puts into a buffer, one per line.
    fn written(write: impl FnOnce(&mut Out)) -> String {
        let mut out = Out::new(Wire::Lines, 1);
        write(&mut out);
        String::from_utf8(out.buf).unwrap().trim_end().to_owned()
    }

    fn room(name: &str) -> Room {
        Room {
            name: name.into(),
            ..Room::default()
        }
    }

    #[test]
    fn socketio_requests_and_answers() {
        let out = written(|o| sio().request(o, 17, "xx"));
        assert_eq!(out, r#"4217["message-with-ack","xx"]"#);
        assert_eq!(sio().classify(br#"4317["xx"]"#), Got::Answer(17));
        assert_eq!(sio().classify(b"2"), Got::Ping);
        assert_eq!(written(|o| sio().pong(o, b"2")), "3");
        assert_eq!(sio().classify(br#"42["auth",{}]"#), Got::Other);
        assert_eq!(sio().classify(b"41"), Got::Closing);
        assert_eq!(sio().classify(b"43[]"), Got::Other);
        assert_eq!(sio().handshake_step(b"0{}"), Some(Ok(false)));
        assert_eq!(sio().handshake_step(b"40{}"), Some(Ok(true)));
        assert!(matches!(sio().handshake_step(b"44{}"), Some(Err(_))));
        assert_eq!(sio().handshake_step(b"2"), None);
    }

    #[test]
    fn socketio_rooms_joins_messages_and_deliveries() {
        assert_eq!(
            written(|o| sio().subscribe(o, 3, "r1")),
            r#"423["join","r1"]"#
        );
        assert_eq!(sio().classify(b"433[true]"), Got::Answer(3));
        let out = written(|o| sio().publish(o, 9, &room("r0"), 1234, 12));
        assert_eq!(
            out,
            r#"429["room-message",{"room":"r0","data":"~T1234~xxxxx"}]"#
        );
        // The reference server sorts the keys, Node keeps their order.
        for delivery in [
            r#"42["room-message",{"data":"~T1234~xxxxx","room":"r0"}]"#,
            r#"42["room-message",{"room":"r0","data":"~T1234~xxxxx"}]"#,
        ] {
            assert_eq!(sio().classify(delivery.as_bytes()), Got::Delivery(1234));
        }
        assert_eq!(
            sio().classify(br#"42["message-back","~T1234~"]"#),
            Got::Other
        );
    }

    #[test]
    fn socketcluster_requests_publications_and_deliveries() {
        let out = written(|o| sc().request(o, 5, "ab"));
        assert_eq!(out, r#"{"event":"echo","data":"ab","cid":5}"#);
        assert_eq!(sc().classify(br#"{"rid":5,"data":"ab"}"#), Got::Answer(5));
        assert_eq!(sc().classify(b"#1"), Got::Ping);
        assert_eq!(written(|o| sc().pong(o, b"#1")), "#2");
        let out = written(|o| sc().publish(o, 9, &room("r0"), 1234, 12));
        assert_eq!(
            out,
            r##"{"event":"#publish","data":{"channel":"r0","data":"~T1234~xxxxx"},"cid":9}"##
        );
        let delivery = br##"{"event":"#publish","data":{"channel":"r0","data":"~T1234~xxxxx"}}"##;
        assert_eq!(sc().classify(delivery), Got::Delivery(1234));
        assert_eq!(
            sc().handshake_step(br#"{"rid":1,"data":{"id":"a"}}"#),
            Some(Ok(true))
        );
        assert!(matches!(
            sc().handshake_step(br#"{"rid":1,"error":{}}"#),
            Some(Err(_))
        ));
        assert_eq!(sc().handshake_step(br#"{"rid":12}"#), None);
    }

    #[test]
    fn numbers_are_read_without_overflow() {
        assert_eq!(leading_number(b"17]"), Some(17));
        assert_eq!(leading_number(b"]"), None);
        assert_eq!(leading_number(b"99999999999999999999"), None);
    }
}
