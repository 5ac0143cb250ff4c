//! The sans-IO SocketCluster sessions, server end ([`ServerSession`]) and client end
//! ([`ClientSession`]): the handshake, call ids and responses, ping and pong, and the
//! close codes of socketcluster-server / -client.
//!
//! The driver feeds every WebSocket text message with [`ServerSession::handle_text`]
//! and wakes the session at [`ServerSession::poll_timeout`] with
//! [`ServerSession::handle_timeout`]; it then drains [`ServerSession::poll_transmit`]
//! (text to send, or the close frame) and [`ServerSession::poll_event`] (what the
//! application must decide: a handshake to accept, an event to handle). The
//! application answers through [`ServerSession::accept_handshake`],
//! [`ServerSession::respond`], [`ServerSession::emit`] and [`ServerSession::close`].
//!
//! Rules it keeps (`002_57bad640c3a657d6.txt` and socketcluster-server 20):
//!
//! - a message before `#handshake` closes with 4009, no `#handshake` within the
//!   handshake timeout with 4005, a `#handshake` without `cid` with 4008;
//! - a frame that is not JSON, or JSON that is no event or response, is ignored;
//! - every received message resets the inactivity deadline; none for `pingTimeout`
//!   closes with 4001; the session pings (`#1`, or the empty string in protocol 2)
//!   every `ping_interval`;
//! - an event's `cid` is answered at most once ([`ServerSession::respond`] refuses a
//!   second answer or one to a `cid` never received).
//!
//! Time is a [`Duration`] since any origin the driver picks; the session never reads the clock.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::socketcluster::{
    CallId, CloseCode, ErrorObject, Event, EventBody, HandshakeResponse, HandshakeStatus, Message,
    Packet, ProtocolVersion, Response, SocketCluster,
};
use crate::Dialect;

/// The settings of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Ping and pong as protocol 1 (`#1`/`#2`) or 2 (empty strings).
    pub version: ProtocolVersion,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// Inactivity after which the connection is dead (announced in the handshake).
    pub ping_timeout: Duration,
    /// How long a new connection has to send `#handshake`.
    pub handshake_timeout: Duration,
}

/// Behaviours the session can be told to break, for the kill matrix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deviations {
    /// Serve events that arrive before `#handshake` instead of closing with 4009.
    pub serve_before_handshake: bool,
    /// Never close with 4005.
    pub no_handshake_timeout: bool,
    /// Accept a `#handshake` without `cid` (answered with `rid: null`) instead of 4008.
    pub accept_handshake_without_cid: bool,
    /// Never ping.
    pub no_ping: bool,
    /// Never close with 4001.
    pub no_pong_timeout: bool,
    /// Close with 1003 on a frame that is not JSON instead of ignoring it.
    pub close_on_bad_json: bool,
}

/// What the session sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// One text message; its bytes may be shared with other sessions (a publication).
    Text(Arc<str>),
    /// The close frame; nothing follows it.
    Close {
        /// The close code.
        code: u16,
        /// Its reason.
        reason: String,
    },
}

/// What the application must handle.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// A `#handshake` with a `cid`: call [`ServerSession::accept_handshake`].
    Handshake {
        /// Its call id.
        cid: CallId,
        /// The `authToken` it carried, if any.
        auth_token: Option<String>,
    },
    /// An event after the handshake (reserved or custom).
    Event(Event),
    /// A response of the client to an event of the server.
    Response(Response),
    /// The session ended with this close code.
    Closed(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitingHandshake,
    Handshaking,
    Open,
    Closed,
}

/// Why [`ServerSession::respond`] refused an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RespondError {
    /// The `cid` was never received, or is answered already.
    #[error("no event with this cid awaits a response")]
    NotPending,
    /// The data cannot be encoded.
    #[error("cannot encode the response: {0}")]
    Encode(String),
}

/// One client's connection, seen from the server.
#[derive(Debug)]
pub struct ServerSession {
    id: String,
    config: SessionConfig,
    deviations: Deviations,
    state: State,
    handshake_deadline: Duration,
    next_ping: Duration,
    inactive_deadline: Duration,
    pending: HashSet<CallId>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
}

impl ServerSession {
    /// A session opened at `now`, known to the client as `id`.
    pub fn new(id: impl Into<String>, config: SessionConfig, now: Duration) -> Self {
        Self::with_deviations(id, config, Deviations::default(), now)
    }

