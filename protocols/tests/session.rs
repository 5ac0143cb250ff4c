//! The sans-IO sessions, in memory: a client session against a server session on a simulated clock.
//!
//! [`Pair`] (after quinn-proto's `tests/util.rs`) routes every HTTP request
//! and WebSocket frame of the client to the server and back at once, and
//! steps both ends to their next timer; no sockets, no sleeps. The cases
//! follow the official engine.io-protocol and socket.io-protocol test suites
//! (pingInterval 300 ms, pingTimeout 200 ms) where they apply.

use std::time::Duration;

use protocols::engineio::{EioVersion, Packet, PacketType, Payload};
use protocols::session::engineio::{
    route, ClientConfig, ClientEvent, ClientSession, ClientTransmit, Method, Request, Route,
    ServerConfig, ServerEvent, ServerSession, ServerTransmit,
};
use protocols::session::socketio::{
    broadcast, ClientConnection, ClientSioEvent, Config as SioConfig, Encoded, Rooms,
    ServerConnection, ServerSioEvent,
};
use protocols::session::{
    CloseReason, Data, HttpError, HttpResponse, Outbound, Transport, WsFrame,
};
use protocols::socketio::{Data as SioData, SioVersion};
use serde_json::json;

const V3: EioVersion = EioVersion::V3;
const V4: EioVersion = EioVersion::V4;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The test profile of the official suites.
fn test_config() -> ServerConfig {
    ServerConfig {
        ping_interval: ms(300),
        ping_timeout: ms(200),
        ..ServerConfig::default()
    }
}

/// A server end the pair drives: an Engine.IO session, or a Socket.IO connection over one.
trait ServerEnd {
    type Event;
    fn eio(&mut self) -> &mut ServerSession;
    fn transmit(&mut self, now: Duration) -> Option<ServerTransmit>;
    fn timeout(&self) -> Option<Duration>;
    fn on_timeout(&mut self, now: Duration);
    fn event(&mut self, now: Duration) -> Option<Self::Event>;
    /// What the application does with an event (the echo app).
    fn react(&mut self, _now: Duration, _event: &Self::Event) {}
}

/// A client end the pair drives.
trait ClientEnd {
    type Event;
    fn eio(&mut self) -> &mut ClientSession;
    fn transmit(&mut self, now: Duration) -> Option<ClientTransmit>;
    fn timeout(&self) -> Option<Duration>;
    fn on_timeout(&mut self, now: Duration);
    fn event(&mut self, now: Duration) -> Option<Self::Event>;
}

impl ServerEnd for ServerSession {
    type Event = ServerEvent;
    fn eio(&mut self) -> &mut ServerSession {
        self
    }
    fn transmit(&mut self, now: Duration) -> Option<ServerTransmit> {
        self.poll_transmit(now)
    }
    fn timeout(&self) -> Option<Duration> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: Duration) {
        self.handle_timeout(now)
    }
    fn event(&mut self, _now: Duration) -> Option<ServerEvent> {
        self.poll_event()
    }
}

impl ClientEnd for ClientSession {
    type Event = ClientEvent;
    fn eio(&mut self) -> &mut ClientSession {
        self
    }
    fn transmit(&mut self, now: Duration) -> Option<ClientTransmit> {
        self.poll_transmit(now)
    }
    fn timeout(&self) -> Option<Duration> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: Duration) {
        self.handle_timeout(now)
    }
    fn event(&mut self, _now: Duration) -> Option<ClientEvent> {
        self.poll_event()
    }
}

impl ServerEnd for ServerConnection {
    type Event = ServerSioEvent;
    fn eio(&mut self) -> &mut ServerSession {
        self.engine_mut()
    }
    fn transmit(&mut self, now: Duration) -> Option<ServerTransmit> {
        self.poll_transmit(now)
    }
    fn timeout(&self) -> Option<Duration> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: Duration) {
        self.handle_timeout(now)
    }
    fn event(&mut self, now: Duration) -> Option<ServerSioEvent> {
        self.poll_event(now)
    }
    /// The echo app of the socket.io-protocol suite: `/` and `/custom`
    /// accepted, other namespaces refused; an event with an ack id is
    /// acknowledged with its arguments, one without answered `message-back`.
    fn react(&mut self, _now: Duration, event: &ServerSioEvent) {
        match event {
            ServerSioEvent::Connect { namespace, .. } => {
                if namespace == "/" || namespace == "/custom" {
                    self.accept(namespace, "socket-1");
                } else {
                    self.reject(namespace, "Invalid namespace", None);
                }
            }
            ServerSioEvent::Event {
                namespace,
                args,
                ack,
                ..
            } => {
                let sent = match ack {
                    Some(id) => self.ack(namespace, *id, args.clone()),
                    None => self.emit(namespace, "message-back", args.clone(), None),
                };
                assert!(sent.is_ok(), "{sent:?}");
            }
            _ => {}
        }
    }
}

impl ClientEnd for ClientConnection {
    type Event = ClientSioEvent;
    fn eio(&mut self) -> &mut ClientSession {
        self.engine_mut()
    }
    fn transmit(&mut self, now: Duration) -> Option<ClientTransmit> {
        self.poll_transmit(now)
    }
    fn timeout(&self) -> Option<Duration> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: Duration) {
        self.handle_timeout(now)
    }
    fn event(&mut self, now: Duration) -> Option<ClientSioEvent> {
        self.poll_event(now)
    }
}

/// Who sent a frame or payload the pair carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    ToServer,
    ToClient,
}

/// A client and a server end, connected in memory.
struct Pair<S: ServerEnd, C: ClientEnd> {
    now: Duration,
    config: ServerConfig,
    make: fn(Duration, ServerSession) -> S,
    server: Option<S>,
    client: C,
    poll_pending: bool,
    ws_open: bool,
    server_events: Vec<S::Event>,
    client_events: Vec<C::Event>,
    /// Every payload and frame carried, with its time, as text (binary as `<hex>`).
    wire: Vec<(Duration, Dir, Transport, String)>,
}

fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) if bytes.first().is_none_or(|b| *b >= 7) => t.to_owned(),
        _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

fn show_frame(frame: &WsFrame) -> String {
    match frame {
        WsFrame::Text(t) => t.to_string(),
        WsFrame::Binary(b) => format!("<{}>", show(b).trim_matches(['<', '>'])),
    }
}

impl<S: ServerEnd, C: ClientEnd> Pair<S, C> {
    fn new(client: C, config: ServerConfig, make: fn(Duration, ServerSession) -> S) -> Self {
        let mut pair = Pair {
            now: Duration::ZERO,
            config,
            make,
            server: None,
            client,
            poll_pending: false,
            ws_open: false,
            server_events: Vec::new(),
            client_events: Vec::new(),
            wire: Vec::new(),
        };
        pair.drive();
        pair
    }

    fn server(&mut self) -> &mut S {
        self.server
            .as_mut()
            .expect("the handshake made a server session")
    }

    fn log(&mut self, dir: Dir, transport: Transport, text: String) {
        self.wire.push((self.now, dir, transport, text));
    }

    /// What the server sent, in order.
    fn sent_by_server(&self) -> Vec<(Duration, String)> {
        self.wire
            .iter()
            .filter(|w| w.1 == Dir::ToClient)
            .map(|w| (w.0, w.3.clone()))
            .collect()
    }

    /// Moves everything either end has to send, and lets the app react, until both are quiet.
    fn drive(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.client.transmit(self.now) {
                progress = true;
                self.carry_to_server(t);
            }
            if let Some(server) = self.server.as_mut() {
                let mut out = Vec::new();
                while let Some(t) = server.transmit(self.now) {
                    out.push(t);
                }
                for t in out {
                    progress = true;
                    self.carry_to_client(t);
                }
                let server = self.server.as_mut().unwrap();
                while let Some(e) = server.event(self.now) {
                    progress = true;
                    server.react(self.now, &e);
                    self.server_events.push(e);
                }
            }
            while let Some(e) = self.client.event(self.now) {
                progress = true;
                self.client_events.push(e);
            }
            if !progress {
                break;
            }
        }
    }

    /// Lets `d` pass, running every timer due on the way.
    fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        loop {
            self.drive();
            let next = [
                self.client.timeout(),
                self.server.as_ref().and_then(|s| s.timeout()),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.client.on_timeout(self.now);
                    if let Some(s) = self.server.as_mut() {
                        s.on_timeout(self.now);
                    }
                }
                _ => break,
            }
        }
        self.now = target;
        self.drive();
    }

    fn carry_to_server(&mut self, t: ClientTransmit) {
        let now = self.now;
        match t {
            ClientTransmit::Http(req) => {
                let method = if req.body.is_some() {
                    Method::Post
                } else {
                    Method::Get
                };
                if let Some(body) = &req.body {
                    self.log(Dir::ToServer, Transport::Polling, show(body));
                }
                let answer = match route(method, &req.query, false, &[V3, V4]) {
                    Err(e) => Some(e.response()),
                    Ok(Route::Handshake {
                        version,
                        transport,
                        b64,
                    }) => {
                        let session = ServerSession::new(
                            now,
                            version,
                            "sid-1",
                            transport,
                            b64,
                            self.config.clone(),
                        );
                        self.server = Some((self.make)(now, session));
                        self.poll_pending = true;
                        None
                    }
                    Ok(Route::Poll { sid, .. }) => match self.session(&sid) {
                        None => Some(HttpError::UnknownSid.response()),
                        Some(s) => match s.eio().handle_poll(now) {
                            Ok(()) => {
                                self.poll_pending = true;
                                None
                            }
                            Err(resp) => Some(resp),
                        },
                    },
                    Ok(Route::Post { sid, .. }) => match self.session(&sid) {
                        None => Some(HttpError::UnknownSid.response()),
                        Some(s) => {
                            let resp = s.eio().handle_post(now, req.body.as_deref().unwrap());
                            self.client
                                .eio()
                                .handle_post_response(now, resp.status, &resp.body);
                            return;
                        }
                    },
                    Ok(Route::Upgrade { .. }) => unreachable!("not a WebSocket"),
                };
                if let Some(resp) = answer {
                    let client = self.client.eio();
                    if method == Method::Post {
                        client.handle_post_response(now, resp.status, &resp.body);
                    } else {
                        client.handle_poll_response(now, resp.status, &resp.body);
                    }
                }
            }
            ClientTransmit::OpenWebSocket(query) => {
                match route(Method::Get, &query, true, &[V3, V4]) {
                    Ok(Route::Handshake {
                        version, transport, ..
                    }) => {
                        let session = ServerSession::new(
                            now,
                            version,
                            "sid-1",
                            transport,
                            false,
                            self.config.clone(),
                        );
                        self.server = Some((self.make)(now, session));
                        self.ws_open = true;
                        self.client.eio().handle_ws_open(now);
                    }
                    Ok(Route::Upgrade { sid, .. }) => {
                        let accepted = self
                            .session(&sid)
                            .is_some_and(|s| s.eio().handle_upgrade(now).is_ok());
                        self.ws_open = accepted;
                        if accepted {
                            self.client.eio().handle_ws_open(now);
                        } else {
                            self.client.eio().handle_ws_closed(now);
                        }
                    }
                    _ => self.client.eio().handle_ws_closed(now),
                }
            }
            ClientTransmit::Frame(frame) => {
                self.log(Dir::ToServer, Transport::WebSocket, show_frame(&frame));
                if self.ws_open {
                    self.server().eio().handle_frame(now, frame);
                }
            }
            ClientTransmit::CloseWebSocket => self.close_ws(),
        }
    }

    fn carry_to_client(&mut self, t: ServerTransmit) {
        let now = self.now;
        match t {
            ServerTransmit::Poll(resp) => {
                assert!(self.poll_pending, "an answer without a pending poll");
                self.poll_pending = false;
                self.log(Dir::ToClient, Transport::Polling, show(&resp.body));
                self.client
                    .eio()
                    .handle_poll_response(now, resp.status, &resp.body);
            }
            ServerTransmit::Frame(frame) => {
                self.log(Dir::ToClient, Transport::WebSocket, show_frame(&frame));
                assert!(self.ws_open, "a frame without a WebSocket");
                self.client.eio().handle_frame(now, frame);
            }
            ServerTransmit::CloseWebSocket => self.close_ws(),
        }
    }

    fn close_ws(&mut self) {
        if std::mem::take(&mut self.ws_open) {
            let now = self.now;
            self.client.eio().handle_ws_closed(now);
            self.server().eio().handle_ws_closed(now);
        }
    }

    fn session(&mut self, sid: &str) -> Option<&mut S> {
        self.server.as_mut().filter(|_| sid == "sid-1")
    }
}

