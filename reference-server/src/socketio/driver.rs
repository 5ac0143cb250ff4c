//! The tokio driver of the server sessions: HTTP long-polling and WebSocket in, transmits out, one task per session.
//!
//! Every request is routed by `protocols::session::engineio::route`; an
//! error is answered as Node answers it (`400` and
//! `{"code":<number>,"message":...}`). Each session is a sans-IO state
//! machine behind a mutex, and one task owns its timer and its WebSocket's
//! write half. Inputs (a poll, a POST, a frame read by the WebSocket's
//! reader task) are fed to the session where they arrive, then the task is
//! woken; the task runs the app on what happened, answers the pending poll
//! with everything queued (one response: batching is the session's job)
//! and writes the frames. Writing waits for the socket, so a slow reader's
//! messages stay in its session's bounded queue, and a full queue closes
//! that session with a logged reason. The heartbeat counts `pingTimeout`
//! from when a ping actually left, so a busy server does not time out a
//! client whose pong it has not read yet; and a heartbeat that lapsed is
//! judged only once the input waiting in the session's sockets (its
//! WebSocket's, or those of the HTTP connections that carried its latest
//! polling requests) has been read, for at most one more `pingTimeout`.
//!
//! What a handler held ([`Socket::hold_until`]) waits in its session's
//! ordered queue of answers: a small task awaits the handler's future and
//! wakes the session, which then sends the queue's head and everything
//! behind it that waits for nothing more. A session that ends with answers
//! still held hands their broadcasts to a task that delivers them, in
//! order, as their futures allow.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method as HttpMethod, StatusCode};
use axum::response::Response;
use futures_util::{stream::SplitSink, SinkExt, StreamExt};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use protocols::engineio::EioVersion;
use protocols::session::engineio::{
    route, Method, Route, ServerConfig, ServerSession, ServerTransmit,
};
use protocols::session::socketio::{
    Config as SioConfig, Encoded, ServerConnection, ServerSioEvent,
};
use protocols::session::{CloseReason, Data, HttpError, HttpResponse, Outbound, WsFrame};
use protocols::socketio::Data as SioData;
use tokio::sync::{oneshot, Notify};
use tokio_tungstenite::tungstenite::{self, protocol::Role, Bytes, Message};
use tokio_tungstenite::WebSocketStream;

use super::peer::PeerSocket;
use super::{lock, App, Broadcast, Event, Gate, Recipients, SharedRooms, Socket};
use crate::read_ahead::{ReadAhead, WS_READ_BUFFER};

/// What a transport announces and enforces.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Engine.IO sessions' timings, payload size and queue bounds.
    pub engine: ServerConfig,
    /// The Socket.IO connections' bounds and connect timeout.
    pub socketio: SioConfig,
    /// The Engine.IO revisions served.
    pub versions: Vec<EioVersion>,
}

/// How long a lapsed heartbeat's check waits between looks at the sockets.
const READ_FIRST_STEP: Duration = Duration::from_millis(1);

/// How many HTTP connections a polling session remembers the sockets of
/// (its latest requests'): a client keeps its pending GET on one and sends
/// its POSTs on another, or a few.
const RECENT_PEERS: usize = 4;

/// What the heartbeat of a transport's sessions did, since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeartbeatStats {
    /// Heartbeats judged after they lapsed; each ends as a timeout, an
    /// answer read late, or a session the client closed meanwhile.
    pub lapses: u64,
    /// Sessions closed because the heartbeat's answer did not come in time.
    pub timeouts: u64,
    /// Of those, sessions with input still unread in their socket when
    /// they were closed (the server could not read it within a further
    /// `pingTimeout`); zero on a server that keeps up.
    pub timeouts_with_input: u64,
    /// Answers that were waiting when the heartbeat lapsed and were read
    /// before it was judged: sessions a busy server would otherwise have
    /// closed.
    pub read_late: u64,
}

#[derive(Default)]
struct Counters {
    lapses: AtomicU64,
    timeouts: AtomicU64,
    timeouts_with_input: AtomicU64,
    read_late: AtomicU64,
}

impl Session {
    /// Whether input waits unread on a socket the session's latest polling
    /// requests came on (none once it runs over WebSocket).
    fn polling_input_waits(&self) -> bool {
        let sockets: Vec<PeerSocket> = {
            let mut state = lock(&self.state);
            if state.machine.engine().transport() != protocols::session::Transport::Polling {
                state.peers = RecentPeers::default();
                return false;
            }
            state.peers.sockets().cloned().collect()
        };
        // Looked at outside the session's lock: its requests go on meanwhile.
        sockets.iter().any(PeerSocket::has_unread_input)
    }
}

/// What answers a plain Engine.IO message: the message to send back, if any.
pub type EngineHandler = dyn Fn(Data) -> Option<Outbound> + Send + Sync;

#[derive(Clone)]
enum Application {
    Socketio(Arc<dyn App>),
    Engine(Arc<EngineHandler>),
}

/// A Socket.IO (or plain Engine.IO) app served over HTTP long-polling and
/// WebSocket; cheap to clone, every clone serves the same sessions.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    app: Application,
    options: Options,
    origin: Instant,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    rooms: SharedRooms,
    /// Woken whenever a session ends (shutdown waits for the table to empty).
    ended: Notify,
    stats: Counters,
    next_id: Mutex<u64>,
}

