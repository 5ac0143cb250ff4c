//! The hot path of each protocol the generator speaks: the handshake, and
//! pre-encoded request frames and the classification of server frames
//! without parsing JSON (an answer is recognised by its prefix and id).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A connection of the generator.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a server frame is to the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// A heartbeat to answer with this text.
    Ping(&'static str),
    /// The answer to request `id`.
    Answer(u64),
    /// A fan-out delivery whose payload says it was sent at this many
    /// microseconds after the Unix epoch.
    Delivery(u64),
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

    /// Opens a connection and completes the handshake (Socket.IO: the
    /// Engine.IO open and the CONNECT of `/`; SocketCluster: `#handshake`)
    /// within `wait`.
    pub async fn connect(&self, wait: Duration) -> Result<Ws, ConnError> {
        if let Dialect::Tcp(t) = self {
            return Err(ConnError::new(
                "connect-failed",
                format!("{} speaks plain TCP, not WebSocket", t.protocol()),
            ));
        }
        // Small buffers: ten thousand idle connections stay cheap for the generator.
        let config = WebSocketConfig::default()
            .read_buffer_size(16 * 1024)
            .write_buffer_size(16 * 1024);
        let opened = tokio_tungstenite::connect_async_with_config(self.url(), Some(config), true);
        let (mut ws, _) = tokio::time::timeout(wait, opened)
            .await
            .map_err(|_| ConnError::new("connect-timeout", "no WebSocket within the wait"))?
            .map_err(|e| ConnError::new("connect-failed", e))?;
        let handshake = async {
            match self {
                Dialect::Socketio { .. } => {
                    expect(&mut ws, |t| t.starts_with('0'), "3").await?;
                    send(&mut ws, "40".to_owned()).await?;
                    expect(&mut ws, |t| t.starts_with("40") || t.starts_with("44"), "3")
                        .await
                        .and_then(|t| {
                            if t.starts_with("44") {
                                Err(ConnError::new("handshake-refused", t))
                            } else {
                                Ok(())
                            }
                        })
                }
                Dialect::Socketcluster { .. } => {
                    send(
                        &mut ws,
                        r##"{"event":"#handshake","data":{},"cid":1}"##.to_owned(),
                    )
                    .await?;
                    let answer = expect(&mut ws, |t| t.contains(r#""rid":1"#), "#2").await?;
                    if answer.contains(r#""error""#) {
                        return Err(ConnError::new("handshake-refused", answer));
                    }
                    Ok(())
                }
                Dialect::Tcp(_) => Ok(()),
            }
        };
        tokio::time::timeout(wait, handshake).await.map_err(|_| {
            ConnError::new("handshake-timeout", "no handshake answer within the wait")
        })??;
        Ok(ws)
    }

    /// The first request id after the handshake (SocketCluster's handshake used cid 1).
    pub fn first_id(&self) -> u64 {
        match self {
            Dialect::Socketio { .. } | Dialect::Tcp(_) => 0,
            Dialect::Socketcluster { .. } => 2,
        }
    }

    /// A request answered by the server with the same `payload` (a JSON string's content).
    pub fn request(&self, out: &mut String, id: u64, payload: &str) {
        use std::fmt::Write;
        out.clear();
        // Writing into a String cannot fail.
        let _ = match self {
            Dialect::Socketio { .. } => write!(out, r#"42{id}["message-with-ack","{payload}"]"#),
            Dialect::Socketcluster { echo, .. } => {
                write!(out, r#"{{"event":"{echo}","data":"{payload}","cid":{id}}}"#)
            }
            // Its requests are written by its own loop.
            Dialect::Tcp(_) => Ok(()),
        };
    }

    /// A subscription to `room` (Socket.IO: `join`), answered with id `id`.
    pub fn subscribe(&self, id: u64, room: &str) -> String {
        match self {
            Dialect::Socketcluster { .. } => {
                format!(r##"{{"event":"#subscribe","data":{{"channel":"{room}"}},"cid":{id}}}"##)
            }
            Dialect::Socketio { .. } => format!(r#"42{id}["join","{room}"]"#),
            Dialect::Tcp(_) => String::new(),
        }
    }

    /// A publication to `room` (Socket.IO: `room-message`), acknowledged
    /// with id `id`, whose payload carries the send time (`sent_us` after
    /// the Unix epoch) and is padded to `size` bytes.
    pub fn publish(&self, out: &mut String, id: u64, room: &str, sent_us: u64, size: usize) {
        use std::fmt::Write;
        out.clear();
        // Writing into a String cannot fail.
        let _ = match self {
            // The TCP dialects publish through their own connections (`tcp.rs`).
            Dialect::Tcp(_) => return,
            Dialect::Socketcluster { .. } => write!(
                out,
                r##"{{"event":"#publish","data":{{"channel":"{room}","data":"{STAMP}{sent_us}~"##
            ),
            Dialect::Socketio { .. } => write!(
                out,
                r#"42{id}["room-message",{{"room":"{room}","data":"{STAMP}{sent_us}~"#
            ),
        };
        let stamp_len = STAMP.len() + digits(sent_us) + 1;
        for _ in stamp_len..size {
            out.push('x');
        }
        let _ = match self {
            Dialect::Socketcluster { .. } => write!(out, r#""}},"cid":{id}}}"#),
            Dialect::Socketio { .. } => write!(out, r#""}}]"#),
            Dialect::Tcp(_) => Ok(()),
        };
    }

    /// What a text frame from the server is.
    pub fn classify(&self, text: &str) -> Incoming {
        match self {
            Dialect::Socketio { .. } => {
                if text == "2" {
                    Incoming::Ping("3")
                } else if text.starts_with(r#"42["room-message","#) {
                    stamp(text)
                } else if let Some(rest) = text.strip_prefix("43") {
                    leading_number(rest).map_or(Incoming::Other, Incoming::Answer)
                } else if text == "1" || text.starts_with("41") {
                    Incoming::Closing
                } else {
                    Incoming::Other
                }
            }
            Dialect::Socketcluster { .. } => {
                if text == "#1" {
                    Incoming::Ping("#2")
                } else if text.starts_with(r##"{"event":"#publish""##) {
                    stamp(text)
                } else if text.starts_with(r##"{"event":"#disconnect""##) {
                    Incoming::Closing
                } else if let Some(at) = text.find(r#""rid":"#) {
                    leading_number(&text[at + 6..]).map_or(Incoming::Other, Incoming::Answer)
                } else {
                    Incoming::Other
                }
            }
            Dialect::Tcp(_) => Incoming::Other,
        }
    }
}

/// A fan-out delivery, by the send time stamped into its payload.
fn stamp(text: &str) -> Incoming {
    text.find(STAMP)
        .and_then(|at| leading_number(&text[at + STAMP.len()..]))
        .map_or(Incoming::Other, Incoming::Delivery)
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
pub(crate) fn leading_number(text: &str) -> Option<u64> {
    let end = text
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(text.len());
    text[..end].parse().ok()
}

async fn send(ws: &mut Ws, text: String) -> Result<(), ConnError> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| ConnError::new("closed-by-server", e))
}

/// Reads until a text frame `wanted` accepts (answering pings with `pong`), and returns it.
async fn expect(
    ws: &mut Ws,
    wanted: impl Fn(&str) -> bool,
    pong: &str,
) -> Result<String, ConnError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                if wanted(t.as_str()) {
                    return Ok(t.as_str().to_owned());
                }
                if t.as_str() == "2" || t.as_str() == "#1" {
                    send(ws, pong.to_owned()).await?;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(ConnError::new(
                    "closed-by-server",
                    format!("closed during the handshake: {frame:?}"),
                ))
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(ConnError::new("closed-by-server", e)),
            None => {
                return Err(ConnError::new(
                    "closed-by-server",
                    "closed during the handshake",
                ))
            }
        }
    }
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

    #[test]
    fn socketio_requests_and_answers() {
        let mut out = String::new();
        sio().request(&mut out, 17, "xx");
        assert_eq!(out, r#"4217["message-with-ack","xx"]"#);
        assert_eq!(sio().classify(r#"4317["xx"]"#), Incoming::Answer(17));
        assert_eq!(sio().classify("2"), Incoming::Ping("3"));
        assert_eq!(sio().classify(r#"42["auth",{}]"#), Incoming::Other);
        assert_eq!(sio().classify("41"), Incoming::Closing);
        assert_eq!(sio().classify("43[]"), Incoming::Other);
    }

    #[test]
    fn socketio_rooms_joins_messages_and_deliveries() {
        assert_eq!(sio().subscribe(3, "r1"), r#"423["join","r1"]"#);
        assert_eq!(sio().classify("433[true]"), Incoming::Answer(3));
        let mut out = String::new();
        sio().publish(&mut out, 9, "r0", 1234, 12);
        assert_eq!(
            out,
            r#"429["room-message",{"room":"r0","data":"~T1234~xxxxx"}]"#
        );
        // The reference server sorts the keys, Node keeps their order.
        for delivery in [
            r#"42["room-message",{"data":"~T1234~xxxxx","room":"r0"}]"#,
            r#"42["room-message",{"room":"r0","data":"~T1234~xxxxx"}]"#,
        ] {
            assert_eq!(sio().classify(delivery), Incoming::Delivery(1234));
        }
        assert_eq!(
            sio().classify(r#"42["message-back","~T1234~"]"#),
            Incoming::Other
        );
    }

    #[test]
    fn socketcluster_requests_publications_and_deliveries() {
        let mut out = String::new();
        sc().request(&mut out, 5, "ab");
        assert_eq!(out, r#"{"event":"echo","data":"ab","cid":5}"#);
        assert_eq!(
            sc().classify(r#"{"rid":5,"data":"ab"}"#),
            Incoming::Answer(5)
        );
        assert_eq!(sc().classify("#1"), Incoming::Ping("#2"));
        sc().publish(&mut out, 9, "r0", 1234, 12);
        assert_eq!(
            out,
            r##"{"event":"#publish","data":{"channel":"r0","data":"~T1234~xxxxx"},"cid":9}"##
        );
        let delivery = r##"{"event":"#publish","data":{"channel":"r0","data":"~T1234~xxxxx"}}"##;
        assert_eq!(sc().classify(delivery), Incoming::Delivery(1234));
    }
}