fn engine_pair(
    version: EioVersion,
    transport: Transport,
    upgrade: bool,
) -> Pair<ServerSession, ClientSession> {
    let mut config = ClientConfig::new(version, transport);
    config.upgrade = upgrade;
    Pair::new(
        ClientSession::new(Duration::ZERO, config),
        test_config(),
        |_, s| s,
    )
}

fn text(s: &str) -> WsFrame {
    WsFrame::Text(s.into())
}

fn body(resp: &HttpResponse) -> String {
    show(&resp.body)
}

/// Answers the handshake GET of a lone server session and returns it.
fn lone_server(version: EioVersion, transport: Transport, config: ServerConfig) -> ServerSession {
    let mut s = ServerSession::new(Duration::ZERO, version, "sid-1", transport, false, config);
    assert!(s.poll_transmit(Duration::ZERO).is_some(), "the open packet");
    s
}

fn poll_body(s: &mut ServerSession, now: Duration) -> Option<String> {
    match s.poll_transmit(now) {
        Some(ServerTransmit::Poll(resp)) => Some(body(&resp)),
        Some(other) => panic!("not a poll answer: {other:?}"),
        None => None,
    }
}

fn events(s: &mut ServerSession) -> Vec<ServerEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

// ------------------------------------------------------------ handshake, errors

#[test]
fn handshake_over_polling_announces_the_profile() {
    let pair = engine_pair(V4, Transport::Polling, false);
    let Some(ClientEvent::Opened(h)) = pair.client_events.first() else {
        panic!("{:?}", pair.client_events);
    };
    assert_eq!(h.sid, "sid-1");
    assert_eq!(h.upgrades, Some(vec!["websocket".to_owned()]));
    assert_eq!((h.ping_interval, h.ping_timeout), (300, 200));
    assert_eq!(h.max_payload, Some(1_000_000));
    let (_, first) = &pair.sent_by_server()[0];
    assert!(first.starts_with("0{\"sid\":\"sid-1\""), "{first}");
}

#[test]
fn handshake_over_websocket_offers_no_upgrade() {
    let pair = engine_pair(V4, Transport::WebSocket, true);
    let Some(ClientEvent::Opened(h)) = pair.client_events.first() else {
        panic!("{:?}", pair.client_events);
    };
    assert_eq!(h.upgrades, Some(vec![]));
    assert_eq!(pair.client.transport(), Transport::WebSocket);
}

#[test]
fn v3_handshake_announces_max_payload_as_node_and_answers_as_length_prefixed() {
    let pair = engine_pair(V3, Transport::Polling, false);
    let (_, first) = &pair.sent_by_server()[0];
    let prefix = first.split(':').next().unwrap();
    assert_eq!(
        prefix.parse::<usize>().unwrap(),
        first.len() - prefix.len() - 1
    );
    assert!(first.contains("\"maxPayload\":1000000"), "{first}");
}

#[test]
fn requests_are_refused_with_node_codes_as_numbers() {
    let cases = [
        (
            Method::Get,
            "EIO=4&transport=tobi",
            HttpError::UnknownTransport,
        ),
        (Method::Get, "EIO=4", HttpError::UnknownTransport),
        (
            Method::Post,
            "EIO=4&transport=polling",
            HttpError::BadHandshakeMethod,
        ),
        (
            Method::Get,
            "EIO=5&transport=polling",
            HttpError::UnsupportedProtocolVersion,
        ),
        (
            Method::Get,
            "EIO=abc&transport=polling",
            HttpError::UnsupportedProtocolVersion,
        ),
        (
            Method::Other,
            "EIO=4&transport=polling&sid=x",
            HttpError::BadRequest,
        ),
    ];
    for (method, query, expected) in cases {
        assert_eq!(
            route(method, query, false, &[V3, V4]),
            Err(expected),
            "{query}"
        );
    }
    assert_eq!(
        route(Method::Get, "EIO=3&transport=polling", false, &[V4]),
        Err(HttpError::UnsupportedProtocolVersion)
    );
    let resp = HttpError::UnknownSid.response();
    assert_eq!(resp.status, 400);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&resp.body).unwrap(),
        json!({"code": 1, "message": "Session ID unknown"})
    );
    assert_eq!(
        route(
            Method::Get,
            "EIO=3&transport=polling&b64=1",
            false,
            &[V3, V4]
        ),
        Ok(Route::Handshake {
            version: V3,
            transport: Transport::Polling,
            b64: true
        })
    );
    assert_eq!(
        route(
            Method::Get,
            "EIO=4&transport=websocket&sid=a%2Bb",
            true,
            &[V4]
        ),
        Ok(Route::Upgrade {
            version: V4,
            sid: "a+b".into()
        })
    );
}

#[test]
fn client_reads_an_error_response_as_refused() {
    let mut c = ClientSession::new(Duration::ZERO, ClientConfig::new(V4, Transport::Polling));
    assert!(c.poll_transmit(Duration::ZERO).is_some());
    let resp = HttpError::UnsupportedProtocolVersion.response();
    c.handle_poll_response(Duration::ZERO, resp.status, &resp.body);
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::Closed(CloseReason::Refused(
            "HTTP 400: Unsupported protocol version".into()
        )))
    );
}

#[test]
fn client_gives_up_after_the_connect_timeout() {
    let mut c = ClientSession::new(Duration::ZERO, ClientConfig::new(V4, Transport::Polling));
    assert!(c.poll_transmit(Duration::ZERO).is_some());
    assert_eq!(c.poll_timeout(), Some(Duration::from_secs(20)));
    c.handle_timeout(Duration::from_secs(20));
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::Closed(CloseReason::ConnectTimeout))
    );
}

// ------------------------------------------------------------ heartbeat

#[test]
fn v4_server_pings_first_after_ping_interval_not_at_open() {
    for transport in [Transport::Polling, Transport::WebSocket] {
        let mut pair = engine_pair(V4, transport, false);
        pair.advance(ms(299));
        assert!(
            !pair.sent_by_server().iter().any(|(_, p)| p == "2"),
            "a ping before pingInterval: {:?}",
            pair.wire
        );
        pair.advance(ms(701));
        let pings: Vec<Duration> = pair
            .sent_by_server()
            .into_iter()
            .filter(|(_, p)| p == "2")
            .map(|(t, _)| t)
            .collect();
        assert_eq!(pings, vec![ms(300), ms(600), ms(900)], "{transport:?}");
        let pongs = pair
            .wire
            .iter()
            .filter(|w| w.1 == Dir::ToServer && w.3 == "3");
        assert_eq!(pongs.count(), 3);
        assert!(!pair.server().is_closed());
        assert!(!pair.client.is_closed());
    }
}

#[test]
fn v4_server_closes_when_no_pong_within_ping_timeout() {
    let mut s = lone_server(V4, Transport::Polling, test_config());
    s.handle_poll(ms(10)).unwrap();
    assert_eq!(s.poll_timeout(), Some(ms(300)));
    s.handle_timeout(ms(300));
    assert_eq!(poll_body(&mut s, ms(300)).as_deref(), Some("2"));
    assert_eq!(s.poll_timeout(), Some(ms(500)));
    s.handle_timeout(ms(499));
    assert!(!s.is_closed());
    s.handle_timeout(ms(500));
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::PingTimeout)]
    );
    let refused = s.handle_poll(ms(510)).unwrap_err();
    assert_eq!(refused.status, 400);
}