    /// A session that breaks the behaviours `deviations` names.
    pub fn with_deviations(
        id: impl Into<String>,
        config: SessionConfig,
        deviations: Deviations,
        now: Duration,
    ) -> Self {
        ServerSession {
            id: id.into(),
            config,
            deviations,
            state: State::AwaitingHandshake,
            handshake_deadline: now + config.handshake_timeout,
            next_ping: now + config.ping_interval,
            inactive_deadline: now + config.ping_timeout,
            pending: HashSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The id the handshake announces.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the handshake is done and the session not closed.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the session is closed.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// One WebSocket text message from the client.
    pub fn handle_text(&mut self, text: &str, now: Duration) {
        if self.state == State::Closed {
            return;
        }
        self.inactive_deadline = now + self.config.ping_timeout;
        let kind = match self.config.version {
            ProtocolVersion::V1 => "v1+client",
            ProtocolVersion::V2 => "v2+client",
        };
        let message = match SocketCluster::decode(Some(kind), text.as_bytes()) {
            Ok(message) => message,
            Err(_) => {
                match serde_json::from_str::<Value>(text) {
                    Err(_) if self.deviations.close_on_bad_json => {
                        self.close(CloseCode::UnsupportedData.code(), "not JSON")
                    }
                    Err(_) => {}
                    Ok(value) => self.refused(&value),
                }
                return;
            }
        };
        match message {
            Message::Pong(_) | Message::Ping(_) => {}
            Message::Event(event) => self.handle_event(event),
            Message::Response(response) => self.handle_response(response),
            Message::HandshakeResponse(_) => {}
            Message::Batch(packets) => {
                for packet in packets {
                    match packet {
                        Packet::Event(event) => self.handle_event(event),
                        Packet::Response(response) => self.handle_response(response),
                    }
                    if self.state == State::Closed {
                        return;
                    }
                }
            }
        }
    }

    /// A JSON message the codec refuses: a malformed `#handshake` (one without `cid`
    /// among them) is rejected with 4008, anything else before the handshake closes with
    /// 4009; after it, one with a `cid` is answered with an error and the rest is ignored.
    fn refused(&mut self, value: &Value) {
        let cid = value
            .get("cid")
            .and_then(|cid| serde_json::from_value::<CallId>(cid.clone()).ok());
        let handshake = value.get("event").and_then(Value::as_str) == Some("#handshake");
        match self.state {
            State::AwaitingHandshake
                if handshake && !self.deviations.accept_handshake_without_cid =>
            {
                self.close(
                    CloseCode::HandshakeRejected.code(),
                    "malformed #handshake (a cid is required)",
                )
            }
            State::AwaitingHandshake if handshake => self.open_without_cid(),
            State::Open => {
                let Some(cid) = cid else { return };
                if self.pending.insert(cid.clone()) {
                    let error = ErrorObject::new("InvalidMessageError", "the message is malformed");
                    let _ = self.respond(cid, Err(error));
                }
            }
            State::AwaitingHandshake if !self.deviations.serve_before_handshake => self.close(
                CloseCode::MessageBeforeHandshake.code(),
                "a message arrived before #handshake",
            ),
            _ => {}
        }
    }

    fn handle_event(&mut self, event: Event) {
        match (&event.body, self.state) {
            (EventBody::Handshake(request), State::AwaitingHandshake) => match event.cid {
                Some(cid) => {
                    self.state = State::Handshaking;
                    self.pending.insert(cid.clone());
                    let auth_token = request.auth_token.clone().flatten();
                    self.events
                        .push_back(SessionEvent::Handshake { cid, auth_token });
                }
                None if self.deviations.accept_handshake_without_cid => self.open_without_cid(),
                None => self.close(
                    CloseCode::HandshakeRejected.code(),
                    "#handshake without a cid",
                ),
            },
            (EventBody::Handshake(_), _) => {
                // A second handshake: socketcluster-server ignores it.
            }
            (_, State::AwaitingHandshake | State::Handshaking)
                if !self.deviations.serve_before_handshake =>
            {
                self.close(
                    CloseCode::MessageBeforeHandshake.code(),
                    "a message arrived before #handshake",
                )
            }
            (_, State::Closed) => {}
            _ => {
                if let Some(cid) = &event.cid {
                    self.pending.insert(cid.clone());
                }
                self.events.push_back(SessionEvent::Event(event));
            }
        }
    }

    /// The `accept_handshake_without_cid` deviation: open, answering `rid: null`.
    fn open_without_cid(&mut self) {
        self.state = State::Open;
        let status = serde_json::json!({
            "id": self.id,
            "pingTimeout": millis(self.config.ping_timeout),
            "isAuthenticated": false,
        });
        let text = serde_json::json!({ "rid": null, "data": status }).to_string();
        self.transmits.push_back(Transmit::Text(text.into()));
    }

    fn handle_response(&mut self, response: Response) {
        match self.state {
            State::Open => self.events.push_back(SessionEvent::Response(response)),
            State::Closed => {}
            _ if self.deviations.serve_before_handshake => {}
            _ => self.close(
                CloseCode::MessageBeforeHandshake.code(),
                "a message arrived before #handshake",
            ),
        }
    }

    /// Answers the pending `#handshake`: the session is open.
    pub fn accept_handshake(
        &mut self,
        cid: CallId,
        is_authenticated: bool,
        auth_error: Option<ErrorObject>,
    ) {
        if self.state != State::Handshaking || !self.pending.remove(&cid) {
            return;
        }
        self.state = State::Open;
        let mut response = HandshakeResponse::new(
            cid,
            self.id.clone(),
            millis(self.config.ping_timeout),
            is_authenticated,
        );
        response.data.auth_error = auth_error.map(Some);
        self.push_message(&Message::HandshakeResponse(response));
    }

    /// Answers the event `cid` once: data (`None`: a bare `{rid}`) or an error.
    pub fn respond(
        &mut self,
        cid: CallId,
        result: Result<Option<Value>, ErrorObject>,
    ) -> Result<(), RespondError> {
        if self.state == State::Closed {
            return Ok(());
        }
        if !self.pending.remove(&cid) {
            return Err(RespondError::NotPending);
        }
        let response = match result {
            Ok(data) => Response::ok(cid, data),
            Err(error) => Response::error(cid, error),
        };
        let bytes = SocketCluster::encode(&Message::Response(response))
            .map_err(|e| RespondError::Encode(e.to_string()))?;
        self.push_bytes(bytes);
        Ok(())
    }

    /// Emits an event to the client.
    pub fn emit(&mut self, event: Event) {
        if self.state != State::Closed {
            self.push_message(&Message::Event(event));
        }
    }

    /// Sends text encoded once for several sessions (a publication).
    pub fn send_shared(&mut self, text: Arc<str>) {
        if self.state != State::Closed {
            self.transmits.push_back(Transmit::Text(text));
        }
    }

    /// Closes the session with `code`.
    pub fn close(&mut self, code: u16, reason: &str) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.transmits.push_back(Transmit::Close {
            code,
            reason: reason.to_owned(),
        });
        self.events.push_back(SessionEvent::Closed(code));
    }

    /// The client closed the connection (with `code`, 1005 without one).
    pub fn handle_closed(&mut self, code: u16) {
        if self.state != State::Closed {
            self.state = State::Closed;
            self.events.push_back(SessionEvent::Closed(code));
        }
    }

    /// When the driver must call [`ServerSession::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut deadlines = Vec::with_capacity(3);
        match self.state {
            State::Closed => return None,
            State::AwaitingHandshake if !self.deviations.no_handshake_timeout => {
                deadlines.push(self.handshake_deadline)
            }
            _ => {}
        }
        if !self.deviations.no_ping {
            deadlines.push(self.next_ping);
        }
        if !self.deviations.no_pong_timeout {
            deadlines.push(self.inactive_deadline);
        }
        deadlines.into_iter().min()
    }

