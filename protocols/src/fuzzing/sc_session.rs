//! Structure-aware fuzzing of the SocketCluster session state machines, both ends (quinn-proto style).
//!
//! [`socketcluster_server`] drives up to four [`ServerSession`]s of an app
//! with channels (`#subscribe`, `#unsubscribe`, `#publish`, an `echo`
//! procedure) and [`socketcluster_client`] one [`ClientSession`] fed any
//! server messages; both on a simulated clock, every transmit and event
//! drained after every step and checked: no panic; nothing but a close
//! before the handshake is answered; every event with a `cid` answered
//! exactly once while the session is open, and no response to a `cid` never
//! sent; no publication to a session not subscribed to its channel; at most
//! one `Closed` and nothing after it; only close codes of the protocol;
//! timers never left due after `handle_timeout`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{json, Value};

use crate::session::socketcluster::{
    ClientEvent, ClientSession, ServerSession, SessionConfig, SessionEvent, Transmit,
};
use crate::socketcluster::{
    CallId, ErrorObject, Event, EventBody, Message, ProtocolVersion, Response, SocketCluster,
};
use crate::Dialect;

/// Operations in one input; more are ignored.
const MAX_OPS: usize = 256;
/// Most sessions of one server input.
const MAX_SESSIONS: usize = 4;

/// The close codes a SocketCluster server session may send.
const SERVER_CODES: &[u16] = &[1003, 4001, 4005, 4008, 4009];

/// A call id as a client sends it: a small number (collisions), any number, a string.
#[derive(Arbitrary, Debug, Clone)]
enum Cid {
    Small(u8),
    Any(u64),
    Text(String),
}

impl Cid {
    fn value(&self) -> Value {
        match self {
            Cid::Small(n) => json!(n),
            Cid::Any(n) => json!(n),
            Cid::Text(s) => json!(s),
        }
    }
}

/// One channel of the fuzzed app, or any name.
#[derive(Arbitrary, Debug, Clone)]
enum Channel {
    Known(u8),
    Any(String),
}

impl Channel {
    fn name(&self) -> String {
        match self {
            Channel::Known(n) => format!("ch{}", n % 3),
            Channel::Any(name) => name.clone(),
        }
    }
}

/// A hostile JSON value for a `data` field.
#[derive(Arbitrary, Debug, Clone)]
enum Data {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Nested(u8),
    List(Vec<u8>),
}

impl Data {
    fn value(&self) -> Value {
        match self {
            Data::Null => Value::Null,
            Data::Int(n) => json!(n),
            Data::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Data::Text(s) => json!(s),
            Data::Nested(depth) => {
                let mut v = json!(0);
                for _ in 0..*depth % 64 {
                    v = json!([v]);
                }
                v
            }
            Data::List(items) => json!(items),
        }
    }
}

/// One client message to a server session.
#[derive(Arbitrary, Debug, Clone)]
enum ClientWire {
    /// `#handshake`, with a cid or not, with a token or not.
    Handshake {
        cid: Option<Cid>,
        token: Option<String>,
    },
    Echo {
        cid: Option<Cid>,
        data: Data,
    },
    Subscribe {
        cid: Option<Cid>,
        channel: Channel,
    },
    Unsubscribe {
        cid: Option<Cid>,
        channel: Channel,
    },
    Publish {
        cid: Option<Cid>,
        channel: Channel,
        data: Data,
    },
    /// A reserved event a client may not send (`#kickOut`, `#setAuthToken`, `#disconnect`).
    Reserved {
        cid: Option<Cid>,
        which: u8,
    },
    /// A response to an event the server never sent.
    Response(Cid),
    /// Several of the above in one JSON array.
    Batch(Vec<ClientWire>),
    Ping,
    Pong,
    /// Any text (not JSON, JSON of another shape, a malformed `#handshake`).
    Raw(String),
}