#[test]
fn v4_pong_is_due_ping_timeout_after_the_ping_left_not_when_it_was_queued() {
    let mut s = lone_server(V4, Transport::WebSocket, test_config());
    s.handle_timeout(ms(300));
    assert_eq!(s.poll_timeout(), Some(ms(500)));
    // The driver was busy and writes the ping only at 450.
    assert_eq!(
        s.poll_transmit(ms(450)),
        Some(ServerTransmit::Frame(text("2")))
    );
    assert_eq!(s.poll_timeout(), Some(ms(650)));
    s.handle_timeout(ms(600));
    assert!(!s.is_closed());
    s.handle_frame(ms(640), text("3"));
    assert_eq!(
        s.poll_timeout(),
        Some(ms(940)),
        "the next ping pingInterval after the pong"
    );
    assert!(events(&mut s).is_empty());
}

#[test]
fn a_pong_read_after_its_deadline_but_before_the_timeout_is_handled_keeps_the_session() {
    // The driver was busy: when it wakes at 520 both the timer (due at 500)
    // and a pong that arrived in its socket are waiting. It asks, reads
    // the pong first, and only then runs the timers.
    for version in [V4, V3] {
        let mut s = lone_server(version, Transport::WebSocket, test_config());
        // v4: the server's ping left at 300, its pong is due at 500; v3:
        // the client's first ping is due pingInterval + pingTimeout after open.
        let (due, answer) = if version == V4 {
            s.handle_timeout(ms(300));
            assert_eq!(
                s.poll_transmit(ms(300)),
                Some(ServerTransmit::Frame(text("2")))
            );
            (ms(500), "3")
        } else {
            (ms(500), "2")
        };
        assert_eq!(s.poll_timeout(), Some(due), "{version:?}");
        assert!(!s.heartbeat_lapsed(ms(499)), "{version:?}");
        assert!(s.heartbeat_lapsed(ms(520)), "{version:?}");
        s.handle_frame(ms(520), text(answer));
        assert!(!s.heartbeat_lapsed(ms(520)), "{version:?}");
        s.handle_timeout(ms(520));
        assert!(!s.is_closed(), "{version:?}");
        assert!(events(&mut s).is_empty(), "{version:?}");
    }
    // Without the answer the same timeout closes it, and a closed session
    // has no lapsed heartbeat left.
    let mut s = lone_server(V4, Transport::WebSocket, test_config());
    s.handle_timeout(ms(300));
    s.poll_transmit(ms(300));
    assert!(s.heartbeat_lapsed(ms(520)));
    s.handle_timeout(ms(520));
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::PingTimeout)]
    );
    assert!(!s.heartbeat_lapsed(ms(520)));
}

#[test]
fn v4_client_closes_when_the_server_stops_pinging() {
    let mut pair = engine_pair(V4, Transport::WebSocket, false);
    // The server goes silent: its timers never run again.
    pair.server = None;
    pair.ws_open = false;
    pair.advance(ms(499));
    assert!(!pair.client.is_closed());
    pair.advance(ms(1));
    assert_eq!(
        pair.client_events.last(),
        Some(&ClientEvent::Closed(CloseReason::PingTimeout))
    );
}

#[test]
fn v3_client_pings_and_server_pongs() {
    for transport in [Transport::Polling, Transport::WebSocket] {
        let mut pair = engine_pair(V3, transport, false);
        pair.advance(ms(1000));
        let pings: Vec<Duration> = pair
            .wire
            .iter()
            .filter(|w| w.1 == Dir::ToServer && w.3.ends_with('2'))
            .map(|w| w.0)
            .collect();
        assert_eq!(pings, vec![ms(300), ms(600), ms(900)], "{:?}", pair.wire);
        assert!(!pair.sent_by_server().iter().any(|(_, p)| p.ends_with(":2")));
        assert!(pair
            .sent_by_server()
            .iter()
            .any(|(_, p)| p == "1:3" || p == "3"));
        assert!(!pair.server().is_closed());
    }
}

#[test]
fn v3_server_closes_when_no_ping_within_interval_plus_timeout() {
    let mut s = lone_server(V3, Transport::WebSocket, test_config());
    assert_eq!(s.poll_timeout(), Some(ms(500)));
    s.handle_frame(ms(400), text("2"));
    assert_eq!(
        s.poll_transmit(ms(400)),
        Some(ServerTransmit::Frame(text("3")))
    );
    assert_eq!(s.poll_timeout(), Some(ms(900)));
    s.handle_timeout(ms(900));
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::PingTimeout)]
    );
    assert_eq!(
        s.poll_transmit(ms(900)),
        Some(ServerTransmit::CloseWebSocket)
    );
}

#[test]
fn heartbeat_in_the_wrong_direction_closes() {
    let mut s = lone_server(V4, Transport::WebSocket, test_config());
    s.handle_frame(ms(1), text("2"));
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::InvalidHeartbeatDirection)]
    );
    let mut s = lone_server(V3, Transport::WebSocket, test_config());
    s.handle_frame(ms(1), text("3"));
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::InvalidHeartbeatDirection)]
    );
}

// ------------------------------------------------------------ polling

#[test]
fn a_second_concurrent_poll_is_refused_and_closes_the_session() {
    let mut s = lone_server(V4, Transport::Polling, test_config());
    s.handle_poll(ms(1)).unwrap();
    let refused = s.handle_poll(ms(5)).unwrap_err();
    assert_eq!(refused.status, 400);
    assert_eq!(
        poll_body(&mut s, ms(5)).as_deref(),
        Some("1"),
        "the pending poll gets a close packet"
    );
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::ConcurrentPoll)]
    );
    assert_eq!(s.handle_poll(ms(10)).unwrap_err().status, 400);
}

#[test]
fn a_pending_poll_and_a_queued_one_get_the_same_answer() {
    for order in ["poll first", "message first"] {
        let mut s = lone_server(V4, Transport::Polling, test_config());
        if order == "poll first" {
            s.handle_poll(ms(1)).unwrap();
            assert_eq!(poll_body(&mut s, ms(1)), None);
        }
        s.send(Outbound::text("hello")).unwrap();
        s.send(Outbound::binary(vec![1, 2, 3])).unwrap();
        if order == "message first" {
            assert_eq!(poll_body(&mut s, ms(1)), None, "no poll to answer");
            s.handle_poll(ms(1)).unwrap();
        }
        assert_eq!(
            poll_body(&mut s, ms(1)).as_deref(),
            Some("4hello\x1ebAQID"),
            "{order}"
        );
    }
}

#[test]
fn a_binary_answer_to_a_pending_poll_reaches_a_polling_client() {
    let mut pair = engine_pair(V4, Transport::Polling, false);
    assert!(pair.poll_pending, "the client keeps a poll pending");
    pair.server().send(Outbound::binary(vec![1, 2, 3])).unwrap();
    pair.server().send(Outbound::text("after")).unwrap();
    pair.drive();
    let messages: Vec<&ClientEvent> = pair
        .client_events
        .iter()
        .filter(|e| matches!(e, ClientEvent::Message(_)))
        .collect();
    assert_eq!(
        messages,
        [
            &ClientEvent::Message(Data::Binary(vec![1, 2, 3])),
            &ClientEvent::Message(Data::Text("after".into()))
        ]
    );
}

#[test]
fn v3_payloads_binary_as_xhr2_or_base64() {
    let mut s = lone_server(V3, Transport::Polling, test_config());
    s.handle_poll(ms(1)).unwrap();
    s.send(Outbound::text("hi")).unwrap();
    s.send(Outbound::binary(vec![1, 2])).unwrap();
    let Some(ServerTransmit::Poll(resp)) = s.poll_transmit(ms(1)) else {
        panic!()
    };
    assert_eq!(resp.content_type, "application/octet-stream");
    assert_eq!(
        resp.body,
        [0, 3, 0xFF, b'4', b'h', b'i', 1, 3, 0xFF, 4, 1, 2]
    );

    let mut s = ServerSession::new(ms(0), V3, "sid", Transport::Polling, true, test_config());
    s.poll_transmit(ms(0));
    s.handle_poll(ms(1)).unwrap();
    s.send(Outbound::text("hi")).unwrap();
    s.send(Outbound::binary(vec![1, 2])).unwrap();
    assert_eq!(poll_body(&mut s, ms(1)).as_deref(), Some("3:4hi6:b4AQI="));
}

#[test]
fn binary_round_trips_in_every_payload_encoding() {
    for (version, b64) in [(V4, false), (V3, false), (V3, true)] {
        let mut config = ClientConfig::new(version, Transport::Polling);
        config.upgrade = false;
        config.b64 = b64;
        let mut pair = Pair::new(ClientSession::new(ms(0), config), test_config(), |_, s| s);
        pair.client.send(Outbound::binary(vec![0, 255, 7])).unwrap();
        pair.client.send(Outbound::text("é\u{1F600}")).unwrap();
        pair.server().send(Outbound::binary(vec![9, 8])).unwrap();
        pair.drive();
        let got: Vec<&ServerEvent> = pair.server_events.iter().collect();
        assert_eq!(
            got,
            [
                &ServerEvent::Message(Data::Binary(vec![0, 255, 7])),
                &ServerEvent::Message(Data::Text("é\u{1F600}".into()))
            ],
            "{version:?} b64={b64}"
        );
        assert!(pair
            .client_events
            .contains(&ClientEvent::Message(Data::Binary(vec![9, 8]))));
    }
}

#[test]
fn a_poll_answer_is_batched_under_max_payload() {
    let config = ServerConfig {
        max_payload: 20,
        ..test_config()
    };
    let mut s = lone_server(V4, Transport::Polling, config);
    for i in 0..5 {
        s.send(Outbound::text(&format!("msg{i}"))).unwrap();
    }
    let mut answers = Vec::new();
    while s.queued_messages() > 0 {
        s.handle_poll(ms(1)).unwrap();
        answers.push(poll_body(&mut s, ms(1)).unwrap());
    }
    assert_eq!(
        answers,
        ["4msg0\x1e4msg1\x1e4msg2", "4msg3\x1e4msg4"],
        "each answer within 20 bytes"
    );
}