    /// Fires what is due at `now`: the handshake timeout, a ping, the inactivity timeout.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.state == State::Closed {
            return;
        }
        if self.state == State::AwaitingHandshake
            && !self.deviations.no_handshake_timeout
            && now >= self.handshake_deadline
        {
            self.close(
                CloseCode::HandshakeTimeout.code(),
                "did not receive #handshake before the timeout",
            );
            return;
        }
        if !self.deviations.no_pong_timeout && now >= self.inactive_deadline {
            self.close(CloseCode::ClientPongTimeout.code(), "client pong timed out");
            return;
        }
        if !self.deviations.no_ping && now >= self.next_ping {
            self.next_ping = now + self.config.ping_interval;
            let ping = self.config.version.ping();
            self.transmits.push_back(Transmit::Text(ping.into()));
        }
    }

    /// The next thing to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        super::pop_or_free(&mut self.transmits)
    }

    /// The next thing the application must handle.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        super::pop_or_free(&mut self.events)
    }

    fn push_message(&mut self, message: &Message) {
        // Only values built from JSON reach here; an unencodable one is dropped, not sent empty.
        if let Ok(bytes) = SocketCluster::encode(message) {
            self.push_bytes(bytes);
        }
    }

    fn push_bytes(&mut self, bytes: Vec<u8>) {
        if let Ok(text) = String::from_utf8(bytes) {
            self.transmits.push_back(Transmit::Text(text.into()));
        }
    }
}