impl ClientWire {
    /// The JSON value of a structured message; `None` for pings and raw text.
    fn value(&self) -> Option<Value> {
        let event = |name: &str, data: Value, cid: &Option<Cid>| {
            let mut v = json!({ "event": name, "data": data });
            if let Some(cid) = cid {
                v["cid"] = cid.value();
            }
            v
        };
        Some(match self {
            ClientWire::Handshake { cid, token } => {
                let data = match token {
                    Some(t) => json!({ "authToken": t }),
                    None => json!({}),
                };
                event("#handshake", data, cid)
            }
            ClientWire::Echo { cid, data } => event("echo", data.value(), cid),
            ClientWire::Subscribe { cid, channel } => {
                event("#subscribe", json!({ "channel": channel.name() }), cid)
            }
            ClientWire::Unsubscribe { cid, channel } => {
                event("#unsubscribe", json!(channel.name()), cid)
            }
            ClientWire::Publish { cid, channel, data } => event(
                "#publish",
                json!({ "channel": channel.name(), "data": data.value() }),
                cid,
            ),
            ClientWire::Reserved { cid, which } => {
                let name = ["#kickOut", "#setAuthToken", "#disconnect"][usize::from(*which) % 3];
                event(name, json!({}), cid)
            }
            ClientWire::Response(rid) => json!({ "rid": rid.value(), "data": null }),
            ClientWire::Batch(items) => {
                Value::Array(items.iter().take(8).filter_map(ClientWire::value).collect())
            }
            ClientWire::Ping | ClientWire::Pong | ClientWire::Raw(_) => return None,
        })
    }

    fn text(&self, version: ProtocolVersion) -> String {
        match self {
            ClientWire::Ping => version.ping().to_owned(),
            ClientWire::Pong => version.pong().to_owned(),
            ClientWire::Raw(text) => text.clone(),
            other => other.value().map(|v| v.to_string()).unwrap_or_default(),
        }
    }
}

/// What happens to the fuzzed server.
#[derive(Arbitrary, Debug)]
enum ServerOp {
    /// A new client's WebSocket.
    Open,
    /// Session `n mod sessions` receives a message.
    Send(u8, ClientWire),
    /// Its client closes the WebSocket with this code.
    Drop(u8, u16),
    /// The app closes it.
    Close(u8),
    /// The app publishes on a channel.
    Publish(Channel),
    /// Milliseconds pass; due timers run.
    Advance(u16),
}

#[derive(Arbitrary, Debug)]
struct ServerInput {
    v2: bool,
    ops: Vec<ServerOp>,
}

/// One server session and what the model knows of it.
struct Sc {
    session: ServerSession,
    /// The handshake is answered.
    open: bool,
    closed: bool,
    /// Call ids the app must answer (exactly once) before the next step.
    owed: BTreeSet<String>,
    /// Call ids of raw or refused messages: an answer is allowed, once.
    maybe: BTreeSet<String>,
    channels: BTreeSet<String>,
    /// Publications the app delivered to this session, not yet transmitted.
    delivered: Vec<String>,
}

/// The app of the server target: channels every session shares.
struct ScApp {
    now: Duration,
    version: ProtocolVersion,
    config: SessionConfig,
    sessions: Vec<Sc>,
    /// Channel -> subscribed sessions.
    channels: BTreeMap<String, BTreeSet<usize>>,
}

/// A call id as the model keys it.
fn key(cid: &Value) -> String {
    cid.to_string()
}

fn call_key(cid: &CallId) -> String {
    match cid {
        CallId::Number(n) => n.to_string(),
        CallId::String(s) => Value::String(s.clone()).to_string(),
    }
}

impl ScApp {
    /// What the model expects a message to owe: the cids the app must answer, and
    /// those the session may answer (refused shapes, a cid on what is ignored).
    fn expect(&mut self, i: usize, wire: &ClientWire) {
        let text = wire.text(self.version);
        let sc = &mut self.sessions[i];
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            return;
        };
        let items = match &value {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for item in items {
            if let Some(cid) = item.get("cid") {
                sc.maybe.insert(key(cid));
            }
        }
    }