/// The WebSocket of a session: over the upgraded HTTP connection, read ahead.
type Ws = WebSocketStream<ReadAhead<TokioIo<hyper::upgrade::Upgraded>>>;

type Sink = SplitSink<Ws, Message>;

/// A WebSocket's write half, and the socket it runs on when known.
type Attached = (Sink, Option<PeerSocket>);

/// One session: its state machine, the poll waiting for an answer, and the
/// task that drives it.
struct Session {
    sid: String,
    state: Mutex<State>,
    wake: Arc<Notify>,
    /// The write half of a WebSocket for the session's task, handed over
    /// once (a session gets at most one WebSocket). A oneshot: a bounded
    /// mpsc channel allocates a block of 32 slots up front, 2 KiB for
    /// each session, idle ones included.
    attach: Mutex<Option<oneshot::Sender<Attached>>>,
}

struct State {
    machine: Machine,
    poll: Option<oneshot::Sender<HttpResponse>>,
    /// The answer to a polling handshake, taken by its request.
    handshake: Option<HttpResponse>,
    /// The sockets of the HTTP connections that carried the latest polling requests.
    peers: RecentPeers,
}

/// The sockets of the HTTP connections a polling session's latest requests
/// came on, newest first, each once: where its next input may be waiting.
#[derive(Debug, Default)]
struct RecentPeers([Option<PeerSocket>; RECENT_PEERS]);

impl RecentPeers {
    /// A request came on `peer`: it is the newest (the oldest is forgotten).
    fn note(&mut self, peer: Option<PeerSocket>) {
        let Some(peer) = peer else { return };
        let slots = &mut self.0;
        let end = slots
            .iter()
            .position(|p| p.as_ref().is_none_or(|p| p.same(&peer)))
            .unwrap_or(RECENT_PEERS - 1);
        slots[..=end].rotate_right(1);
        slots[0] = Some(peer);
    }

    fn sockets(&self) -> impl Iterator<Item = &PeerSocket> {
        self.0.iter().flatten()
    }
}

/// The state machine of a session and the app it serves. One lives in
/// each session for its whole life and is never moved, so the smaller
/// variant's padding costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
enum Machine {
    Socketio {
        conn: ServerConnection,
        app: Arc<dyn App>,
        joined: BTreeSet<String>,
        /// The answers of handlers, in order, from the first that is held.
        held: VecDeque<Held>,
    },
    Engine {
        session: ServerSession,
        handler: Arc<EngineHandler>,
    },
}

impl Transport {
    /// Serves a Socket.IO app.
    pub fn socketio(app: Arc<dyn App>, options: Options) -> Transport {
        Transport::new(Application::Socketio(app), options)
    }

    /// Serves a plain Engine.IO app: `handler` answers each message.
    pub fn engine(handler: Arc<EngineHandler>, options: Options) -> Transport {
        Transport::new(Application::Engine(handler), options)
    }

    fn new(app: Application, options: Options) -> Transport {
        Transport {
            inner: Arc::new(Inner {
                app,
                options,
                origin: Instant::now(),
                sessions: Mutex::new(HashMap::new()),
                rooms: SharedRooms::default(),
                ended: Notify::new(),
                stats: Counters::default(),
                next_id: Mutex::new(0),
            }),
        }
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        lock(&self.inner.sessions).len()
    }

    /// Closes every session (a close packet after what is queued).
    pub fn close_all(&self) {
        let now = self.inner.now();
        let sessions: Vec<_> = lock(&self.inner.sessions).values().cloned().collect();
        for s in sessions {
            match &mut lock(&s.state).machine {
                Machine::Socketio { conn, .. } => conn.close(now),
                Machine::Engine { session, .. } => session.close(now),
            }
            s.wake.notify_one();
        }
    }

    /// Waits until no session is left.
    pub async fn closed(&self) {
        loop {
            let ended = self.inner.ended.notified();
            if self.session_count() == 0 {
                return;
            }
            ended.await;
        }
    }