#[test]
fn a_payload_of_several_packets_is_read_and_echoed_in_order() {
    let mut s = lone_server(V4, Transport::Polling, test_config());
    assert_eq!(
        s.handle_post(ms(1), b"4test1\x1e4test2\x1ebAQIDBA==")
            .status,
        200
    );
    let got = events(&mut s);
    assert_eq!(
        got,
        [
            ServerEvent::Message(Data::Text("test1".into())),
            ServerEvent::Message(Data::Text("test2".into())),
            ServerEvent::Message(Data::Binary(vec![1, 2, 3, 4])),
        ]
    );
    for e in got {
        let ServerEvent::Message(data) = e else {
            unreachable!()
        };
        let echo = match data {
            Data::Text(t) => Outbound::text(&t),
            Data::Binary(b) => Outbound::binary(b),
        };
        s.send(echo).unwrap();
    }
    s.handle_poll(ms(2)).unwrap();
    assert_eq!(
        poll_body(&mut s, ms(2)).as_deref(),
        Some("4test1\x1e4test2\x1ebAQIDBA==")
    );
}

#[test]
fn an_invalid_websocket_frame_closes_the_session() {
    for bad in ["abc", "", "7", "1x"] {
        let mut s = lone_server(V4, Transport::WebSocket, test_config());
        s.handle_frame(ms(1), text(bad));
        let closed = events(&mut s);
        assert!(
            matches!(
                closed[..],
                [ServerEvent::Closed(CloseReason::ParseError(_))]
            ),
            "{bad:?}: {closed:?}"
        );
        assert_eq!(s.poll_transmit(ms(1)), Some(ServerTransmit::CloseWebSocket));
    }
}

#[test]
fn a_malformed_post_closes_the_session() {
    for bad in [&b"abc"[..], b"4a\x1e", b"bnot base64!"] {
        let mut s = lone_server(V4, Transport::Polling, test_config());
        let resp = s.handle_post(ms(1), bad);
        assert_eq!(resp.status, 400, "{bad:?}");
        assert!(matches!(
            events(&mut s)[..],
            [ServerEvent::Closed(CloseReason::ParseError(_))]
        ));
        assert_eq!(s.handle_poll(ms(2)).unwrap_err().status, 400);
    }
}

#[test]
fn an_oversized_post_is_refused_with_413() {
    let config = ServerConfig {
        max_payload: 10,
        ..test_config()
    };
    let mut s = lone_server(V4, Transport::Polling, config);
    assert_eq!(s.handle_post(ms(1), b"4hello").status, 200);
    assert_eq!(s.handle_post(ms(1), b"4hello world").status, 413);
    assert_eq!(
        events(&mut s).last(),
        Some(&ServerEvent::Closed(CloseReason::PayloadTooLarge {
            size: 12,
            max: 10
        }))
    );
}

#[test]
fn a_close_packet_ends_the_session() {
    let mut s = lone_server(V4, Transport::Polling, test_config());
    assert_eq!(s.handle_post(ms(1), b"1").status, 200);
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::PeerClosed)]
    );
    assert_eq!(s.handle_poll(ms(2)).unwrap_err().status, 400);

    let mut s = lone_server(V4, Transport::WebSocket, test_config());
    s.handle_frame(ms(1), text("1"));
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::PeerClosed)]
    );
    assert_eq!(s.poll_transmit(ms(1)), Some(ServerTransmit::CloseWebSocket));
}

#[test]
fn closing_flushes_then_sends_a_close_packet() {
    let mut pair = engine_pair(V4, Transport::Polling, false);
    pair.server().send(Outbound::text("bye")).unwrap();
    let now = pair.now;
    pair.server().close(now);
    pair.drive();
    assert!(pair
        .client_events
        .contains(&ClientEvent::Message(Data::Text("bye".into()))));
    assert_eq!(
        pair.client_events.last(),
        Some(&ClientEvent::Closed(CloseReason::PeerClosed))
    );
    assert!(pair.server().is_closed());

    let mut s = lone_server(V4, Transport::Polling, test_config());
    s.close(ms(1));
    assert_eq!(s.handle_post(ms(2), b"4late").status, 200);
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::Closed)],
        "nothing after Closed"
    );
    s.handle_poll(ms(3)).unwrap();
    assert_eq!(poll_body(&mut s, ms(3)).as_deref(), Some("1"));
    assert!(s.is_closed());

    let mut pair = engine_pair(V4, Transport::WebSocket, false);
    let now = pair.now;
    pair.client.close(now);
    pair.drive();
    assert_eq!(
        pair.server_events.last(),
        Some(&ServerEvent::Closed(CloseReason::PeerClosed))
    );
}

#[test]
fn a_full_send_queue_closes_the_session_with_a_reason() {
    let config = ServerConfig {
        max_queued_messages: 2,
        ..test_config()
    };
    let mut s = lone_server(V4, Transport::Polling, config.clone());
    for round in 0..3 {
        s.send(Outbound::text("1")).unwrap();
        s.send(Outbound::text("2")).unwrap();
        assert_eq!(s.queued_messages(), 2);
        s.handle_poll(ms(round)).unwrap();
        assert_eq!(poll_body(&mut s, ms(round)).as_deref(), Some("41\x1e42"));
        assert_eq!(s.queued_messages(), 0, "what was sent leaves the queue");
    }
    let mut s = lone_server(V4, Transport::Polling, config);
    s.send(Outbound::text("1")).unwrap();
    s.send(Outbound::text("2")).unwrap();
    assert_eq!(s.send(Outbound::text("3")), Err(CloseReason::QueueFull(2)));
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed(CloseReason::QueueFull(2))]
    );
}

#[test]
fn a_full_client_send_queue_closes_the_session_with_a_reason() {
    for transport in [Transport::WebSocket, Transport::Polling] {
        let mut config = ClientConfig::new(V4, transport);
        config.upgrade = false;
        config.max_queued_messages = 2;
        let mut pair: Pair<ServerSession, ClientSession> =
            Pair::new(ClientSession::new(ms(0), config), test_config(), |_, s| s);
        for _ in 0..3 {
            pair.client.send(Outbound::text("a")).unwrap();
            pair.client.send(Outbound::text("b")).unwrap();
            assert_eq!(pair.client.queued_messages(), 2, "{transport:?}");
            pair.drive();
            assert_eq!(
                pair.client.queued_messages(),
                0,
                "{transport:?}: what was sent leaves the queue"
            );
        }
        let received = pair
            .server_events
            .iter()
            .filter(|e| matches!(e, ServerEvent::Message(_)))
            .count();
        assert_eq!(received, 6, "{transport:?}");
        // The driver takes nothing more: the third message waiting closes the session.
        pair.client.send(Outbound::text("a")).unwrap();
        pair.client.send(Outbound::text("b")).unwrap();
        assert_eq!(
            pair.client.send(Outbound::text("c")),
            Err(CloseReason::QueueFull(2)),
            "{transport:?}"
        );
        assert!(pair.client.is_closed());
        let events: Vec<_> = std::iter::from_fn(|| pair.client.poll_event()).collect();
        assert_eq!(
            events,
            [ClientEvent::Closed(CloseReason::QueueFull(2))],
            "{transport:?}"
        );
    }
    // The bytes are bounded too, before the handshake as after it.
    let mut config = ClientConfig::new(V4, Transport::Polling);
    config.max_queued_bytes = 10;
    let mut c = ClientSession::new(ms(0), config);
    // Bytes of the text frames: `4` and the data.
    c.send(Outbound::text("1234")).unwrap();
    c.send(Outbound::text("123")).unwrap();
    assert_eq!(c.send(Outbound::text("1")), Err(CloseReason::QueueFull(2)));
}

// ------------------------------------------------------------ WebSocket and the upgrade

#[test]
fn v3_websocket_binary_frames_carry_the_message_type_byte() {
    let mut s = lone_server(V3, Transport::WebSocket, test_config());
    s.send(Outbound::binary(vec![1, 2])).unwrap();
    assert_eq!(
        s.poll_transmit(ms(1)),
        Some(ServerTransmit::Frame(WsFrame::Binary(vec![4, 1, 2].into())))
    );
    s.handle_frame(ms(1), WsFrame::Binary(vec![4, 9].into()));
    assert_eq!(
        events(&mut s),
        [ServerEvent::Message(Data::Binary(vec![9]))]
    );

    let mut s = lone_server(V4, Transport::WebSocket, test_config());
    s.send(Outbound::binary(vec![1, 2])).unwrap();
    assert_eq!(
        s.poll_transmit(ms(1)),
        Some(ServerTransmit::Frame(WsFrame::Binary(vec![1, 2].into())))
    );
}

#[test]
fn the_upgrade_answers_a_pending_poll_with_a_noop_then_refuses_polling() {
    for version in [V3, V4] {
        let mut s = lone_server(version, Transport::Polling, test_config());
        s.handle_poll(ms(1)).unwrap();
        s.handle_upgrade(ms(2)).unwrap();
        s.send(Outbound::text("before the probe")).unwrap();
        let before = if version == V4 {
            "4before the probe"
        } else {
            "17:4before the probe"
        };
        assert_eq!(
            poll_body(&mut s, ms(2)).as_deref(),
            Some(before),
            "polling goes on until the probe"
        );
        s.handle_poll(ms(2)).unwrap();
        s.handle_frame(ms(3), text("2probe"));
        assert_eq!(
            s.poll_transmit(ms(3)),
            Some(ServerTransmit::Frame(text("3probe")))
        );
        let noop = if version == V4 { "6" } else { "1:6" };
        assert_eq!(poll_body(&mut s, ms(3)).as_deref(), Some(noop));
        s.send(Outbound::text("held")).unwrap();
        assert_eq!(
            s.poll_transmit(ms(3)),
            None,
            "held until the upgrade completes"
        );
        s.handle_frame(ms(4), text("5"));
        assert_eq!(events(&mut s), [ServerEvent::Upgraded]);
        assert_eq!(s.transport(), Transport::WebSocket);
        assert_eq!(
            s.poll_transmit(ms(4)),
            Some(ServerTransmit::Frame(text("4held")))
        );
        assert_eq!(
            s.handle_poll(ms(5)).unwrap_err().status,
            400,
            "polling after the upgrade"
        );
        assert_eq!(s.handle_post(ms(5), b"4x").status, 400);
        assert!(s.handle_upgrade(ms(6)).is_err(), "a second WebSocket");
        assert!(!s.is_closed());
    }
}