    /// Runs the app on session `i`'s events and checks what it transmits.
    fn step(&mut self, i: usize) {
        while let Some(event) = self.sessions[i].session.poll_event() {
            let sc = &mut self.sessions[i];
            assert!(!sc.closed, "an event after Closed: {event:?}");
            match event {
                SessionEvent::Handshake { cid, .. } => {
                    assert!(!sc.open, "a second handshake event");
                    sc.maybe.remove(&call_key(&cid));
                    sc.owed.insert(call_key(&cid));
                    sc.session.accept_handshake(cid, false, None);
                }
                SessionEvent::Event(event) => {
                    assert!(sc.open, "an event before the handshake: {event:?}");
                    self.handle(i, event);
                }
                SessionEvent::Response(_) => {
                    assert!(sc.open, "a response before the handshake")
                }
                SessionEvent::Closed(_) => {
                    sc.closed = true;
                    for members in self.channels.values_mut() {
                        members.remove(&i);
                    }
                    sc.channels.clear();
                }
            }
        }
        self.flush(i);
    }

    fn handle(&mut self, i: usize, event: Event) {
        let cid = event.cid.clone();
        if let Some(cid) = &cid {
            let sc = &mut self.sessions[i];
            sc.maybe.remove(&call_key(cid));
            sc.owed.insert(call_key(cid));
        }
        let result = match event.body {
            EventBody::Custom { event, data } if event == "echo" => Ok(data),
            EventBody::Subscribe(sub) => {
                self.sessions[i].channels.insert(sub.channel.clone());
                self.channels.entry(sub.channel).or_default().insert(i);
                Ok(None)
            }
            EventBody::Unsubscribe(channel) => {
                self.sessions[i].channels.remove(&channel);
                if let Some(members) = self.channels.get_mut(&channel) {
                    members.remove(&i);
                }
                Ok(None)
            }
            EventBody::Publish(publication) => {
                self.publish(
                    &publication.channel,
                    publication.data.unwrap_or(Value::Null),
                );
                Ok(None)
            }
            other => Err(ErrorObject::new(
                "InvalidActionError",
                format!("a client may not send {}", other.name()),
            )),
        };
        if let Some(cid) = cid {
            // A cid repeated within one message is answered once: the second
            // `respond` is refused, and the model's set owes it once.
            let _ = self.sessions[i].session.respond(cid, result);
        }
    }

    /// Sends a publication to every subscriber, encoded once.
    fn publish(&mut self, channel: &str, data: Value) {
        let text = SocketCluster::encode(&Message::Event(Event::publish(channel, data)))
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some(text) = text else { return };
        let shared: std::sync::Arc<str> = text.into();
        let members: Vec<usize> = self
            .channels
            .get(channel)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for k in members {
            let sc = &mut self.sessions[k];
            assert!(!sc.closed, "a subscriber that is closed");
            sc.delivered.push(channel.to_owned());
            sc.session.send_shared(shared.clone());
        }
    }

