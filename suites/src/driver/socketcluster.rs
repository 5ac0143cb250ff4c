//! A raw SocketCluster client over one WebSocket on the wire: the handshake,
//! events with and without `cid`, responses matched by `rid`, ping and pong of
//! protocol 1 (`#1`/`#2`) and 2 (empty strings), and the close code.
//!
//! It decodes nothing it does not have to: the cases see every server message
//! as its text and JSON value, and check them with the `protocols::socketcluster` codec.

use std::collections::VecDeque;
use std::time::Duration;

use protocols::socketcluster::{ProtocolVersion, SocketCluster};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::DriverError;
use crate::mutate::{Message, PlainJson};
use crate::wire::{Link, WsEvent, WsReceiver, WsSender};

/// What the server sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A ping (`#1`, or the empty string in protocol 2).
    Ping,
    /// A JSON message: an event (`event` field) or a response (`rid` field).
    Json(Value),
    /// Text that is neither a ping nor JSON.
    Other(String),
    /// The connection ended; the close code, when a close frame came.
    Closed(Option<u16>),
}

impl Incoming {
    /// The event name, for an event.
    pub fn event(&self) -> Option<&str> {
        match self {
            Incoming::Json(v) => v.get("event").and_then(Value::as_str),
            _ => None,
        }
    }
}

/// A SocketCluster client connection.
pub struct ScClient {
    tx: WsSender,
    rx: WsReceiver<PlainJson<SocketCluster>>,
    /// The protocol version it speaks.
    pub version: ProtocolVersion,
    /// Whether pings are answered (and not handed out) as they come.
    pub auto_pong: bool,
    /// The handshake response's `data`, once handshaken.
    pub handshake: Option<Value>,
    /// Every raw text the server sent, in order (for format checks).
    pub texts: Vec<String>,
    next_cid: u64,
    backlog: VecDeque<Incoming>,
    closed: Option<Option<u16>>,
    /// An automatic pong that could not be written: the server had already
    /// cut the connection, whose last frames (its close among them) are
    /// still to be read. Reported if no close follows.
    lost_pong: Option<DriverError>,
    wait: Duration,
}

impl ScClient {
    /// Opens the WebSocket to `url`; no handshake yet. Pings are answered automatically.
    pub async fn open(
        link: impl Into<Link>,
        url: &str,
        version: ProtocolVersion,
    ) -> Result<ScClient, DriverError> {
        let link = link.into();
        let wire = link.open(format_args!("SocketCluster {url}"));
        let (tx, rx) = wire.websocket::<PlainJson<SocketCluster>>(url).await?;
        Ok(ScClient {
            tx,
            rx,
            version,
            auto_pong: true,
            handshake: None,
            texts: Vec::new(),
            next_cid: 1,
            backlog: VecDeque::new(),
            closed: None,
            lost_pong: None,
            wait: link.wait,
        })
    }

    /// Opens the WebSocket and handshakes (without a token).
    pub async fn connected(
        link: impl Into<Link>,
        url: &str,
        version: ProtocolVersion,
    ) -> Result<ScClient, DriverError> {
        let mut client = ScClient::open(link, url, version).await?;
        client.handshake(None).await?;
        Ok(client)
    }

    /// How long it waits for one expected message.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// The next call id (1, 2, ... as socketcluster-client counts).
    pub fn cid(&mut self) -> u64 {
        let cid = self.next_cid;
        self.next_cid += 1;
        cid
    }

    /// Sends `#handshake` (with `authToken` when given) and waits for its answer; the
    /// handshake `data` is kept in [`ScClient::handshake`] and returned.
    pub async fn handshake(&mut self, auth_token: Option<&str>) -> Result<Value, DriverError> {
        let data = match auth_token {
            Some(token) => json!({ "authToken": token }),
            None => json!({}),
        };
        let response = self.invoke("#handshake", data).await?;
        let status = response
            .get("data")
            .filter(|d| d.is_object())
            .cloned()
            .ok_or_else(|| {
                DriverError::Protocol(format!(
                    "the #handshake response has no data object: {response}"
                ))
            })?;
        self.handshake = Some(status.clone());
        Ok(status)
    }