#[test]
fn a_bad_probe_fails_the_upgrade_but_not_the_session() {
    let mut s = lone_server(V4, Transport::Polling, test_config());
    s.handle_upgrade(ms(1)).unwrap();
    s.handle_frame(ms(2), text("4hello"));
    assert_eq!(s.poll_transmit(ms(2)), Some(ServerTransmit::CloseWebSocket));
    assert!(matches!(
        events(&mut s)[..],
        [ServerEvent::UpgradeFailed(_)]
    ));
    assert_eq!(s.transport(), Transport::Polling);
    s.handle_poll(ms(3)).unwrap();
}

#[test]
fn an_upgrade_that_never_completes_is_given_up_after_the_upgrade_timeout() {
    let config = ServerConfig {
        ping_interval: Duration::from_secs(60),
        ..test_config()
    };
    let mut s = lone_server(V4, Transport::Polling, config);
    s.handle_upgrade(ms(100)).unwrap();
    s.handle_frame(ms(110), text("2probe"));
    assert_eq!(
        s.poll_transmit(ms(110)),
        Some(ServerTransmit::Frame(text("3probe")))
    );
    s.send(Outbound::text("held")).unwrap();
    s.handle_poll(ms(300)).unwrap();
    assert_eq!(
        poll_body(&mut s, ms(300)).as_deref(),
        Some("6"),
        "a poll during the upgrade gets a noop, as Node's, and the message is held"
    );
    assert_eq!(s.poll_timeout(), Some(ms(10_100)));
    s.handle_timeout(ms(10_100));
    assert_eq!(
        s.poll_transmit(ms(10_100)),
        Some(ServerTransmit::CloseWebSocket)
    );
    assert!(matches!(
        events(&mut s)[..],
        [ServerEvent::UpgradeFailed(_)]
    ));
    assert_eq!(s.transport(), Transport::Polling);
    s.handle_poll(ms(10_100)).unwrap();
    assert_eq!(poll_body(&mut s, ms(10_100)).as_deref(), Some("4held"));
    assert!(!s.is_closed());
}

#[test]
fn no_upgrade_is_offered_when_the_server_allows_none() {
    let config = ServerConfig {
        allow_upgrade: false,
        ..test_config()
    };
    let mut pair: Pair<ServerSession, ClientSession> = Pair::new(
        ClientSession::new(ms(0), ClientConfig::new(V4, Transport::Polling)),
        config,
        |_, s| s,
    );
    let Some(ClientEvent::Opened(h)) = pair.client_events.first() else {
        panic!("{:?}", pair.client_events);
    };
    assert_eq!(h.upgrades, Some(vec![]));
    assert!(pair.server().handle_upgrade(ms(1)).is_err());
    pair.advance(ms(700));
    assert_eq!(pair.client.transport(), Transport::Polling);
    assert!(!pair.client.is_closed());
}

#[test]
fn client_upgrades_from_polling_to_websocket() {
    for version in [V3, V4] {
        let mut pair = engine_pair(version, Transport::Polling, true);
        assert!(
            pair.client_events.contains(&ClientEvent::Upgraded),
            "{:?}",
            pair.wire
        );
        assert!(pair.server_events.contains(&ServerEvent::Upgraded));
        assert_eq!(pair.client.transport(), Transport::WebSocket);
        let ws: Vec<&str> = pair
            .wire
            .iter()
            .filter(|w| w.2 == Transport::WebSocket)
            .map(|w| w.3.as_str())
            .collect();
        assert_eq!(ws, ["2probe", "3probe", "5"]);
        pair.client.send(Outbound::text("over ws")).unwrap();
        pair.advance(ms(1000));
        assert!(pair
            .server_events
            .contains(&ServerEvent::Message(Data::Text("over ws".into()))));
        assert!(
            !pair.server().is_closed(),
            "heartbeats go on over WebSocket"
        );
    }
}

// ------------------------------------------------------------ a client that checks a server

/// A client pair whose client is configured by `set` (before its handshake).
fn client_pair(
    version: EioVersion,
    transport: Transport,
    set: impl FnOnce(&mut ClientConfig),
) -> Pair<ServerSession, ClientSession> {
    let mut config = ClientConfig::new(version, transport);
    config.upgrade = false;
    set(&mut config);
    Pair::new(
        ClientSession::new(Duration::ZERO, config),
        test_config(),
        |_, s| s,
    )
}

/// The packets the client reported with [`ClientEvent::Packet`], as text, with their transport.
fn reported(pair: &Pair<ServerSession, ClientSession>) -> Vec<(Transport, String)> {
    pair.client_events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Packet(t, p) => Some((*t, p.encode_text(V4))),
            _ => None,
        })
        .collect()
}

#[test]
fn without_auto_poll_the_client_polls_only_when_asked_even_twice() {
    let mut pair = client_pair(V4, Transport::Polling, |c| {
        c.auto_poll = false;
        c.packet_events = true;
    });
    assert!(!pair.poll_pending, "no poll after the handshake");
    pair.server().send(Outbound::text("queued")).unwrap();
    pair.advance(ms(50));
    assert!(reported(&pair).is_empty(), "nothing polled yet");
    pair.client.poll(pair.now).unwrap();
    pair.drive();
    assert_eq!(
        reported(&pair),
        [(Transport::Polling, "4queued".to_owned())]
    );
    assert!(!pair.poll_pending, "no poll of its own after the answer");
    // Two polls at once: the server refuses the second and closes the first.
    pair.client.poll(pair.now).unwrap();
    pair.drive();
    assert!(pair.poll_pending);
    pair.client.poll(pair.now).unwrap();
    pair.drive();
    assert!(pair
        .server_events
        .contains(&ServerEvent::Closed(CloseReason::ConcurrentPoll)));
    assert!(
        matches!(
            pair.client_events.last(),
            Some(ClientEvent::Closed(CloseReason::Refused(_)))
        ),
        "{:?}",
        pair.client_events
    );
}

#[test]
fn without_auto_pong_a_ping_is_reported_and_left_unanswered() {
    for transport in [Transport::Polling, Transport::WebSocket] {
        let mut pair = client_pair(V4, transport, |c| {
            c.auto_pong = false;
            c.watch_heartbeat = false;
            c.packet_events = true;
        });
        pair.advance(ms(300));
        assert_eq!(reported(&pair), [(transport, "2".to_owned())]);
        assert!(
            !pair.wire.iter().any(|w| w.1 == Dir::ToServer && w.3 == "3"),
            "a pong went out: {:?}",
            pair.wire
        );
        // The driver answers by hand, and the session goes on.
        pair.client
            .send_packet(Packet::empty(PacketType::Pong))
            .unwrap();
        pair.advance(ms(300));
        assert!(!pair.server().is_closed(), "{transport:?}");
        // Unanswered, the server closes the session; the client does not time it out first.
        pair.advance(ms(1000));
        assert!(pair
            .server_events
            .contains(&ServerEvent::Closed(CloseReason::PingTimeout)));
        assert!(
            !pair
                .client_events
                .contains(&ClientEvent::Closed(CloseReason::PingTimeout)),
            "{transport:?}: {:?}",
            pair.client_events
        );
    }
}

#[test]
fn v3_without_auto_ping_the_client_never_pings_and_the_server_closes() {
    let mut pair = client_pair(V3, Transport::WebSocket, |c| {
        c.auto_ping = false;
        c.packet_events = true;
    });
    pair.advance(ms(600));
    assert!(
        !pair.wire.iter().any(|w| w.1 == Dir::ToServer),
        "{:?}",
        pair.wire
    );
    assert!(pair
        .server_events
        .contains(&ServerEvent::Closed(CloseReason::PingTimeout)));
    assert!(matches!(
        pair.client_events.last(),
        Some(ClientEvent::Closed(CloseReason::TransportClosed))
    ));
}

#[test]
fn a_step_by_step_upgrade_waits_for_the_driver_at_each_step() {
    let mut pair = client_pair(V4, Transport::Polling, |c| c.packet_events = true);
    pair.client.begin_upgrade(pair.now);
    pair.drive();
    let ws = |pair: &Pair<ServerSession, ClientSession>| -> Vec<String> {
        pair.wire
            .iter()
            .filter(|w| w.2 == Transport::WebSocket)
            .map(|w| w.3.clone())
            .collect()
    };
    assert!(pair.ws_open, "the WebSocket is open");
    assert!(ws(&pair).is_empty(), "no 2probe before probe()");
    pair.advance(ms(50));
    assert!(ws(&pair).is_empty());
    pair.client.probe(pair.now);
    pair.drive();
    assert_eq!(ws(&pair), ["2probe", "3probe"]);
    assert!(pair.client_events.contains(&ClientEvent::Probed));
    assert!(
        reported(&pair).contains(&(Transport::Polling, "6".to_owned())),
        "the pending poll ended with a noop: {:?}",
        reported(&pair)
    );
    assert!(!pair.poll_pending, "no new poll during the upgrade");
    pair.advance(ms(50));
    assert_eq!(
        ws(&pair),
        ["2probe", "3probe"],
        "no 5 before finish_upgrade()"
    );
    assert_eq!(pair.client.transport(), Transport::Polling);
    assert_eq!(pair.client.polls_in_flight(), 0);
    pair.client.finish_upgrade(pair.now);
    pair.drive();
    assert_eq!(ws(&pair), ["2probe", "3probe", "5"]);
    assert_eq!(pair.client.transport(), Transport::WebSocket);
    assert!(pair.server_events.contains(&ServerEvent::Upgraded));
    pair.advance(ms(300));
    assert!(
        reported(&pair).contains(&(Transport::WebSocket, "2".to_owned())),
        "{:?}",
        reported(&pair)
    );
}