    /// Drains session `i`'s transmits and checks them against the model.
    fn flush(&mut self, i: usize) {
        let kind = format!("v{}+server", self.version.number());
        let sc = &mut self.sessions[i];
        let mut closed_frame = false;
        while let Some(transmit) = sc.session.poll_transmit() {
            assert!(!closed_frame, "a transmit after the close frame");
            let text = match transmit {
                Transmit::Close { code, .. } => {
                    assert!(SERVER_CODES.contains(&code), "a close frame with {code}");
                    closed_frame = true;
                    continue;
                }
                Transmit::Text(text) => text,
            };
            if !sc.open {
                // Pings may start before the handshake; nothing else may.
                if *text == *self.version.ping() {
                    continue;
                }
                let response: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("before the handshake, {text:?} ({e})"));
                let rid = response.get("rid").map(key).unwrap_or_default();
                assert!(
                    sc.owed.remove(&rid),
                    "the first message is no answer to #handshake: {text}"
                );
                sc.open = true;
                continue;
            }
            match SocketCluster::decode(Some(&kind), text.as_bytes()) {
                Ok(Message::Ping(_)) => {}
                Ok(Message::Response(Response { rid, .. })) => {
                    let rid = call_key(&rid);
                    assert!(
                        sc.owed.remove(&rid) || sc.maybe.remove(&rid),
                        "a response to cid {rid}, not owed (or answered twice)"
                    );
                }
                Ok(Message::Event(event)) => match &event.body {
                    EventBody::Publish(p) => {
                        let at = sc.delivered.iter().position(|c| *c == p.channel);
                        assert!(at.is_some(), "a publication of {} not sent", p.channel);
                        if let Some(at) = at {
                            sc.delivered.remove(at);
                        }
                    }
                    other => panic!("the server emitted {}", other.name()),
                },
                other => panic!("the server sent {text:?}: {other:?}"),
            }
        }
        if sc.session.is_closed() {
            sc.owed.clear();
            sc.delivered.clear();
        }
        assert!(
            sc.owed.is_empty(),
            "events with cids {:?} left unanswered",
            sc.owed
        );
        assert!(
            sc.delivered.is_empty(),
            "publications {:?} delivered but not sent",
            sc.delivered
        );
    }

    /// Runs due timers of every session; none may stay due.
    fn tick(&mut self) {
        for i in 0..self.sessions.len() {
            let session = &mut self.sessions[i].session;
            if session.poll_timeout().is_some_and(|t| t <= self.now) {
                session.handle_timeout(self.now);
                let due = session.poll_timeout().filter(|t| *t <= self.now);
                assert!(
                    due.is_none(),
                    "a timer still due after handle_timeout: {due:?} at {:?}",
                    self.now
                );
            }
            self.step(i);
        }
    }
}

/// Fuzz target `session_socketcluster_server`: up to four SocketCluster
/// server sessions (protocol 1 or 2) of an app with channels, fed any
/// client messages (handshakes with and without cid, events, batches,
/// responses, raw text), drops, closes, publications and time.
pub fn socketcluster_server(data: &[u8]) {
    let Ok(input) = ServerInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let version = if input.v2 {
        ProtocolVersion::V2
    } else {
        ProtocolVersion::V1
    };
    let config = SessionConfig {
        version,
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(250),
        handshake_timeout: Duration::from_millis(400),
    };
    let mut app = ScApp {
        now: Duration::ZERO,
        version,
        config,
        sessions: Vec::new(),
        channels: BTreeMap::new(),
    };
    for op in input.ops.iter().take(MAX_OPS) {
        match op {
            ServerOp::Open => {
                if app.sessions.len() < MAX_SESSIONS {
                    let id = format!("s{}", app.sessions.len());
                    app.sessions.push(Sc {
                        session: ServerSession::new(id, app.config, app.now),
                        open: false,
                        closed: false,
                        owed: BTreeSet::new(),
                        maybe: BTreeSet::new(),
                        channels: BTreeSet::new(),
                        delivered: Vec::new(),
                    });
                    app.step(app.sessions.len() - 1);
                }
            }
            ServerOp::Send(n, wire) => {
                if app.sessions.is_empty() {
                    continue;
                }
                let i = usize::from(*n) % app.sessions.len();
                app.expect(i, wire);
                let text = wire.text(version);
                app.sessions[i].session.handle_text(&text, app.now);
                app.step(i);
            }
            ServerOp::Drop(n, code) => {
                if app.sessions.is_empty() {
                    continue;
                }
                let i = usize::from(*n) % app.sessions.len();
                app.sessions[i].session.handle_closed(*code);
                app.step(i);
            }
            ServerOp::Close(n) => {
                if app.sessions.is_empty() {
                    continue;
                }
                let i = usize::from(*n) % app.sessions.len();
                app.sessions[i].session.close(4001, "closed by the app");
                app.step(i);
            }
            ServerOp::Publish(channel) => {
                app.publish(&channel.name(), json!("from the app"));
                for i in 0..app.sessions.len() {
                    app.flush(i);
                }
            }
            ServerOp::Advance(ms) => {
                app.now += Duration::from_millis(u64::from(*ms));
                app.tick();
            }
        }
    }
}