/// What the client end hands the application.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The handshake was answered: the session is open.
    Open(HandshakeStatus),
    /// An event from the server.
    Event(Event),
    /// The one response to an event this client sent with a `cid`.
    Response(Response),
    /// The session ended with this close code.
    Closed(u16),
}

/// One connection, seen from the client: it sends `#handshake` first, answers every
/// ping with a pong, numbers its calls 1, 2, ... (the handshake is 1), hands out each
/// call's response once (a second one, one to no call, or one before the handshake's
/// answer is dropped), sends nothing after it closed, and closes with 4000 when the
/// server sends nothing for the handshake's `pingTimeout`.
#[derive(Debug)]
pub struct ClientSession {
    version: ProtocolVersion,
    state: State,
    /// The `#handshake`'s cid: only a response to it opens (or rejects) the session.
    handshake_cid: CallId,
    next_cid: u64,
    pending: HashSet<CallId>,
    ping_timeout: Option<Duration>,
    deadline: Option<Duration>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ClientEvent>,
}

impl ClientSession {
    /// A session whose WebSocket opened at `now`: `#handshake` (with `auth_token`) is queued.
    pub fn new(version: ProtocolVersion, auth_token: Option<String>, _now: Duration) -> Self {
        let mut session = ClientSession {
            version,
            state: State::AwaitingHandshake,
            handshake_cid: CallId::from(1u64),
            next_cid: 1,
            pending: HashSet::new(),
            ping_timeout: None,
            deadline: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        let cid = session.take_cid();
        session.handshake_cid = cid.clone();
        let event = Event::handshake(cid, Some(auth_token));
        session.push(&Message::Event(event));
        session
    }

    /// Whether the handshake is answered and the session not closed.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    fn take_cid(&mut self) -> CallId {
        let cid = CallId::from(self.next_cid);
        self.next_cid += 1;
        self.pending.insert(cid.clone());
        cid
    }

    fn push(&mut self, message: &Message) {
        if self.state == State::Closed {
            return;
        }
        if let Ok(Ok(text)) = SocketCluster::encode(message).map(String::from_utf8) {
            self.transmits.push_back(Transmit::Text(text.into()));
        }
    }

    /// Emits an event that expects a response; its `cid`.
    pub fn invoke(&mut self, event: &str, data: Value) -> CallId {
        let cid = self.take_cid();
        let mut e = Event::custom(event, Some(data));
        e.cid = Some(cid.clone());
        self.push(&Message::Event(e));
        cid
    }

    /// Emits an event without `cid`.
    pub fn transmit(&mut self, event: &str, data: Value) {
        self.push(&Message::Event(Event::custom(event, Some(data))));
    }