#[test]
fn raw_posts_and_frames_go_out_as_given() {
    let mut pair = client_pair(V4, Transport::Polling, |c| c.auto_poll = false);
    pair.client
        .send_raw_post(b"4one\x1e4two".to_vec(), "text/plain;charset=UTF-8")
        .unwrap();
    assert_eq!(
        pair.client.send_raw_frame(text("4no socket")),
        Err(CloseReason::TransportClosed),
        "no WebSocket to send on"
    );
    pair.drive();
    assert!(pair.wire.iter().any(|w| w.3 == "4one\x1e4two"));
    for m in ["one", "two"] {
        assert!(pair
            .server_events
            .contains(&ServerEvent::Message(Data::Text(m.into()))));
    }
    let mut pair = client_pair(V4, Transport::WebSocket, |_| {});
    pair.client.send_raw_frame(text("4raw")).unwrap();
    pair.drive();
    assert!(pair
        .server_events
        .contains(&ServerEvent::Message(Data::Text("raw".into()))));
}

#[test]
fn a_poll_answered_after_a_step_by_step_upgrade_is_reported_not_acted_on() {
    let mut pair = client_pair(V4, Transport::Polling, |c| {
        c.auto_poll = false;
        c.packet_events = true;
    });
    pair.client.begin_upgrade(pair.now);
    pair.drive();
    pair.client.probe(pair.now);
    pair.drive();
    // The driver polls by hand, and sends 5 while that GET is still on its way.
    let now = pair.now;
    pair.client.poll(now).unwrap();
    assert!(matches!(
        pair.client.poll_transmit(now),
        Some(ClientTransmit::Http(Request { body: None, .. }))
    ));
    assert_eq!(pair.client.polls_in_flight(), 1);
    pair.client.finish_upgrade(pair.now);
    pair.drive();
    assert_eq!(pair.client.transport(), Transport::WebSocket);
    // The old transport's poll comes back with a close packet, as Node ends it.
    let now = pair.now;
    pair.client
        .handle_poll_packets(now, vec![Packet::empty(PacketType::Close)]);
    pair.drive();
    assert!(reported(&pair).contains(&(Transport::Polling, "1".to_owned())));
    assert!(!pair.client.is_closed(), "{:?}", pair.client_events);
}

#[test]
fn a_driver_may_change_the_packets_of_a_poll_before_the_session_reads_them() {
    let mut pair = client_pair(V4, Transport::Polling, |c| {
        c.auto_poll = false;
        c.packet_events = true;
    });
    pair.client.poll(pair.now).unwrap();
    pair.drive();
    assert!(pair.poll_pending);
    // The driver's poll returns; it hands the session other packets than the server sent.
    pair.poll_pending = false;
    let now = pair.now;
    pair.client.handle_poll_packets(
        now,
        vec![Packet::message("changed"), Packet::empty(PacketType::Noop)],
    );
    pair.drive();
    assert_eq!(
        reported(&pair),
        [
            (Transport::Polling, "4changed".to_owned()),
            (Transport::Polling, "6".to_owned())
        ]
    );
    assert!(pair
        .client_events
        .contains(&ClientEvent::Message(Data::Text("changed".into()))));
    pair.client
        .abort(CloseReason::ParseError("undecodable".into()));
    assert_eq!(
        pair.client.poll_event(),
        Some(ClientEvent::Closed(CloseReason::ParseError(
            "undecodable".into()
        )))
    );
    assert_eq!(pair.client.poll(now), Err(CloseReason::TransportClosed));
}

// ------------------------------------------------------------ Socket.IO

type SioPair = Pair<ServerConnection, ClientConnection>;

fn sio_pair(version: EioVersion, transport: Transport, upgrade: bool) -> SioPair {
    let mut config = ClientConfig::new(version, transport);
    config.upgrade = upgrade;
    let client = ClientConnection::new(
        ClientSession::new(ms(0), config),
        SioVersion::for_engine(version),
        SioConfig::default(),
    );
    Pair::new(client, test_config(), |now, s| {
        ServerConnection::new(now, s, SioConfig::default())
    })
}

fn connected(pair: &mut SioPair, namespace: &str, auth: Option<serde_json::Value>) {
    pair.client.connect(namespace, auth);
    pair.drive();
}

const TRANSPORTS: [(Transport, bool); 3] = [
    (Transport::WebSocket, false),
    (Transport::Polling, false),
    (Transport::Polling, true),
];

#[test]
fn a_client_connection_whose_queue_fills_ends_with_a_reason_before_the_handshake_too() {
    let mut config = ClientConfig::new(V4, Transport::WebSocket);
    config.max_queued_messages = 3;
    let mut client = ClientConnection::new(
        ClientSession::new(ms(0), config),
        SioVersion::for_engine(V4),
        SioConfig::default(),
    );
    client.connect("/", None);
    client.emit("/", "a", vec![], true);
    client.emit("/", "b", vec![], false);
    assert!(!client.engine().is_closed(), "three packets fit");
    client.emit("/", "c", vec![], false);
    assert!(client.engine().is_closed());
    assert_eq!(
        client.poll_event(ms(0)),
        Some(ClientSioEvent::Closed(CloseReason::QueueFull(3)))
    );
    assert_eq!(client.poll_event(ms(0)), None, "said once");
    assert_eq!(client.awaiting_acks(), 0, "no ack is awaited any more");
}

#[test]
fn connect_with_auth_and_get_a_sid() {
    let mut pair = sio_pair(V4, Transport::WebSocket, false);
    connected(&mut pair, "/", Some(json!({"token": "123"})));
    assert_eq!(
        pair.server_events[0],
        ServerSioEvent::Connect {
            namespace: "/".into(),
            auth: Some(json!({"token": "123"}))
        }
    );
    assert_eq!(
        pair.client_events[0],
        ClientSioEvent::Connected {
            namespace: "/".into(),
            data: Some(json!({"sid": "socket-1"}))
        }
    );
}

#[test]
fn v4_joins_the_main_namespace_at_open_and_custom_ones_on_request() {
    let mut pair = sio_pair(V3, Transport::WebSocket, false);
    assert_eq!(
        pair.client_events[0],
        ClientSioEvent::Connected {
            namespace: "/".into(),
            data: None
        }
    );
    connected(&mut pair, "/custom", None);
    assert!(pair.server().is_connected("/custom"));
    let sent = pair.sent_by_server();
    assert!(sent.iter().any(|(_, p)| p == "40"), "{sent:?}");
    assert!(sent.iter().any(|(_, p)| p == "40/custom,"), "{sent:?}");
}

#[test]
fn an_unknown_namespace_gets_connect_error_v5_object_v4_string() {
    let mut pair = sio_pair(V4, Transport::WebSocket, false);
    connected(&mut pair, "/unknown", None);
    assert_eq!(
        pair.client_events.last(),
        Some(&ClientSioEvent::ConnectError {
            namespace: "/unknown".into(),
            data: Some(json!({"message": "Invalid namespace"}))
        })
    );
    let mut pair = sio_pair(V3, Transport::WebSocket, false);
    connected(&mut pair, "/unknown", None);
    assert_eq!(
        pair.sent_by_server().last().map(|(_, p)| p.as_str()),
        Some("44/unknown,\"Invalid namespace\"")
    );
}

#[test]
fn events_and_acks_round_trip_on_every_transport() {
    for version in [V3, V4] {
        for (transport, upgrade) in TRANSPORTS {
            let mut pair = sio_pair(version, transport, upgrade);
            if version == V4 {
                connected(&mut pair, "/", None);
            }
            pair.client
                .emit("/", "message", vec![SioData::String("hi".into())], false);
            let id = pair
                .client
                .emit("/", "message", vec![SioData::Bool(true)], true);
            pair.drive();
            let got: Vec<&ClientSioEvent> = pair.client_events.iter().skip(1).collect();
            assert_eq!(
                got,
                [
                    &ClientSioEvent::Event {
                        namespace: "/".into(),
                        name: "message-back".into(),
                        args: vec![SioData::String("hi".into())],
                        ack: None
                    },
                    &ClientSioEvent::Ack {
                        namespace: "/".into(),
                        id: id.unwrap(),
                        args: vec![SioData::Bool(true)]
                    }
                ],
                "{version:?} {transport:?} upgrade={upgrade}"
            );
        }
    }
}

#[test]
fn binary_events_and_acks_round_trip_on_every_transport() {
    for version in [V3, V4] {
        for (transport, upgrade) in TRANSPORTS {
            let mut pair = sio_pair(version, transport, upgrade);
            connected(&mut pair, "/custom", None);
            let args = vec![
                SioData::Binary(vec![1, 2, 3]),
                SioData::Array(vec![SioData::Binary(vec![4])]),
            ];
            pair.client.emit("/custom", "message", args.clone(), false);
            let id = pair.client.emit("/custom", "message", args.clone(), true);
            pair.drive();
            let back: Vec<&ClientSioEvent> = pair
                .client_events
                .iter()
                .filter(|e| matches!(e, ClientSioEvent::Event { .. } | ClientSioEvent::Ack { .. }))
                .collect();
            assert_eq!(
                back,
                [
                    &ClientSioEvent::Event {
                        namespace: "/custom".into(),
                        name: "message-back".into(),
                        args: args.clone(),
                        ack: None
                    },
                    &ClientSioEvent::Ack {
                        namespace: "/custom".into(),
                        id: id.unwrap(),
                        args: args.clone()
                    }
                ],
                "{version:?} {transport:?} upgrade={upgrade}"
            );
        }
    }
}

#[test]
fn a_client_disconnect_leaves_the_namespace() {
    let mut pair = sio_pair(V4, Transport::WebSocket, false);
    connected(&mut pair, "/custom", None);
    pair.client.disconnect("/custom");
    pair.drive();
    assert_eq!(
        pair.server_events.last(),
        Some(&ServerSioEvent::Disconnect {
            namespace: "/custom".into()
        })
    );
    assert!(!pair.server().is_connected("/custom"));
}

/// A v5 server connection over WebSocket with `/` joined, fed raw frames.
fn joined_server(config: SioConfig) -> ServerConnection {
    let engine = lone_server(V4, Transport::WebSocket, test_config());
    let mut conn = ServerConnection::new(ms(0), engine, config);
    conn.engine_mut().handle_frame(ms(1), text("40"));
    assert!(matches!(
        conn.poll_event(ms(1)),
        Some(ServerSioEvent::Connect { .. })
    ));
    conn.accept("/", "s");
    conn
}