    /// Sends one text message as it is.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), DriverError> {
        self.tx.send(Message::Text(text.into())).await
    }

    /// Sends a JSON value.
    pub async fn send_json(&mut self, value: &Value) -> Result<(), DriverError> {
        self.send_text(value.to_string()).await
    }

    /// Emits an event without `cid` (no response expected).
    pub async fn transmit(&mut self, event: &str, data: Value) -> Result<(), DriverError> {
        self.send_json(&json!({ "event": event, "data": data }))
            .await
    }

    /// Emits an event with the next `cid`, not waiting; returns the cid.
    pub async fn emit_with_cid(&mut self, event: &str, data: Value) -> Result<u64, DriverError> {
        let cid = self.cid();
        self.send_json(&json!({ "event": event, "data": data, "cid": cid }))
            .await?;
        Ok(cid)
    }

    /// Emits an event with a `cid` and waits for the response whose `rid` matches it
    /// (the whole response object: `data` or `error`). Other messages are kept for
    /// [`ScClient::next`].
    pub async fn invoke(&mut self, event: &str, data: Value) -> Result<Value, DriverError> {
        let cid = self.emit_with_cid(event, data).await?;
        self.response(&json!(cid)).await
    }

    /// Waits for the response to `rid`, keeping everything else for [`ScClient::next`].
    pub async fn response(&mut self, rid: &Value) -> Result<Value, DriverError> {
        let deadline = Instant::now() + self.wait;
        let mut kept = Vec::new();
        let found = loop {
            match self.read(deadline).await? {
                None => {
                    break Err(DriverError::Timeout(format!(
                        "no response with rid {rid} within {} ms",
                        self.wait.as_millis()
                    )))
                }
                Some(Incoming::Json(v)) if v.get("rid") == Some(rid) => break Ok(v),
                Some(Incoming::Closed(code)) => {
                    break Err(DriverError::Closed(format!(
                        "the connection closed (code {code:?}) before the response to {rid}"
                    )))
                }
                Some(other) => kept.push(other),
            }
        };
        for m in kept.into_iter().rev() {
            self.backlog.push_front(m);
        }
        found
    }

    /// The next server message within `wait` (`None`: nothing came). Pings are answered
    /// and skipped when [`ScClient::auto_pong`] is on.
    pub async fn next(&mut self, wait: Duration) -> Result<Option<Incoming>, DriverError> {
        if let Some(m) = self.backlog.pop_front() {
            return Ok(Some(m));
        }
        self.read(Instant::now() + wait).await
    }

    /// Waits up to `wait` for the event `name`, skipping others; its `data`.
    pub async fn expect_event(&mut self, name: &str, wait: Duration) -> Result<Value, DriverError> {
        let deadline = Instant::now() + wait;
        while let Some(m) = self
            .next(deadline.saturating_duration_since(Instant::now()))
            .await?
        {
            match m {
                Incoming::Closed(code) => {
                    return Err(DriverError::Closed(format!(
                        "the connection closed (code {code:?}) before {name}"
                    )))
                }
                m if m.event() == Some(name) => {
                    let Incoming::Json(v) = m else { continue };
                    return Ok(v.get("data").cloned().unwrap_or(Value::Null));
                }
                _ => {}
            }
        }
        Err(DriverError::Timeout(format!(
            "no {name} event within {} ms",
            wait.as_millis()
        )))
    }

    /// Waits up to `wait` for the connection to end; `Ok(None)` when it is still open.
    /// The outer option is "closed at all", the inner the close code.
    pub async fn closed_within(
        &mut self,
        wait: Duration,
    ) -> Result<Option<Option<u16>>, DriverError> {
        let deadline = Instant::now() + wait;
        loop {
            match self
                .next(deadline.saturating_duration_since(Instant::now()))
                .await?
            {
                Some(Incoming::Closed(code)) => return Ok(Some(code)),
                Some(_) => continue,
                None => return Ok(None),
            }
        }
    }

    /// Drops what was read and kept: the backlog of messages not asked for
    /// yet and the raw texts (a long-lived session's would only grow).
    pub fn forget(&mut self) {
        self.backlog.clear();
        self.texts.clear();
    }

    /// Sends the close frame.
    pub async fn close(&mut self) {
        self.tx.close().await;
    }

    async fn read(&mut self, deadline: Instant) -> Result<Option<Incoming>, DriverError> {
        loop {
            if let Some(code) = self.closed {
                return Ok(Some(Incoming::Closed(code)));
            }
            let event = match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => return self.lost_pong.take().map_or(Ok(None), Err),
                Ok(event) => event,
            };
            let text = match event {
                WsEvent::Closed(_) => {
                    let code = self.rx.close_code();
                    self.closed = Some(code);
                    return Ok(Some(Incoming::Closed(code)));
                }
                WsEvent::Message(Message::Text(text)) => text,
                WsEvent::Message(Message::Binary(bytes)) => {
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            };
            self.texts.push(text.clone());
            if text == self.version.ping() {
                if self.auto_pong {
                    // A client that stopped reading meets the pings it missed
                    // only after the server cut it off: the write fails, and
                    // what follows in the stream says how it ended.
                    if let Err(e) = self.send_text(self.version.pong()).await {
                        self.lost_pong.get_or_insert(e);
                    }
                    continue;
                }
                return Ok(Some(Incoming::Ping));
            }
            return Ok(Some(match serde_json::from_str::<Value>(&text) {
                Ok(v) => Incoming::Json(v),
                Err(_) => Incoming::Other(text),
            }));
        }
    }
}