    /// Answers one HTTP request to the transport's path.
    pub async fn handle(&self, mut req: Request) -> Response {
        let method = match *req.method() {
            HttpMethod::GET => Method::Get,
            HttpMethod::POST => Method::Post,
            _ => Method::Other,
        };
        let query = req.uri().query().unwrap_or("").to_owned();
        let websocket = wants_websocket(req.headers());
        let inner = &self.inner;
        let route = match route(method, &query, websocket, &inner.options.versions) {
            Ok(r) => r,
            Err(e) => return respond(e.response()),
        };
        match route {
            Route::Handshake {
                version,
                transport: protocols::session::Transport::Polling,
                b64,
            } => {
                let session = self.open(version, protocols::session::Transport::Polling, b64);
                let answer = {
                    let mut state = lock(&session.state);
                    state.peers.note(peer_socket(&req));
                    state.handshake.take()
                };
                session.wake.notify_one();
                match answer {
                    Some(open) => respond(open),
                    None => respond(HttpError::BadRequest.response()),
                }
            }
            Route::Handshake { version, b64, .. } => {
                let peer = peer_socket(&req);
                let Some((response, upgrade)) =
                    accept_websocket(&mut req, inner.options.engine.max_payload)
                else {
                    return respond(HttpError::BadRequest.response());
                };
                let this = self.clone();
                tokio::spawn(async move {
                    let Some(ws) = upgrade.await else { return };
                    let session = this.open(version, protocols::session::Transport::WebSocket, b64);
                    this.attach_websocket(session, ws, peer).await;
                });
                response
            }
            Route::Poll { version, sid } => {
                let Some(session) = self.find(&sid, version) else {
                    return respond(unknown_or_bad(self, &sid));
                };
                let now = inner.now();
                let rx = {
                    let mut state = lock(&session.state);
                    state.peers.note(peer_socket(&req));
                    match state.machine.engine().handle_poll(now) {
                        Ok(()) => {
                            let (tx, rx) = oneshot::channel();
                            state.poll = Some(tx);
                            Ok(rx)
                        }
                        Err(refusal) => Err(refusal),
                    }
                };
                session.wake.notify_one();
                match rx {
                    Ok(rx) => wait_poll(&session, rx).await,
                    Err(refusal) => respond(refusal),
                }
            }
            Route::Post { version, sid } => {
                let Some(session) = self.find(&sid, version) else {
                    return respond(unknown_or_bad(self, &sid));
                };
                let peer = peer_socket(&req);
                let body = read_body(req.into_body(), inner.options.engine.max_payload).await;
                let Ok(body) = body else {
                    return respond(HttpError::BadRequest.response());
                };
                let answer = {
                    let mut state = lock(&session.state);
                    state.peers.note(peer);
                    state.machine.engine().handle_post(inner.now(), &body)
                };
                session.wake.notify_one();
                respond(answer)
            }
            Route::Upgrade { version, sid } => {
                let Some(session) = self.find(&sid, version) else {
                    return respond(unknown_or_bad(self, &sid));
                };
                let peer = peer_socket(&req);
                let Some((response, upgrade)) =
                    accept_websocket(&mut req, inner.options.engine.max_payload)
                else {
                    return respond(HttpError::BadRequest.response());
                };
                let refused = lock(&session.state)
                    .machine
                    .engine()
                    .handle_upgrade(inner.now());
                if let Err(refusal) = refused {
                    return respond(refusal);
                }
                let this = self.clone();
                tokio::spawn(async move {
                    match upgrade.await {
                        Some(ws) => this.attach_websocket(session, ws, peer).await,
                        None => {
                            lock(&session.state)
                                .machine
                                .engine()
                                .handle_ws_closed(this.inner.now());
                            session.wake.notify_one();
                        }
                    }
                });
                response
            }
        }
    }

    /// A new session, registered, its task running.
    fn open(
        &self,
        version: EioVersion,
        transport: protocols::session::Transport,
        b64: bool,
    ) -> Arc<Session> {
        let inner = &self.inner;
        let now = inner.now();
        let sid = inner.new_id();
        let mut engine = ServerSession::new(
            now,
            version,
            sid.clone(),
            transport,
            b64,
            inner.options.engine.clone(),
        );
        // As Node does, the handshake GET is answered with the open packet
        // alone: what the app sends on connect goes to the next poll.
        let handshake = match transport {
            protocols::session::Transport::Polling => engine.poll_transmit(now),
            protocols::session::Transport::WebSocket => None,
        };
        let machine = match &inner.app {
            Application::Socketio(app) => Machine::Socketio {
                conn: ServerConnection::new(now, engine, inner.options.socketio),
                app: app.clone(),
                joined: BTreeSet::new(),
                held: VecDeque::new(),
            },
            Application::Engine(handler) => Machine::Engine {
                session: engine,
                handler: handler.clone(),
            },
        };
        let (attach, attached) = oneshot::channel();
        let session = Arc::new(Session {
            sid: sid.clone(),
            state: Mutex::new(State {
                machine,
                poll: None,
                peers: RecentPeers::default(),
                handshake: match handshake {
                    Some(ServerTransmit::Poll(response)) => Some(response),
                    _ => None,
                },
            }),
            wake: Arc::new(Notify::new()),
            attach: Mutex::new(Some(attach)),
        });
        lock(&inner.sessions).insert(sid.clone(), session.clone());
        tracing::debug!(%sid, ?version, ?transport, "session opened");
        tokio::spawn(self.clone().drive(session.clone(), Some(attached)));
        session
    }

    /// The open session `sid`, if its version is `version`.
    fn find(&self, sid: &str, version: EioVersion) -> Option<Arc<Session>> {
        let session = lock(&self.inner.sessions).get(sid).cloned()?;
        let matches = lock(&session.state).machine.engine().version() == version;
        matches.then_some(session)
    }

    /// Hands the write half to the session's task and reads frames into the session until the socket ends.
    async fn attach_websocket(&self, session: Arc<Session>, ws: Ws, peer: Option<PeerSocket>) {
        let (sink, mut stream) = ws.split();
        let Some(attach) = lock(&session.attach).take() else {
            return;
        };
        if attach.send((sink, peer)).is_err() {
            return;
        }
        session.wake.notify_one();
        while let Some(message) = stream.next().await {
            let frame = match message {
                Ok(Message::Text(t)) => WsFrame::Text(Arc::from(t.as_str())),
                Ok(Message::Binary(b)) => WsFrame::Binary(Arc::from(&b[..])),
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                Ok(Message::Close(_)) => break,
                Err(e) => {
                    tracing::debug!(sid = %session.sid, error = %e, "websocket read failed");
                    break;
                }
            };
            lock(&session.state)
                .machine
                .engine()
                .handle_frame(self.inner.now(), frame);
            session.wake.notify_one();
        }
        lock(&session.state)
            .machine
            .engine()
            .handle_ws_closed(self.inner.now());
        session.wake.notify_one();
    }