/// One server message to a client session.
#[derive(Arbitrary, Debug)]
enum ServerWire {
    /// The handshake response, to the client's cid (1) or another.
    HandshakeResponse {
        rid: Option<Cid>,
        ping_timeout: u32,
        authenticated: bool,
    },
    /// A response to cid `rid` (an error one or not).
    Response {
        rid: Cid,
        error: bool,
        data: Data,
    },
    /// An event (`#publish`, `#kickOut`, `#setAuthToken`, `#removeAuthToken`, custom).
    Event {
        which: u8,
        cid: Option<Cid>,
        data: Data,
    },
    /// Responses and events in one array.
    Batch(Vec<ServerWire>),
    Ping,
    Pong,
    Raw(String),
}

impl ServerWire {
    fn value(&self) -> Option<Value> {
        Some(match self {
            ServerWire::HandshakeResponse {
                rid,
                ping_timeout,
                authenticated,
            } => json!({
                "rid": rid.as_ref().map_or(json!(1), Cid::value),
                "data": {"id": "fuzz", "pingTimeout": ping_timeout, "isAuthenticated": authenticated},
            }),
            ServerWire::Response { rid, error, data } if *error => json!({
                "rid": rid.value(),
                "error": {"name": "FuzzError", "message": data.value().to_string()},
            }),
            ServerWire::Response { rid, data, .. } => {
                json!({ "rid": rid.value(), "data": data.value() })
            }
            ServerWire::Event { which, cid, data } => {
                let (name, data) = match which % 5 {
                    0 => ("#publish", json!({"channel": "ch0", "data": data.value()})),
                    1 => (
                        "#kickOut",
                        json!({"channel": "ch0", "message": data.value()}),
                    ),
                    2 => ("#setAuthToken", json!({"token": "a.b.c"})),
                    3 => ("#removeAuthToken", data.value()),
                    _ => ("news", data.value()),
                };
                let mut v = json!({ "event": name, "data": data });
                if let Some(cid) = cid {
                    v["cid"] = cid.value();
                }
                v
            }
            ServerWire::Batch(items) => {
                Value::Array(items.iter().take(8).filter_map(ServerWire::value).collect())
            }
            ServerWire::Ping | ServerWire::Pong | ServerWire::Raw(_) => return None,
        })
    }

    fn text(&self, version: ProtocolVersion) -> String {
        match self {
            ServerWire::Ping => version.ping().to_owned(),
            ServerWire::Pong => version.pong().to_owned(),
            ServerWire::Raw(text) => text.clone(),
            other => other.value().map(|v| v.to_string()).unwrap_or_default(),
        }
    }
}

/// What happens to a client session.
#[derive(Arbitrary, Debug)]
enum ClientOp {
    Receive(ServerWire),
    /// The app calls a procedure (a `cid` is issued).
    Invoke(Data),
    /// The app emits without `cid`.
    Transmit(Data),
    Close,
    Advance(u16),
}

#[derive(Arbitrary, Debug)]
struct ClientInput {
    v2: bool,
    token: Option<String>,
    ops: Vec<ClientOp>,
}

/// The checks of one client session.
struct ClientModel {
    now: Duration,
    version: ProtocolVersion,
    /// Call ids issued and not yet answered (the handshake's among them).
    issued: BTreeSet<String>,
    last_cid: u64,
    open: bool,
    closed: bool,
    close_sent: bool,
    /// Pongs owed for pings received while open or opening.
    pongs: usize,
    first: bool,
}