    /// One WebSocket text message from the server.
    pub fn handle_text(&mut self, text: &str, now: Duration) {
        if self.state == State::Closed {
            return;
        }
        self.deadline = self.ping_timeout.map(|t| now + t);
        let version = self.version.number();
        let kind = if self.state == State::AwaitingHandshake {
            format!("v{version}+server+handshake-response")
        } else {
            format!("v{version}+server")
        };
        match SocketCluster::decode(Some(&kind), text.as_bytes()) {
            Ok(Message::Ping(_)) => {
                let pong = self.version.pong();
                self.transmits.push_back(Transmit::Text(pong.into()));
            }
            Ok(Message::HandshakeResponse(h))
                if h.rid == self.handshake_cid && self.pending.remove(&h.rid) =>
            {
                self.state = State::Open;
                self.ping_timeout = Some(Duration::from_millis(h.data.ping_timeout));
                self.deadline = self.ping_timeout.map(|t| now + t);
                self.events.push_back(ClientEvent::Open(h.data));
            }
            // An error response to #handshake: the server rejected it.
            Ok(Message::Response(r))
                if self.state == State::AwaitingHandshake
                    && r.rid == self.handshake_cid
                    && self.pending.remove(&r.rid) =>
            {
                self.close(
                    CloseCode::HandshakeFailed.code(),
                    "the handshake was rejected",
                );
            }
            // Before the handshake's answer, no other call can have been answered.
            _ if self.state == State::AwaitingHandshake => {}
            Ok(Message::Response(r)) if self.pending.remove(&r.rid) => {
                self.events.push_back(ClientEvent::Response(r))
            }
            Ok(Message::Event(e)) if self.state == State::Open => {
                self.events.push_back(ClientEvent::Event(e))
            }
            Ok(Message::Batch(packets)) if self.state == State::Open => {
                for packet in packets {
                    match packet {
                        Packet::Event(e) => self.events.push_back(ClientEvent::Event(e)),
                        Packet::Response(r) if self.pending.remove(&r.rid) => {
                            self.events.push_back(ClientEvent::Response(r))
                        }
                        Packet::Response(_) => {}
                    }
                }
            }
            // A duplicate or unknown response, or what the codec refuses: dropped.
            _ => {}
        }
    }

    /// Closes the session with `code`.
    pub fn close(&mut self, code: u16, reason: &str) {
        if self.state != State::Closed {
            self.state = State::Closed;
            self.transmits.push_back(Transmit::Close {
                code,
                reason: reason.to_owned(),
            });
            self.events.push_back(ClientEvent::Closed(code));
        }
    }