    /// The session's task: timers, the app, transmits, until the session ends.
    async fn drive(self, session: Arc<Session>, mut attached: Option<oneshot::Receiver<Attached>>) {
        let inner = &self.inner;
        let mut sink: Option<Sink> = None;
        // The WebSocket's socket, looked at only while `sink` holds the connection open.
        let mut peer: Option<PeerSocket> = None;
        // Frames of a WebSocket session taken before its socket was handed over.
        let mut backlog: Vec<WsFrame> = Vec::new();
        loop {
            let deadline = lock(&session.state).machine.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until((inner.origin + d).into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                Some((s, p)) = attached_once(&mut attached) => (sink, peer) = (Some(s), p),
                () = session.wake.notified() => {}
                () = sleep => {}
            }
            let mut now = inner.now();
            let due = deadline.is_some_and(|d| now >= d);
            if due {
                // A timer is due: let the tasks that are ready run first, so
                // that a pong already on the socket is read and fed before
                // the heartbeat is judged (a busy server does not time out
                // a client that answered in time).
                tokio::task::yield_now().await;
                now = inner.now();
                let lapsed = lock(&session.state).machine.engine().heartbeat_lapsed(now);
                if lapsed {
                    let websocket = peer.as_ref().filter(|_| sink.is_some());
                    now = self
                        .read_first(&session, websocket, deadline.unwrap_or(now))
                        .await;
                }
            }
            let (mut frames, close_ws, broadcasts, closed) = {
                let mut state = lock(&session.state);
                if due {
                    state.machine.handle_timeout(now);
                }
                state.pump(now, &session.sid, &inner.rooms, &session.wake)
            };
            inner.deliver_all(broadcasts);
            if sink.is_none() && !closed {
                backlog.append(&mut frames);
            } else if !backlog.is_empty() {
                backlog.append(&mut frames);
                frames = std::mem::take(&mut backlog);
            }
            if let Some(s) = sink.as_mut() {
                let mut failed = false;
                for frame in frames {
                    if let Err(e) = s.feed(ws_message(frame)).await {
                        tracing::debug!(sid = %session.sid, error = %e, "websocket write failed");
                        failed = true;
                        break;
                    }
                }
                if !failed {
                    failed = s.flush().await.is_err();
                }
                if close_ws || failed {
                    let _ = s.close().await;
                    sink = None;
                    if failed {
                        lock(&session.state)
                            .machine
                            .engine()
                            .handle_ws_closed(inner.now());
                        continue;
                    }
                }
            }
            if closed {
                break;
            }
        }
        lock(&inner.sessions).remove(&session.sid);
        let held = match &mut lock(&session.state).machine {
            Machine::Socketio { held, .. } => std::mem::take(held),
            Machine::Engine { .. } => VecDeque::new(),
        };
        if !held.is_empty() {
            tokio::spawn(deliver_after(self.inner.clone(), held));
        }
        if let Some(mut s) = sink {
            let _ = s.close().await;
        }
        inner.ended.notify_waiters();
        tracing::debug!(sid = %session.sid, "session ended");
    }

    /// The heartbeat of `session` lapsed (the timer was due at `due`): the
    /// answer may have arrived and wait unread in its sockets because the
    /// server was busy: its WebSocket's (`websocket`), or over polling those
    /// of the HTTP connections its latest requests came on. While bytes
    /// wait there and the heartbeat still lapses, waits (at most
    /// `pingTimeout` more) for the WebSocket's reader task, or hyper, to
    /// feed them, so the timeout is judged on everything that has arrived.
    /// Counted in [`HeartbeatStats`]; returns the time the heartbeat was
    /// judged at, for the timers.
    async fn read_first(
        &self,
        session: &Session,
        websocket: Option<&PeerSocket>,
        due: Duration,
    ) -> Duration {
        let inner = &self.inner;
        inner.stats.lapses.fetch_add(1, Ordering::Relaxed);
        let started = inner.now();
        let give_up = started + inner.options.engine.ping_timeout;
        let mut unread = false;
        loop {
            let now = inner.now();
            let (closed, lapsed) = {
                let mut state = lock(&session.state);
                let engine = state.machine.engine();
                (engine.is_closed(), engine.heartbeat_lapsed(now))
            };
            if closed {
                // The client closed meanwhile (what was unread was its close):
                // nothing is left to judge.
                return now;
            }
            if !lapsed {
                inner.stats.read_late.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    sid = %session.sid,
                    late_ms = (started.saturating_sub(due)).as_millis() as u64,
                    waited_ms = (now - started).as_millis() as u64,
                    "heartbeat answer read after its deadline: the session stays open"
                );
                return now;
            }
            let waiting = websocket.is_some_and(PeerSocket::has_unread_input)
                || session.polling_input_waits();
            if !waiting || now >= give_up {
                inner.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                if waiting || unread {
                    inner
                        .stats
                        .timeouts_with_input
                        .fetch_add(1, Ordering::Relaxed);
                }
                tracing::warn!(
                    sid = %session.sid,
                    late_ms = (started.saturating_sub(due)).as_millis() as u64,
                    input_unread = waiting,
                    "no heartbeat answer in time: the session is closed"
                );
                return now;
            }
            unread = true;
            // The reader task wakes the session after each frame it feeds.
            tokio::select! {
                biased;
                () = session.wake.notified() => {}
                () = tokio::time::sleep(READ_FIRST_STEP) => {}
            }
        }
    }

    /// Sessions closed for a lapsed heartbeat, and answers read after their deadline.
    pub fn heartbeat_stats(&self) -> HeartbeatStats {
        let s = &self.inner.stats;
        HeartbeatStats {
            lapses: s.lapses.load(Ordering::Relaxed),
            timeouts: s.timeouts.load(Ordering::Relaxed),
            timeouts_with_input: s.timeouts_with_input.load(Ordering::Relaxed),
            read_late: s.read_late.load(Ordering::Relaxed),
        }
    }

    /// A handle for what the app does outside its handlers: emit to a room
    /// or a client, change membership (an admin API trigger, a timer).
    pub fn hub(&self) -> Hub {
        Hub {
            inner: Arc::downgrade(&self.inner),
        }
    }
}