fn sio_events(conn: &mut ServerConnection, now: Duration) -> Vec<ServerSioEvent> {
    std::iter::from_fn(|| conn.poll_event(now)).collect()
}

fn closes_with_parse_error(frames: &[WsFrame]) -> bool {
    let mut conn = joined_server(SioConfig::default());
    for f in frames {
        conn.engine_mut().handle_frame(ms(2), f.clone());
    }
    let events = sio_events(&mut conn, ms(2));
    matches!(
        events.last(),
        Some(ServerSioEvent::Closed(CloseReason::ParseError(_)))
    ) && !events
        .iter()
        .any(|e| matches!(e, ServerSioEvent::Event { .. }))
}

#[test]
fn placeholders_are_checked_as_the_packet_is_decoded() {
    let bin = WsFrame::Binary(vec![1].into());
    for bad in [
        r#"451-["message",{"_placeholder":true,"num":"0"}]"#,
        r#"451-["message",{"_placeholder":true,"num":1}]"#,
        r#"451-["message",{"_placeholder":true,"num":-1}]"#,
        r#"451-["message",{"_placeholder":true,"num":0.5}]"#,
        r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#,
    ] {
        assert!(
            closes_with_parse_error(&[text(bad), bin.clone(), bin.clone()]),
            "{bad}"
        );
    }
    let mut conn = joined_server(SioConfig::default());
    conn.engine_mut().handle_frame(
        ms(2),
        text(r#"451-["message",{"_placeholder":true,"num":0}]"#),
    );
    conn.engine_mut().handle_frame(ms(2), bin);
    assert_eq!(
        sio_events(&mut conn, ms(2)),
        [ServerSioEvent::Event {
            namespace: "/".into(),
            name: "message".into(),
            args: vec![SioData::Binary(vec![1])],
            ack: None
        }]
    );
}

#[test]
fn attachment_count_and_buffered_bytes_are_bounded() {
    let placeholders: Vec<String> = (0..11)
        .map(|n| format!(r#"{{"_placeholder":true,"num":{n}}}"#))
        .collect();
    let eleven = format!("4511-[\"message\",{}]", placeholders.join(","));
    assert!(closes_with_parse_error(&[text(&eleven)]));

    let mut conn = joined_server(SioConfig {
        max_buffered_bytes: 4,
        ..SioConfig::default()
    });
    conn.engine_mut().handle_frame(
        ms(2),
        text(r#"452-["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
    );
    conn.engine_mut()
        .handle_frame(ms(2), WsFrame::Binary(vec![0; 3].into()));
    conn.engine_mut()
        .handle_frame(ms(2), WsFrame::Binary(vec![0; 3].into()));
    assert_eq!(
        sio_events(&mut conn, ms(2)),
        [ServerSioEvent::Closed(CloseReason::PayloadTooLarge {
            size: 6,
            max: 4
        })]
    );
}

#[test]
fn malformed_packets_close_the_connection() {
    for bad in [
        "48",                       // unknown packet type
        "42{\"not\":\"an array\"}", // event payload not an array
        "42[]",                     // no event name
        "42[1]",                    // event name not a string
        "42[\"message\"",           // truncated JSON
        "40\"string auth\"",        // CONNECT auth not an object
        "4abc",                     // not a packet
        "42/custom,[\"message\"]",  // a namespace not joined
        "41[\"message\"]",          // DISCONNECT with a payload
        "4/abc",                    // a namespace without its comma
        "42[\"message\"]0",         // trailing bytes
        "42abc[\"message\"]",       // not an ack id
    ] {
        let mut conn = joined_server(SioConfig::default());
        conn.engine_mut().handle_frame(ms(2), text(bad));
        let events = sio_events(&mut conn, ms(2));
        assert!(
            matches!(events.last(), Some(ServerSioEvent::Closed(_))),
            "{bad}: {events:?}"
        );
    }
    assert!(
        closes_with_parse_error(&[WsFrame::Binary(vec![1].into())]),
        "an attachment nobody announced"
    );
}

#[test]
fn a_client_that_joins_no_namespace_is_closed_after_the_connect_timeout() {
    let engine = lone_server(V4, Transport::WebSocket, test_config());
    let config = SioConfig {
        connect_timeout: ms(250),
        ..SioConfig::default()
    };
    let mut conn = ServerConnection::new(ms(0), engine, config);
    assert_eq!(conn.poll_timeout(), Some(ms(250)));
    conn.handle_timeout(ms(250));
    assert_eq!(
        sio_events(&mut conn, ms(250)),
        [ServerSioEvent::Closed(CloseReason::ConnectTimeout)]
    );
    let mut joined = joined_server(config);
    joined.handle_timeout(ms(250));
    assert_eq!(sio_events(&mut joined, ms(250)), []);
}

#[test]
fn a_broadcast_is_encoded_once_and_skips_the_sender() {
    let mut conns: Vec<ServerConnection> = (0..3)
        .map(|_| joined_server(SioConfig::default()))
        .collect();
    for c in &mut conns {
        while c.poll_transmit(ms(2)).is_some() {}
    }
    let mut rooms = Rooms::new();
    for i in 0..3 {
        rooms.join(i, "/", "chat");
    }
    rooms.join(0, "/", "other");
    assert_eq!(
        rooms.rooms_of(&0, "/").collect::<Vec<_>>(),
        ["chat", "other"]
    );
    let encoded = Encoded::event("/", "news", vec![SioData::Binary(vec![7])], None);
    let to = rooms.recipients("/", "chat", Some(&0));
    assert_eq!(to, [1, 2]);
    let failed = broadcast(
        &encoded,
        conns.iter_mut().enumerate().filter(|(i, _)| to.contains(i)),
    );
    assert!(failed.is_empty());
    assert_eq!(
        conns[0].poll_transmit(ms(3)),
        None,
        "the sender gets nothing"
    );
    let mut frames = Vec::new();
    for c in &mut conns[1..] {
        let sent: Vec<_> = std::iter::from_fn(|| c.poll_transmit(ms(3))).collect();
        assert_eq!(sent.len(), 2, "{sent:?}");
        frames.push(sent);
    }
    let shared = |a: &ServerTransmit, b: &ServerTransmit| match (a, b) {
        (ServerTransmit::Frame(WsFrame::Text(x)), ServerTransmit::Frame(WsFrame::Text(y))) => {
            std::sync::Arc::ptr_eq(x, y)
        }
        (ServerTransmit::Frame(WsFrame::Binary(x)), ServerTransmit::Frame(WsFrame::Binary(y))) => {
            std::sync::Arc::ptr_eq(x, y)
        }
        _ => false,
    };
    assert!(shared(&frames[0][0], &frames[1][0]), "the same text bytes");
    assert!(
        shared(&frames[0][1], &frames[1][1]),
        "the same attachment bytes"
    );
    assert_eq!(
        frames[0][0],
        ServerTransmit::Frame(text(r#"451-["news",{"_placeholder":true,"num":0}]"#))
    );
    rooms.leave(&1, "/", "chat");
    rooms.leave_all(&2);
    assert_eq!(rooms.recipients("/", "chat", None), [0]);
}

#[test]
fn a_recipient_with_a_full_queue_is_closed_not_skipped() {
    let engine = lone_server(
        V4,
        Transport::Polling,
        ServerConfig {
            max_queued_messages: 1,
            ..test_config()
        },
    );
    let mut slow = ServerConnection::new(ms(0), engine, SioConfig::default());
    slow.engine_mut().handle_post(ms(1), b"40");
    sio_events(&mut slow, ms(1));
    slow.accept("/", "s");
    let mut fast = joined_server(SioConfig::default());
    let encoded = Encoded::event("/", "news", vec![], None);
    let failed = broadcast(&encoded, [("slow", &mut slow), ("fast", &mut fast)]);
    assert_eq!(failed, [("slow", CloseReason::QueueFull(1))]);
    assert_eq!(
        sio_events(&mut slow, ms(2)).last(),
        Some(&ServerSioEvent::Closed(CloseReason::QueueFull(1)))
    );
    assert!(fast.is_connected("/"));
}

// ------------------------------------------------------------ arbitrary inputs

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    /// One thing a driver can do to a server connection (quinn-proto's `Operation` sequences).
    #[derive(Debug, Clone)]
    enum Op {
        Poll,
        AbortPoll,
        Post(Vec<u8>),
        Upgrade,
        Frame(bool, Vec<u8>),
        WsClosed,
        Advance(u16),
        Send(Vec<u8>, bool),
        Emit,
        Close,
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..24),
            prop::sample::select(vec![
                "2probe",
                "3probe",
                "5",
                "2",
                "3",
                "1",
                "6",
                "40",
                "40{\"a\":1}",
                "42[\"m\",1]",
                "451-[\"m\",{\"_placeholder\":true,\"num\":0}]",
                "4",
                "0",
                "4\u{1e}4",
                "1:2",
                "2:40",
                "b4AQI=",
                "bAQI=",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Poll),
            Just(Op::AbortPoll),
            bytes().prop_map(Op::Post),
            Just(Op::Upgrade),
            (any::<bool>(), bytes()).prop_map(|(t, b)| Op::Frame(t, b)),
            Just(Op::WsClosed),
            (0u16..700).prop_map(Op::Advance),
            (bytes(), any::<bool>()).prop_map(|(b, t)| Op::Send(b, t)),
            Just(Op::Emit),
            Just(Op::Close),
        ]
    }

    /// One thing a checking driver does to a client session, or one answer it hands it.
    #[derive(Debug, Clone)]
    enum ClientOp {
        Poll,
        PollAnswer(u16, Vec<u8>),
        PollPackets(Vec<u8>),
        PostAnswer(u16),
        RawPost(Vec<u8>),
        RawFrame(Vec<u8>),
        Send(Vec<u8>),
        Upgrade,
        BeginUpgrade,
        Probe,
        FinishUpgrade,
        WsOpen,
        WsClosed,
        Frame(Vec<u8>),
        Advance(u16),
        Abort,
        Close,
    }

    fn client_op() -> impl Strategy<Value = ClientOp> {
        let status = prop::sample::select(vec![200u16, 400, 500]);
        prop_oneof![
            Just(ClientOp::Poll),
            (status.clone(), bytes()).prop_map(|(s, b)| ClientOp::PollAnswer(s, b)),
            bytes().prop_map(ClientOp::PollPackets),
            status.prop_map(ClientOp::PostAnswer),
            bytes().prop_map(ClientOp::RawPost),
            bytes().prop_map(ClientOp::RawFrame),
            bytes().prop_map(ClientOp::Send),
            Just(ClientOp::Upgrade),
            Just(ClientOp::BeginUpgrade),
            Just(ClientOp::Probe),
            Just(ClientOp::FinishUpgrade),
            Just(ClientOp::WsOpen),
            Just(ClientOp::WsClosed),
            bytes().prop_map(ClientOp::Frame),
            (0u16..700).prop_map(ClientOp::Advance),
            Just(ClientOp::Abort),
            Just(ClientOp::Close),
        ]
    }

    proptest! {
        /// No input sequence panics, a poll is only ever answered while one
        /// is pending, and nothing happens after `Closed`.
        #[test]
        fn server_connection_survives_any_driver(
            v3 in any::<bool>(),
            websocket in any::<bool>(),
            ops in proptest::collection::vec(op(), 0..40),
        ) {
            let version = if v3 { V3 } else { V4 };
            let transport = if websocket { Transport::WebSocket } else { Transport::Polling };
            let config = ServerConfig { max_queued_messages: 8, ..test_config() };
            let engine = ServerSession::new(ms(0), version, "sid", transport, false, config);
            let mut conn = ServerConnection::new(ms(0), engine, SioConfig::default());
            let mut now = ms(0);
            let mut pending = transport == Transport::Polling;
            let mut closed = false;
            for op in ops {
                match op {
                    Op::Poll => {
                        if conn.engine_mut().handle_poll(now).is_ok() {
                            prop_assert!(!pending, "a second poll accepted");
                            pending = true;
                        }
                    }
                    Op::AbortPoll => {
                        conn.engine_mut().handle_poll_aborted(now);
                        pending = false;
                    }
                    Op::Post(body) => {
                        let resp = conn.engine_mut().handle_post(now, &body);
                        prop_assert!([200, 400, 413].contains(&resp.status));
                    }
                    Op::Upgrade => {
                        let _ = conn.engine_mut().handle_upgrade(now);
                    }
                    Op::Frame(text_frame, b) => {
                        let frame = match (text_frame, String::from_utf8(b.clone())) {
                            (true, Ok(t)) => WsFrame::Text(t.into()),
                            _ => WsFrame::Binary(b.into()),
                        };
                        conn.engine_mut().handle_frame(now, frame);
                    }
                    Op::WsClosed => conn.engine_mut().handle_ws_closed(now),
                    Op::Advance(d) => {
                        now += ms(u64::from(d));
                        if conn.poll_timeout().is_some_and(|t| t <= now) {
                            conn.handle_timeout(now);
                        }
                    }
                    Op::Send(b, text_message) => {
                        let message = if text_message {
                            Outbound::text(&String::from_utf8_lossy(&b))
                        } else {
                            Outbound::binary(b)
                        };
                        let _ = conn.engine_mut().send(message);
                    }
                    Op::Emit => {
                        let _ = conn.emit("/", "news", vec![SioData::Binary(vec![1])], Some(1));
                    }
                    Op::Close => conn.close(now),
                }
                while let Some(t) = conn.poll_transmit(now) {
                    if let ServerTransmit::Poll(resp) = t {
                        prop_assert!(pending, "an answer without a pending poll");
                        prop_assert_eq!(resp.status, 200);
                        pending = false;
                    }
                }
                while let Some(e) = conn.poll_event(now) {
                    prop_assert!(!closed, "{:?} after Closed", e);
                    closed = matches!(e, ServerSioEvent::Closed(_));
                    if let ServerSioEvent::Connect { namespace, .. } = e {
                        conn.accept(&namespace, "s");
                    }
                }
            }
        }

        /// A client session with any switches, driven by hand in any order
        /// and fed anything, never panics, opens no second WebSocket while
        /// one is open, sends no frame without one, and reports nothing
        /// after `Closed`.
        #[test]
        fn a_checking_client_session_survives_any_driver(
            v3 in any::<bool>(),
            switches in any::<[bool; 5]>(),
            ops in proptest::collection::vec(client_op(), 0..40),
        ) {
            let version = if v3 { V3 } else { V4 };
            let mut config = ClientConfig::new(version, Transport::Polling);
            config.upgrade = switches[0];
            config.auto_poll = switches[1];
            config.auto_pong = switches[2];
            config.auto_ping = switches[3];
            config.watch_heartbeat = switches[4];
            config.packet_events = true;
            let mut c = ClientSession::new(ms(0), config);
            let mut now = ms(0);
            let open = ServerSession::new(ms(0), version, "s", Transport::Polling, false, test_config())
                .poll_transmit(ms(0));
            if let Some(ServerTransmit::Poll(resp)) = open {
                c.handle_poll_response(now, 200, &resp.body);
            }
            let (mut ws_asked, mut ws_open, mut closed) = (false, false, false);
            for op in ops {
                match op {
                    ClientOp::Poll => { let _ = c.poll(now); }
                    ClientOp::PollAnswer(status, b) => c.handle_poll_response(now, status, &b),
                    // What a driver does with a 200 it decoded itself.
                    ClientOp::PollPackets(b) => match Payload::decode(version, &b) {
                        Ok(payload) => c.handle_poll_packets(now, payload.packets),
                        Err(e) => c.abort(CloseReason::ParseError(e.to_string())),
                    },
                    ClientOp::PostAnswer(status) => c.handle_post_response(now, status, b"ok"),
                    ClientOp::RawPost(b) => { let _ = c.send_raw_post(b, "text/plain;charset=UTF-8"); }
                    ClientOp::RawFrame(b) => {
                        let _ = c.send_raw_frame(WsFrame::Text(String::from_utf8_lossy(&b).into()));
                    }
                    ClientOp::Send(b) => { let _ = c.send(Outbound::text(&String::from_utf8_lossy(&b))); }
                    ClientOp::Upgrade => c.upgrade(now),
                    ClientOp::BeginUpgrade => c.begin_upgrade(now),
                    ClientOp::Probe => c.probe(now),
                    ClientOp::FinishUpgrade => c.finish_upgrade(now),
                    ClientOp::WsOpen => {
                        if std::mem::take(&mut ws_asked) {
                            ws_open = true;
                            c.handle_ws_open(now);
                        }
                    }
                    ClientOp::WsClosed => {
                        if std::mem::take(&mut ws_asked) || std::mem::take(&mut ws_open) {
                            c.handle_ws_closed(now);
                        }
                    }
                    ClientOp::Frame(b) => {
                        if ws_open {
                            c.handle_frame(now, match String::from_utf8(b.clone()) {
                                Ok(t) => WsFrame::Text(t.into()),
                                Err(_) => WsFrame::Binary(b.into()),
                            });
                        }
                    }
                    ClientOp::Advance(d) => {
                        now += ms(u64::from(d));
                        if c.poll_timeout().is_some_and(|t| t <= now) {
                            c.handle_timeout(now);
                        }
                    }
                    ClientOp::Abort => c.abort(CloseReason::TransportClosed),
                    ClientOp::Close => c.close(now),
                }
                while let Some(t) = c.poll_transmit(now) {
                    match t {
                        ClientTransmit::OpenWebSocket(_) => {
                            prop_assert!(!ws_open && !ws_asked, "a second WebSocket");
                            ws_asked = true;
                        }
                        ClientTransmit::Frame(_) => prop_assert!(ws_open, "a frame without a WebSocket"),
                        ClientTransmit::CloseWebSocket => {
                            ws_open = false;
                            ws_asked = false;
                        }
                        ClientTransmit::Http(_) => {}
                    }
                }
                while let Some(e) = c.poll_event() {
                    prop_assert!(!closed, "{:?} after Closed", e);
                    closed = matches!(e, ClientEvent::Closed(_));
                }
            }
        }

        /// A client session fed any answers and frames never panics.
        #[test]
        fn client_session_survives_any_server(
            v3 in any::<bool>(),
            inputs in proptest::collection::vec((0u8..4, bytes()), 0..30),
        ) {
            let version = if v3 { V3 } else { V4 };
            let mut c = ClientSession::new(ms(0), ClientConfig::new(version, Transport::Polling));
            let mut now = ms(0);
            let open = ServerSession::new(ms(0), version, "s", Transport::Polling, false, test_config())
                .poll_transmit(ms(0));
            if let Some(ServerTransmit::Poll(resp)) = open {
                c.handle_poll_response(now, 200, &resp.body);
            }
            for (kind, b) in inputs {
                while c.poll_transmit(now).is_some() {}
                match kind {
                    0 => c.handle_poll_response(now, 200, &b),
                    1 => c.handle_ws_open(now),
                    2 => c.handle_frame(now, match String::from_utf8(b.clone()) {
                        Ok(t) => WsFrame::Text(t.into()),
                        Err(_) => WsFrame::Binary(b.into()),
                    }),
                    _ => {
                        now += ms(u64::from(b.first().copied().unwrap_or(0)) * 4);
                        c.handle_timeout(now);
                    }
                }
                while c.poll_event().is_some() {}
            }
        }
    }
}

#[test]
fn timers_that_never_fire_do_not_overflow() {
    let config = ServerConfig {
        ping_interval: Duration::MAX,
        ping_timeout: Duration::MAX,
        upgrade_timeout: Duration::MAX,
        ..ServerConfig::default()
    };
    for version in [V3, V4] {
        let mut s = lone_server(version, Transport::Polling, config.clone());
        s.handle_upgrade(ms(5)).unwrap();
        s.close(ms(6));
        assert_eq!(s.poll_timeout(), Some(Duration::MAX));
        let engine = lone_server(version, Transport::WebSocket, config.clone());
        let sio = SioConfig {
            connect_timeout: Duration::MAX,
            ..SioConfig::default()
        };
        let mut conn = ServerConnection::new(ms(7), engine, sio);
        conn.handle_timeout(ms(8));
        assert!(!conn.engine().is_closed());
    }
}