    /// When the driver must call [`ClientSession::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.state == State::Closed {
            return None;
        }
        self.deadline
    }

    /// Closes with 4000 when the server was silent for `pingTimeout`.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.deadline.is_some_and(|d| now >= d) {
            self.close(CloseCode::ServerPingTimeout.code(), "server ping timed out");
        }
    }

    /// The next thing to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing the application must handle.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONFIG: SessionConfig = SessionConfig {
        version: ProtocolVersion::V1,
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(250),
        handshake_timeout: Duration::from_millis(500),
    };

    fn texts(s: &mut ServerSession) -> Vec<String> {
        std::iter::from_fn(|| s.poll_transmit())
            .map(|t| match t {
                Transmit::Text(t) => t.to_string(),
                Transmit::Close { code, .. } => format!("close {code}"),
            })
            .collect()
    }

    fn open() -> ServerSession {
        let mut s = ServerSession::new("abc", CONFIG, Duration::ZERO);
        s.handle_text(
            r##"{"event":"#handshake","data":{},"cid":1}"##,
            Duration::ZERO,
        );
        let Some(SessionEvent::Handshake { cid, auth_token }) = s.poll_event() else {
            panic!("no handshake event");
        };
        assert_eq!(auth_token, None);
        s.accept_handshake(cid, false, None);
        assert_eq!(
            texts(&mut s),
            [r#"{"rid":1,"data":{"id":"abc","isAuthenticated":false,"pingTimeout":250}}"#]
        );
        s
    }

    #[test]
    fn an_event_before_the_handshake_closes_with_4009() {
        let mut s = ServerSession::new("abc", CONFIG, Duration::ZERO);
        s.handle_text(r#"{"event":"echo","data":1,"cid":1}"#, Duration::ZERO);
        assert_eq!(texts(&mut s), ["close 4009"]);
        assert_eq!(s.poll_event(), Some(SessionEvent::Closed(4009)));
    }

    #[test]
    fn a_handshake_without_cid_closes_with_4008_and_none_in_time_with_4005() {
        let mut s = ServerSession::new("abc", CONFIG, Duration::ZERO);
        s.handle_text(r##"{"event":"#handshake","data":{}}"##, Duration::ZERO);
        assert_eq!(texts(&mut s), ["close 4008"]);
        let mut s = ServerSession::new("abc", CONFIG, Duration::ZERO);
        assert_eq!(s.poll_timeout(), Some(Duration::from_millis(100)));
        s.handle_timeout(Duration::from_millis(500));
        assert_eq!(texts(&mut s), ["close 4005"]);
    }

    #[test]
    fn pings_every_interval_and_closes_with_4001_without_traffic() {
        let mut s = open();
        s.handle_timeout(Duration::from_millis(100));
        assert_eq!(texts(&mut s), ["#1"]);
        s.handle_text("#2", Duration::from_millis(150));
        s.handle_timeout(Duration::from_millis(250));
        assert_eq!(texts(&mut s), ["#1"]);
        assert_eq!(s.poll_timeout(), Some(Duration::from_millis(350)));
        s.handle_timeout(Duration::from_millis(400));
        assert_eq!(texts(&mut s), ["close 4001"]);
    }

    #[test]
    fn each_cid_is_answered_once_and_bad_json_is_ignored() {
        let mut s = open();
        s.handle_text("not json", Duration::ZERO);
        assert!(texts(&mut s).is_empty());
        assert!(s.poll_event().is_none());
        s.handle_text(r#"{"event":"echo","data":"x","cid":2}"#, Duration::ZERO);
        let Some(SessionEvent::Event(e)) = s.poll_event() else {
            panic!("no event");
        };
        assert_eq!(e.body.data(), Ok(Some(json!("x"))));
        assert_eq!(s.respond(2u64.into(), Ok(Some(json!("x")))), Ok(()));
        assert_eq!(
            s.respond(2u64.into(), Ok(None)),
            Err(RespondError::NotPending)
        );
        assert_eq!(texts(&mut s), [r#"{"rid":2,"data":"x"}"#]);
    }

    /// Moves everything each end has to send to the other; the client's events.
    fn exchange(c: &mut ClientSession, s: &mut ServerSession, now: Duration) -> Vec<ClientEvent> {
        for _ in 0..4 {
            while let Some(t) = c.poll_transmit() {
                if let Transmit::Text(t) = t {
                    s.handle_text(&t, now);
                }
            }
            while let Some(e) = s.poll_event() {
                match e {
                    SessionEvent::Handshake { cid, .. } => s.accept_handshake(cid, false, None),
                    SessionEvent::Event(e) => {
                        let data = e.body.data().ok().flatten();
                        if let Some(cid) = e.cid {
                            let _ = s.respond(cid, Ok(data));
                        }
                    }
                    _ => {}
                }
            }
            while let Some(t) = s.poll_transmit() {
                if let Transmit::Text(t) = t {
                    c.handle_text(&t, now);
                }
            }
        }
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    #[test]
    fn a_client_and_a_server_handshake_call_and_keep_each_other_alive() {
        let mut s = ServerSession::new("abc", CONFIG, Duration::ZERO);
        let mut c = ClientSession::new(ProtocolVersion::V1, None, Duration::ZERO);
        let events = exchange(&mut c, &mut s, Duration::ZERO);
        assert!(
            matches!(&events[..], [ClientEvent::Open(h)] if h.id == "abc" && h.ping_timeout == 250)
        );
        let cid = c.invoke("echo", json!([1]));
        assert_eq!(cid, CallId::from(2u64));
        c.transmit("echo", json!("no answer"));
        let events = exchange(&mut c, &mut s, Duration::from_millis(10));
        assert!(
            matches!(&events[..], [ClientEvent::Response(r)] if r.rid == cid && r.data == Some(json!([1]))),
            "{events:?}"
        );
        // Pings and pongs every 100 ms keep both ends open past pingTimeout.
        for ms in [100, 200, 300, 400] {
            let now = Duration::from_millis(ms);
            s.handle_timeout(now);
            c.handle_timeout(now);
            assert!(exchange(&mut c, &mut s, now).is_empty());
        }
        assert!(c.is_open() && s.is_open());
        // A server that falls silent: the client closes with 4000 after pingTimeout.
        c.handle_timeout(Duration::from_millis(650));
        assert_eq!(c.poll_event(), Some(ClientEvent::Closed(4000)));
    }

    #[test]
    fn protocol_2_pings_with_the_empty_string() {
        let config = SessionConfig {
            version: ProtocolVersion::V2,
            ..CONFIG
        };
        let mut s = ServerSession::new("abc", config, Duration::ZERO);
        s.handle_text(
            r##"{"event":"#handshake","data":{},"cid":1}"##,
            Duration::ZERO,
        );
        let Some(SessionEvent::Handshake { cid, .. }) = s.poll_event() else {
            panic!("no handshake event");
        };
        s.accept_handshake(cid, false, None);
        texts(&mut s);
        s.handle_timeout(Duration::from_millis(100));
        assert_eq!(texts(&mut s), [""]);
    }
}