/// Emits and membership changes from outside a handler, on a running
/// [`Transport`]. It holds the transport weakly: once the transport is
/// gone, every call does nothing. Called from inside a handler, its
/// emits are delivered when the handler returns, like the `Socket`'s.
#[derive(Clone)]
pub struct Hub {
    inner: std::sync::Weak<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// Emits an event to every member of `room` of `namespace`, encoded
    /// once; returns how many clients it was queued for (deferred: 0).
    pub fn emit_to_room(
        &self,
        namespace: &str,
        room: &str,
        name: &str,
        args: Vec<SioData>,
    ) -> usize {
        self.send(Broadcast {
            namespace: namespace.to_owned(),
            to: Recipients::Room {
                room: room.to_owned(),
                except: None,
            },
            encoded: Encoded::event(namespace, name, args, None),
        })
    }

    /// Emits an event to the client `sid` in `namespace`; whether it was
    /// queued (deferred: false).
    pub fn emit_to(&self, sid: &str, namespace: &str, name: &str, args: Vec<SioData>) -> bool {
        self.send(Broadcast {
            namespace: namespace.to_owned(),
            to: Recipients::Sid(sid.to_owned()),
            encoded: Encoded::event(namespace, name, args, None),
        }) > 0
    }

    /// The Engine.IO sids of the members of `room` of `namespace`.
    pub fn members(&self, namespace: &str, room: &str) -> Vec<String> {
        match self.inner.upgrade() {
            Some(inner) => lock(&inner.rooms).recipients(namespace, room, None),
            None => Vec::new(),
        }
    }

    /// Puts the client `sid` in `room` of `namespace`.
    pub fn join(&self, sid: &str, namespace: &str, room: &str) {
        if let Some(inner) = self.inner.upgrade() {
            lock(&inner.rooms).join(sid.to_owned(), namespace, room);
        }
    }

    /// Takes the client `sid` out of `room` of `namespace`.
    pub fn leave(&self, sid: &str, namespace: &str, room: &str) {
        if let Some(inner) = self.inner.upgrade() {
            lock(&inner.rooms).leave(&sid.to_owned(), namespace, room);
        }
    }

    fn send(&self, b: Broadcast) -> usize {
        if let Some(b) = defer(b) {
            return match self.inner.upgrade() {
                Some(inner) => inner.deliver(b),
                None => 0,
            };
        }
        0
    }
}

thread_local! {
    /// The broadcasts a [`Hub`] was asked for while a handler runs on this
    /// thread (`None` outside handlers): a session's state is locked then,
    /// so they wait for the handler to return.
    static DEFERRED: std::cell::RefCell<Option<Vec<Broadcast>>> =
        const { std::cell::RefCell::new(None) };
}

/// Keeps `b` for the end of the running handler, or hands it back when
/// none runs on this thread.
fn defer(b: Broadcast) -> Option<Broadcast> {
    DEFERRED.with(|d| match d.borrow_mut().as_mut() {
        Some(queue) => {
            queue.push(b);
            None
        }
        None => Some(b),
    })
}

/// Runs a handler, collecting what a [`Hub`] was asked for meanwhile.
fn in_handler<T>(f: impl FnOnce() -> T) -> (T, Vec<Broadcast>) {
    let outer = DEFERRED.with(|d| d.borrow_mut().replace(Vec::new()));
    let out = f();
    let deferred = DEFERRED.with(|d| std::mem::replace(&mut *d.borrow_mut(), outer));
    (out, deferred.unwrap_or_default())
}

impl Inner {
    /// Queues a broadcast to its recipients; returns how many it was queued for.
    fn deliver(&self, b: Broadcast) -> usize {
        self.deliver_all(vec![b])
    }

    /// Queues broadcasts to their recipients, in order; returns how many
    /// (broadcast, recipient) pairs were queued. A run of broadcasts to the
    /// same recipients (the room messages a sender's wake-up handled) is
    /// looked up once, and each recipient's session is locked and woken
    /// once for the whole run.
    fn deliver_all(&self, broadcasts: Vec<Broadcast>) -> usize {
        let mut queued = 0;
        let mut rest = &broadcasts[..];
        while let Some(first) = rest.first() {
            let same = rest
                .iter()
                .take_while(|b| b.namespace == first.namespace && b.to == first.to)
                .count();
            let (run, tail) = rest.split_at(same);
            queued += self.deliver_run(run);
            rest = tail;
        }
        queued
    }