impl ClientModel {
    fn drain(&mut self, session: &mut ClientSession) {
        while let Some(transmit) = session.poll_transmit() {
            assert!(!self.close_sent, "a transmit after the close frame");
            let text = match transmit {
                Transmit::Close { code, .. } => {
                    assert!(
                        [1000, 4000, 4003].contains(&code),
                        "the client closed with {code}"
                    );
                    self.close_sent = true;
                    continue;
                }
                Transmit::Text(text) => text,
            };
            if self.first {
                self.first = false;
                let v: Value = serde_json::from_str(&text).expect("the handshake is JSON");
                assert_eq!(v["event"], "#handshake", "the first message: {text}");
                assert_eq!(v["cid"], 1, "the handshake's cid: {text}");
                continue;
            }
            if *text == *self.version.pong() {
                assert!(self.pongs > 0, "a pong for no ping");
                self.pongs -= 1;
                continue;
            }
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("the client sent {text:?}: {e}"));
            assert!(v.get("event").is_some(), "the client sent {text}");
        }
        assert_eq!(self.pongs, 0, "pings left unanswered");
        while let Some(event) = session.poll_event() {
            assert!(!self.closed, "an event after Closed: {event:?}");
            match event {
                ClientEvent::Open(_) => {
                    assert!(!self.open, "opened twice");
                    assert!(self.issued.remove("1"), "opened by no handshake response");
                    self.open = true;
                }
                ClientEvent::Event(_) => assert!(self.open, "an event before the handshake"),
                ClientEvent::Response(r) => {
                    let rid = call_key(&r.rid);
                    assert!(self.open, "a response before the handshake");
                    assert!(
                        rid != "1" && self.issued.remove(&rid),
                        "response {rid} to no call (or twice)"
                    );
                }
                ClientEvent::Closed(_) => self.closed = true,
            }
        }
        assert_eq!(
            session.is_open(),
            self.open && !self.closed,
            "is_open disagrees with the events"
        );
    }
}

/// Fuzz target `session_socketcluster_client`: a SocketCluster client
/// session (protocol 1 or 2) fed any server messages (handshake responses
/// to any rid, responses, events, batches, pings, raw text), calls of the
/// app, closes and time.
pub fn socketcluster_client(data: &[u8]) {
    let Ok(input) = ClientInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let version = if input.v2 {
        ProtocolVersion::V2
    } else {
        ProtocolVersion::V1
    };
    let mut model = ClientModel {
        now: Duration::ZERO,
        version,
        issued: BTreeSet::from(["1".to_owned()]),
        last_cid: 1,
        open: false,
        closed: false,
        close_sent: false,
        pongs: 0,
        first: true,
    };
    let mut session = ClientSession::new(version, input.token.clone(), model.now);
    model.drain(&mut session);
    for op in input.ops.iter().take(MAX_OPS) {
        match op {
            ClientOp::Receive(wire) => {
                let text = wire.text(version);
                if text == version.ping() && !model.closed {
                    model.pongs += 1;
                }
                session.handle_text(&text, model.now);
            }
            ClientOp::Invoke(data) => {
                let cid = session.invoke("echo", data.value());
                let CallId::Number(n) = &cid else {
                    panic!("a cid that is not a number: {cid:?}")
                };
                let n = n.as_u64().expect("a cid counts up from 1");
                assert_eq!(n, model.last_cid + 1, "cids count up one by one");
                model.last_cid = n;
                if !model.closed {
                    model.issued.insert(n.to_string());
                }
            }
            ClientOp::Transmit(data) => session.transmit("news", data.value()),
            ClientOp::Close => session.close(1000, "closed by the app"),
            ClientOp::Advance(ms) => {
                model.now += Duration::from_millis(u64::from(*ms));
                if session.poll_timeout().is_some_and(|t| t <= model.now) {
                    session.handle_timeout(model.now);
                    let due = session.poll_timeout().filter(|t| *t <= model.now);
                    assert!(due.is_none(), "a timer still due after handle_timeout");
                }
            }
        }
        model.drain(&mut session);
    }
}