    /// Queues a run of broadcasts with the same namespace and recipients.
    fn deliver_run(&self, run: &[Broadcast]) -> usize {
        let Some(first) = run.first() else {
            return 0;
        };
        let recipients = match &first.to {
            Recipients::Room { room, except } => {
                lock(&self.rooms).recipients(&first.namespace, room, except.as_ref())
            }
            Recipients::Sid(sid) => vec![sid.clone()],
        };
        let sessions: Vec<Arc<Session>> = {
            let table = lock(&self.sessions);
            recipients
                .iter()
                .filter_map(|sid| table.get(sid).cloned())
                .collect()
        };
        let mut queued = 0;
        for session in sessions {
            {
                let mut state = lock(&session.state);
                for b in run {
                    if state
                        .machine
                        .send_to(&session.sid, &b.namespace, &b.encoded)
                    {
                        queued += 1;
                    }
                }
            }
            session.wake.notify_one();
        }
        queued
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// A session or socket id: 16 random bytes, base64url.
    fn new_id(&self) -> String {
        use base64::Engine as _;
        use std::hash::{BuildHasher, RandomState};
        let n = {
            let mut next = lock(&self.next_id);
            *next += 1;
            *next
        };
        let state = RandomState::new();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&state.hash_one(n).to_le_bytes());
        bytes[8..].copy_from_slice(&state.hash_one((n, self.origin.elapsed())).to_le_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}

impl State {
    /// Runs the app on what happened, then takes every transmit: the
    /// pending poll is answered here; the frames, whether to close the
    /// WebSocket, the broadcasts to deliver and whether the session ended
    /// are returned.
    fn pump(
        &mut self,
        now: Duration,
        sid: &str,
        rooms: &SharedRooms,
        wake: &Arc<Notify>,
    ) -> (Vec<WsFrame>, bool, Vec<Broadcast>, bool) {
        let mut frames = Vec::new();
        let mut close_ws = false;
        let mut broadcasts = Vec::new();
        loop {
            broadcasts.extend(self.machine.run_app(now, sid, rooms, wake));
            let mut any = false;
            while let Some(t) = self.machine.poll_transmit(now) {
                any = true;
                match t {
                    ServerTransmit::Poll(response) => match self.poll.take() {
                        Some(tx) => {
                            // A poll whose client went away is reported aborted by its guard.
                            let _ = tx.send(response);
                        }
                        None => tracing::warn!(%sid, "a poll answer with no poll waiting"),
                    },
                    ServerTransmit::Frame(f) => frames.push(f),
                    ServerTransmit::CloseWebSocket => close_ws = true,
                }
            }
            if !any {
                break;
            }
        }
        let engine = self.machine.engine();
        let closed = engine.is_closed() && !engine.has_pending_poll();
        (frames, close_ws, broadcasts, closed)
    }
}

impl Machine {
    fn engine(&mut self) -> &mut ServerSession {
        match self {
            Machine::Socketio { conn, .. } => conn.engine_mut(),
            Machine::Engine { session, .. } => session,
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        match self {
            Machine::Socketio { conn, .. } => conn.poll_timeout(),
            Machine::Engine { session, .. } => session.poll_timeout(),
        }
    }

    fn handle_timeout(&mut self, now: Duration) {
        match self {
            Machine::Socketio { conn, .. } => conn.handle_timeout(now),
            Machine::Engine { session, .. } => session.handle_timeout(now),
        }
    }

    fn poll_transmit(&mut self, now: Duration) -> Option<ServerTransmit> {
        match self {
            Machine::Socketio { conn, .. } => conn.poll_transmit(now),
            Machine::Engine { session, .. } => session.poll_transmit(now),
        }
    }

    /// Queues an encoded packet of `namespace` when the client is in it;
    /// a full queue closes the session, logged. Whether it was queued.
    fn send_to(&mut self, sid: &str, namespace: &str, encoded: &Encoded) -> bool {
        let sent = match self {
            Machine::Socketio { conn, joined, .. } => {
                if !joined.contains(namespace) {
                    return false;
                }
                conn.send_encoded(encoded)
            }
            Machine::Engine { session, .. } => encoded
                .frames()
                .iter()
                .try_for_each(|f| session.send(f.clone())),
        };
        match sent {
            Ok(()) => true,
            Err(reason) => {
                log_unsent(sid, &reason);
                false
            }
        }
    }

    /// Hands what happened to the app; returns the broadcasts it asked for
    /// (and those of held answers whose wait is over).
    fn run_app(
        &mut self,
        now: Duration,
        sid: &str,
        rooms: &SharedRooms,
        wake: &Arc<Notify>,
    ) -> Vec<Broadcast> {
        match self {
            Machine::Engine { session, handler } => {
                while let Some(event) = session.poll_event() {
                    match event {
                        protocols::session::engineio::ServerEvent::Message(data) => {
                            if let Some(answer) = handler(data) {
                                if let Err(reason) = session.send(answer) {
                                    log_unsent(sid, &reason);
                                }
                            }
                        }
                        protocols::session::engineio::ServerEvent::Closed(reason) => {
                            log_closed(sid, &reason)
                        }
                        _ => {}
                    }
                }
                Vec::new()
            }
            Machine::Socketio {
                conn,
                app,
                joined,
                held,
            } => {
                let mut broadcasts = release(conn, held, sid);
                let mut answer = |conn: &mut ServerConnection, socket: Socket<'_>, deferred| {
                    let mut out = socket.broadcasts;
                    out.extend(deferred);
                    let entry = Held {
                        ready: socket.hold.map(|gate| spawn_gate(gate, wake.clone())),
                        outbox: socket.outbox,
                        broadcasts: out,
                    };
                    if entry.ready.is_none() && held.is_empty() {
                        send_all(conn, sid, &entry.outbox);
                        entry.broadcasts
                    } else {
                        held.push_back(entry);
                        release(conn, held, sid)
                    }
                };
                while let Some(event) = conn.poll_event(now) {
                    match event {
                        ServerSioEvent::Connect { namespace, auth } => {
                            let mut socket = Socket::new(sid, &namespace, rooms);
                            let (verdict, deferred) =
                                in_handler(|| app.on_connect(&mut socket, auth.as_ref()));
                            match verdict {
                                Ok(()) => {
                                    let socket_id = sid_for(sid, &namespace);
                                    conn.accept(&namespace, &socket_id);
                                    joined.insert(namespace.clone());
                                    broadcasts.extend(answer(conn, socket, deferred));
                                }
                                Err(message) => conn.reject(&namespace, &message, None),
                            }
                        }
                        ServerSioEvent::Event {
                            namespace,
                            name,
                            args,
                            ack,
                        } => {
                            let mut socket = Socket::new(sid, &namespace, rooms);
                            let ((), deferred) =
                                in_handler(|| app.on_event(&mut socket, Event { name, args, ack }));
                            broadcasts.extend(answer(conn, socket, deferred));
                        }
                        ServerSioEvent::Ack { namespace, id, .. } => {
                            tracing::debug!(%sid, %namespace, id, "an ack nothing waits for");
                        }
                        ServerSioEvent::Disconnect { namespace } => {
                            leave(rooms, sid, &namespace);
                            joined.remove(&namespace);
                            let (socket, deferred) =
                                disconnected(app.as_ref(), sid, &namespace, rooms);
                            broadcasts.extend(answer(conn, socket, deferred));
                        }
                        ServerSioEvent::Closed(reason) => {
                            log_closed(sid, &reason);
                            for namespace in std::mem::take(joined) {
                                leave(rooms, sid, &namespace);
                                let (socket, deferred) =
                                    disconnected(app.as_ref(), sid, &namespace, rooms);
                                broadcasts.extend(answer(conn, socket, deferred));
                            }
                            lock(rooms).leave_all(&sid.to_owned());
                        }
                    }
                }
                broadcasts
            }
        }
    }
}

/// The WebSocket's write half when it is handed over; then (or when it
/// never will be) never again.
async fn attached_once(rx: &mut Option<oneshot::Receiver<Attached>>) -> Option<Attached> {
    let Some(pending) = rx.as_mut() else {
        return std::future::pending().await;
    };
    let got = pending.await.ok();
    *rx = None;
    got
}

/// Tells the app the client left `namespace`; returns its socket (what it
/// emitted to the departed client is dropped) and what a [`Hub`] was asked
/// for meanwhile.
fn disconnected<'a>(
    app: &dyn App,
    sid: &'a str,
    namespace: &'a str,
    rooms: &'a SharedRooms,
) -> (Socket<'a>, Vec<Broadcast>) {
    let mut socket = Socket::new(sid, namespace, rooms);
    let ((), deferred) = in_handler(|| app.on_disconnect(&mut socket));
    socket.outbox.clear();
    (socket, deferred)
}

/// The answers of one handler in a session's ordered queue.
struct Held {
    /// Resolves to whether they may go; `None`: as soon as those before them went.
    ready: Option<oneshot::Receiver<bool>>,
    outbox: Vec<Encoded>,
    broadcasts: Vec<Broadcast>,
}

/// Awaits `gate` in a task that wakes the session when it resolved.
fn spawn_gate(gate: Gate, wake: Arc<Notify>) -> oneshot::Receiver<bool> {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let ready = gate.await;
        let _ = tx.send(ready);
        wake.notify_one();
    });
    rx
}

/// Sends the queue's answers from its head while they wait for nothing
/// more; returns their broadcasts. A gate that said `false` (or whose task
/// is gone) drops its answers.
fn release(conn: &mut ServerConnection, held: &mut VecDeque<Held>, sid: &str) -> Vec<Broadcast> {
    let mut broadcasts = Vec::new();
    while let Some(head) = held.front_mut() {
        let go = match head.ready.as_mut().map(oneshot::Receiver::try_recv) {
            None => true,
            Some(Ok(go)) => go,
            Some(Err(oneshot::error::TryRecvError::Empty)) => break,
            Some(Err(oneshot::error::TryRecvError::Closed)) => false,
        };
        let Some(head) = held.pop_front() else { break };
        if go {
            send_all(conn, sid, &head.outbox);
            broadcasts.extend(head.broadcasts);
        } else {
            tracing::debug!(%sid, "held answers dropped: their wait failed");
        }
    }
    broadcasts
}

/// Delivers the broadcasts of a departed session's held answers, in order,
/// each once its wait allows it.
async fn deliver_after(inner: Arc<Inner>, held: VecDeque<Held>) {
    for entry in held {
        let go = match entry.ready {
            None => true,
            Some(rx) => rx.await.unwrap_or(false),
        };
        if go {
            inner.deliver_all(entry.broadcasts);
        }
    }
}

/// A frame as a WebSocket message. A binary frame's bytes are shared with
/// the session queue, not copied (an attachment may be large, and a
/// broadcast's is the same for every member of a room); a text frame is
/// copied: for the small packets of a chat, a copy costs less than shared
/// ownership (an owner allocated, two reference counts, a UTF-8 check),
/// measured on the room fan-out.
fn ws_message(frame: WsFrame) -> Message {
    match frame {
        WsFrame::Text(t) if t.len() < SHARED_TEXT => Message::text(&*t),
        WsFrame::Text(t) => {
            match tungstenite::Utf8Bytes::try_from(Bytes::from_owner(Shared::Text(t.clone()))) {
                Ok(text) => Message::Text(text),
                // The bytes of a `str` are UTF-8; copied all the same if not.
                Err(_) => Message::text(&*t),
            }
        }
        WsFrame::Binary(b) => Message::Binary(Bytes::from_owner(Shared::Binary(b))),
    }
}

/// The length from which a text frame's bytes are shared rather than copied.
const SHARED_TEXT: usize = 4096;

/// The shared bytes of a frame, as [`Bytes::from_owner`] takes them.
enum Shared {
    Text(Arc<str>),
    Binary(Arc<[u8]>),
}

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        match self {
            Shared::Text(t) => t.as_bytes(),
            Shared::Binary(b) => b,
        }
    }
}

/// The socket id a namespace's CONNECT answer carries (v5 `{sid}`).
fn sid_for(sid: &str, namespace: &str) -> String {
    use std::hash::{BuildHasher, RandomState};
    let h = RandomState::new().hash_one((sid, namespace));
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.to_le_bytes())
}

fn leave(rooms: &SharedRooms, sid: &str, namespace: &str) {
    let mut rooms = lock(rooms);
    let member = sid.to_owned();
    let mine: Vec<String> = rooms
        .rooms_of(&member, namespace)
        .map(str::to_owned)
        .collect();
    for room in mine {
        rooms.leave(&member, namespace, &room);
    }
}

fn send_all(conn: &mut ServerConnection, sid: &str, outbox: &[Encoded]) {
    for encoded in outbox {
        if let Err(reason) = conn.send_encoded(encoded) {
            log_unsent(sid, &reason);
            return;
        }
    }
}

/// A message that could not be queued: the session is closed, and it is said.
fn log_unsent(sid: &str, reason: &CloseReason) {
    tracing::warn!(%sid, %reason, "message not queued: the session is closed");
}

fn log_closed(sid: &str, reason: &CloseReason) {
    match reason {
        // A ping timeout is logged with its circumstances where it is judged.
        CloseReason::QueueFull(_) => {
            tracing::warn!(%sid, %reason, "session closed")
        }
        _ => tracing::debug!(%sid, %reason, "session closed"),
    }
}

/// Waits for the answer to a pending poll; if the client goes away first,
/// the session is told the poll was aborted.
async fn wait_poll(session: &Arc<Session>, rx: oneshot::Receiver<HttpResponse>) -> Response {
    struct Guard<'a>(&'a Session, bool);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            if !self.1 {
                let mut state = lock(&self.0.state);
                if state.poll.take().is_some() {
                    // The origin is not known here; the session does not use `now` for it.
                    state.machine.engine().handle_poll_aborted(Duration::ZERO);
                }
            }
        }
    }
    let mut guard = Guard(session, false);
    let answer = rx.await;
    guard.1 = true;
    match answer {
        Ok(response) => respond(response),
        Err(_) => respond(HttpError::UnknownSid.response()),
    }
}

/// The socket a request came on, when the listener records it.
fn peer_socket(req: &Request) -> Option<PeerSocket> {
    req.extensions()
        .get::<axum::extract::ConnectInfo<PeerSocket>>()
        .map(|c| c.0.clone())
}

/// A request for a sid that is open under another version is a bad request;
/// one for no open session, an unknown sid.
fn unknown_or_bad(t: &Transport, sid: &str) -> HttpResponse {
    if lock(&t.inner.sessions).contains_key(sid) {
        HttpError::BadRequest.response()
    } else {
        HttpError::UnknownSid.response()
    }
}

/// Reads a POST body, at most one byte past `max` (the session refuses that with 413).
async fn read_body(mut body: Body, max: usize) -> Result<Vec<u8>, axum::Error> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
            if out.len() > max {
                out.truncate(max + 1);
                break;
            }
        }
    }
    Ok(out)
}

fn wants_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

type Upgrade = std::pin::Pin<Box<dyn std::future::Future<Output = Option<Ws>> + Send>>;

/// The `101` answer to a WebSocket request, and the socket once it is switched.
fn accept_websocket(req: &mut Request, max_payload: usize) -> Option<(Response, Upgrade)> {
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY)?.clone();
    let on_upgrade = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>()?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .ok()?;
    // Frames up to twice maxPayload reach the session, which refuses those
    // over it with its own reason; nothing larger is ever buffered.
    let limit = max_payload.saturating_mul(2).max(64 * 1024);
    // A small read buffer over a stream that reads ahead (`read_ahead`):
    // tungstenite's buffer lives as long as the connection, filled.
    let config = tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let upgrade = Box::pin(async move {
        match on_upgrade.await {
            Ok(upgraded) => Some(
                WebSocketStream::from_raw_socket(
                    ReadAhead::new(TokioIo::new(upgraded)),
                    Role::Server,
                    Some(config),
                )
                .await,
            ),
            Err(e) => {
                tracing::debug!(error = %e, "websocket upgrade failed");
                None
            }
        }
    });
    Some((response, upgrade))
}

/// An HTTP response of the session as an axum one.
fn respond(r: HttpResponse) -> Response {
    let mut response = Response::new(Body::from(r.body));
    *response.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(r.content_type),
    );
    response
}
