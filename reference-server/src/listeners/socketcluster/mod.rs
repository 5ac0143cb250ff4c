//! The `socketcluster` listener: SocketCluster over WebSocket at `/socketcluster/`
//! (`002_57bad640c3a657d6.txt`, and the pub/sub and auth layers as socketcluster-server 20
//! implements them).
//!
//! Each connection is a sans-IO [`ServerSession`] (handshake, cid/rid, ping/pong, close
//! codes) driven by one task; this module adds the application: the procedures `echo`,
//! `slow-echo`, `fail` and `login`, channels (`#subscribe`, `#unsubscribe`, `#publish`,
//! `#kickOut`) in a [`Hub`] every connection shares, and tokens (`#authenticate`, the
//! handshake's `authToken`, `#setAuthToken`, `#removeAuthToken`) signed with the server's
//! configured secret. Publications are encoded once for all subscribers; each socket has a
//! bounded queue, and a socket whose queue is full is cut off.

mod config;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use protocols::session::socketcluster::{
    Deviations, ServerSession, SessionConfig, SessionEvent, Transmit,
};
use protocols::socketcluster::{
    AuthTokenData, CallId, ErrorObject, Event, EventBody, KickOut, Message, Publication,
    SocketCluster,
};
use protocols::Protocol;
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
use tokio_tungstenite::tungstenite::{Bytes, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

pub use config::{
    SocketclusterConfig, SocketclusterFault, SocketclusterLimitsConfig, UnknownSocketclusterFault,
};

use super::{BoxFuture, Listener, Shutdown, GRACE};
use crate::config::{Config, ListenerName};
use crate::fault::Fault;
use crate::read_ahead::{ReadAhead, WS_READ_BUFFER};
use crate::services::tokens::{unix_now_secs, Claims, TokenError, Tokens};
use crate::services::Services;

/// The path socketcluster-server serves.
pub const PATH: &str = "/socketcluster/";

/// The longest channel name accepted.
pub const MAX_CHANNEL_LEN: usize = 256;

/// SocketCluster over WebSocket, port 8000 by default.
pub struct Socketcluster;

impl Listener for Socketcluster {
    fn name(&self) -> ListenerName {
        ListenerName::Socketcluster
    }

    fn protocol(&self) -> Protocol {
        Protocol::Socketcluster
    }

    fn faults(&self) -> Vec<Fault> {
        SocketclusterFault::ALL.map(Fault::Socketcluster).to_vec()
    }

    fn serve(
        &self,
        tcp: TcpListener,
        config: &Config,
        _services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        serve_with(tcp, config, config.socketcluster.clone(), shutdown)
    }
}

/// The same application speaking protocol version 2 (empty-string ping and
/// pong) on a port of its own, 8001 by default, off unless enabled: its own
/// sockets and channels, `[socketcluster]`'s settings otherwise. The
/// `socketcluster:` faults break it too; they are the `socketcluster` listener's.
pub struct SocketclusterV2;

impl Listener for SocketclusterV2 {
    fn name(&self) -> ListenerName {
        ListenerName::SocketclusterV2
    }

    fn protocol(&self) -> Protocol {
        Protocol::Socketcluster
    }

    fn faults(&self) -> Vec<Fault> {
        Vec::new()
    }

    fn serve(
        &self,
        tcp: TcpListener,
        config: &Config,
        _services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        let settings = SocketclusterConfig {
            protocol_version: 2,
            ..config.socketcluster.clone()
        };
        serve_with(tcp, config, settings, shutdown)
    }
}

/// The same application with the small connection cap of
/// `[socketcluster-limits]` on a port of its own, 8002 by default, off unless
/// enabled: the suite's connection-limit case fills it without refusing the
/// cases that run beside it on `socketcluster`. The `socketcluster:` faults
/// break it too.
pub struct SocketclusterLimits;

impl Listener for SocketclusterLimits {
    fn name(&self) -> ListenerName {
        ListenerName::SocketclusterLimits
    }

    fn protocol(&self) -> Protocol {
        Protocol::Socketcluster
    }

    fn faults(&self) -> Vec<Fault> {
        Vec::new()
    }

    fn serve(
        &self,
        tcp: TcpListener,
        config: &Config,
        _services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        let settings = config.socketcluster_limits.apply(&config.socketcluster);
        serve_with(tcp, config, settings, shutdown)
    }
}

/// Serves the application with `settings` and the faults and secret of `config`.
fn serve_with(
    tcp: TcpListener,
    config: &Config,
    settings: SocketclusterConfig,
    shutdown: Shutdown,
) -> BoxFuture<'static, io::Result<()>> {
    let tokens = Tokens::from_config(&config.auth);
    let faults: HashSet<SocketclusterFault> = (config.faults.iter())
        .filter_map(|f| match f {
            Fault::Socketcluster(f) => Some(*f),
            _ => None,
        })
        .collect();
    let expires_in = config.auth.default_expires_in_secs;
    Box::pin(async move {
        let tokens = tokens.map_err(io::Error::other)?;
        let hub = Arc::new(Hub {
            config: settings,
            faults,
            tokens,
            expires_in,
            state: Mutex::new(HubState::default()),
            next_id: AtomicU64::new(1),
            epoch: unix_now_secs(),
        });
        serve(tcp, hub, shutdown.receiver()).await
    })
}

struct SocketHandle {
    /// Publications for the socket, encoded once for every subscriber.
    outbox: Arc<Outbox>,
    channels: BTreeSet<String>,
    authenticated: bool,
}

/// The publications queued for one socket, bounded: its task takes all of
/// them at each wake-up and writes them in one flush. A socket that lets
/// `capacity` of them wait while its writes wait on the socket (a reader
/// that does not keep up) is cut off: the queue is dropped and its task told.
/// One that takes its writes may queue [`UNBLOCKED_FACTOR`] times as many
/// (the publishers of a turn may outrun its writer, not the reader).
struct Outbox {
    capacity: usize,
    queue: Mutex<Queued>,
    /// Publications wait where there were none.
    ready: Notify,
    /// The queue overflowed.
    cut: Notify,
}

#[derive(Default)]
struct Queued {
    items: VecDeque<Utf8Bytes>,
    overflowed: bool,
    /// The socket's task waits for the socket to take its writes.
    blocked: bool,
}

/// How many times `capacity` a socket that takes its writes may queue.
const UNBLOCKED_FACTOR: usize = 16;

impl Outbox {
    fn new(capacity: usize) -> Outbox {
        Outbox {
            capacity,
            queue: Mutex::new(Queued::default()),
            ready: Notify::new(),
            cut: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queued> {
        // A panic while holding the lock leaves a consistent queue behind.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a publication; false when the socket is cut off (now or before).
    fn push(&self, text: &Utf8Bytes) -> bool {
        let mut queue = self.lock();
        if queue.overflowed {
            return false;
        }
        let limit = match queue.blocked {
            true => self.capacity,
            false => self.capacity.saturating_mul(UNBLOCKED_FACTOR),
        };
        if queue.items.len() >= limit {
            queue.overflowed = true;
            queue.items = VecDeque::new();
            self.cut.notify_one();
            return false;
        }
        if queue.items.is_empty() {
            self.ready.notify_one();
        }
        queue.items.push_back(text.clone());
        true
    }

    /// Whether the socket's task waits for the socket to take its writes.
    fn set_blocked(&self, blocked: bool) {
        self.lock().blocked = blocked;
    }

    /// Moves every queued publication into `into`; false when the socket is cut off.
    fn take(&self, into: &mut Vec<WsMessage>) -> bool {
        let mut queue = self.lock();
        into.extend(queue.items.drain(..).map(WsMessage::Text));
        !queue.overflowed
    }
}

#[derive(Default)]
struct HubState {
    sockets: HashMap<u64, SocketHandle>,
    channels: HashMap<String, BTreeSet<u64>>,
    users: HashMap<String, u64>,
}

/// The channels and sockets every connection shares.
struct Hub {
    config: SocketclusterConfig,
    faults: HashSet<SocketclusterFault>,
    tokens: Tokens,
    expires_in: u64,
    state: Mutex<HubState>,
    next_id: AtomicU64,
    /// When the listener started (Unix seconds): socket ids differ across restarts.
    epoch: u64,
}

impl Hub {
    fn has(&self, fault: SocketclusterFault) -> bool {
        self.faults.contains(&fault)
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // A task that panicked while holding the lock leaves consistent maps behind.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn limited(&self) -> bool {
        !self.has(SocketclusterFault::NoLimits)
    }

    fn deviations(&self) -> Deviations {
        use SocketclusterFault as F;
        Deviations {
            serve_before_handshake: self.has(F::ServeBeforeHandshake),
            no_handshake_timeout: self.has(F::NoHandshakeTimeout),
            accept_handshake_without_cid: self.has(F::AcceptHandshakeWithoutCid),
            no_ping: self.has(F::NoPing),
            no_pong_timeout: self.has(F::NoPongTimeout),
            close_on_bad_json: self.has(F::CloseOnBadJson),
        }
    }

    /// Verifies a token: the claims, or socketcluster's error for it.
    fn verify(&self, token: &str) -> Result<Value, ErrorObject> {
        let now = unix_now_secs();
        let checked = self.tokens.verify(token, now).or_else(|e| {
            if self.has(SocketclusterFault::AcceptAnyToken) {
                decode_unverified(token).ok_or(e)
            } else {
                Err(e)
            }
        });
        match checked {
            Ok(claims) => serde_json::to_value(claims)
                .map_err(|e| ErrorObject::new("AuthTokenInvalidError", e.to_string())),
            Err(e) => Err(auth_error(&e)),
        }
    }

    /// A token for `user`: the next numeric id (`sub`) the first time, its own after.
    fn mint_for(&self, user: &str) -> Result<String, TokenError> {
        let id = {
            let mut state = self.lock();
            let next = state.users.len() as u64 + 1;
            *state.users.entry(user.to_owned()).or_insert(next)
        };
        let mut claims = Claims::new(id, unix_now_secs(), self.expires_in);
        claims.user = Some(user.to_owned());
        self.tokens.mint(&claims)
    }

    fn set_authenticated(&self, id: u64, authenticated: bool) {
        if let Some(s) = self.lock().sockets.get_mut(&id) {
            s.authenticated = authenticated;
        }
    }

    /// Subscribes socket `id`, or says why not.
    fn subscribe(&self, id: u64, channel: &str) -> Result<(), ErrorObject> {
        if channel.is_empty() || channel.len() > MAX_CHANNEL_LEN || channel.starts_with('#') {
            return Err(ErrorObject::new(
                "InvalidActionError",
                format!(
                    "invalid channel name {channel:?}: 1 to {MAX_CHANNEL_LEN} bytes, not starting with #"
                ),
            ));
        }
        let mut state = self.lock();
        let Some(socket) = state.sockets.get_mut(&id) else {
            return Err(ErrorObject::new(
                "BadConnectionError",
                "the socket is closed",
            ));
        };
        if self.config.requires_auth(channel)
            && !socket.authenticated
            && !self.has(SocketclusterFault::IgnoreAuthChannels)
        {
            return Err(ErrorObject::new(
                "AuthError",
                format!("channel {channel:?} requires an authenticated socket"),
            ));
        }
        if !socket.channels.contains(channel)
            && socket.channels.len() >= self.config.max_subscriptions
            && self.limited()
        {
            return Err(ErrorObject::new(
                "ResourceLimitError",
                format!(
                    "the socket tried to exceed the channel subscription limit of {}",
                    self.config.max_subscriptions
                ),
            ));
        }
        socket.channels.insert(channel.to_owned());
        state
            .channels
            .entry(channel.to_owned())
            .or_default()
            .insert(id);
        Ok(())
    }

    fn unsubscribe(&self, id: u64, channel: &str) {
        if self.has(SocketclusterFault::KeepUnsubscribed) {
            return;
        }
        let mut state = self.lock();
        if let Some(s) = state.sockets.get_mut(&id) {
            s.channels.remove(channel);
        }
        if let Some(members) = state.channels.get_mut(channel) {
            members.remove(&id);
            if members.is_empty() {
                state.channels.remove(channel);
            }
        }
    }

    /// Removes socket `id` from every channel that requires authentication and says so.
    fn kick_out_of_auth_channels(&self, id: u64) -> Vec<String> {
        let channels: Vec<String> = {
            let state = self.lock();
            let Some(s) = state.sockets.get(&id) else {
                return Vec::new();
            };
            (s.channels.iter())
                .filter(|c| self.config.requires_auth(c))
                .cloned()
                .collect()
        };
        for channel in &channels {
            self.unsubscribe(id, channel);
        }
        channels
    }

    /// Delivers a publication to every subscriber but `publisher` (who gets it directly);
    /// whether the publisher is subscribed. A subscriber whose queue is full is cut off.
    fn publish(&self, publisher: u64, channel: &str, text: &Utf8Bytes) -> bool {
        let state = self.lock();
        let everyone = self.has(SocketclusterFault::PublishToEveryone);
        let recipients: Vec<u64> = if everyone {
            state.sockets.keys().copied().collect()
        } else {
            (state.channels.get(channel))
                .map(|m| m.iter().copied().collect())
                .unwrap_or_default()
        };
        let mut to_self = false;
        for id in recipients {
            if id == publisher {
                to_self = true;
                continue;
            }
            if let Some(s) = state.sockets.get(&id) {
                s.outbox.push(text);
            }
        }
        to_self
    }

    fn remove(&self, id: u64) {
        let mut state = self.lock();
        if let Some(s) = state.sockets.remove(&id) {
            for channel in s.channels {
                if let Some(members) = state.channels.get_mut(&channel) {
                    members.remove(&id);
                    if members.is_empty() {
                        state.channels.remove(&channel);
                    }
                }
            }
        }
    }
}

/// The claims of a token read without checking its signature or expiry
/// (the `socketcluster:accept-any-token` fault only).
fn decode_unverified(token: &str) -> Option<Claims> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// socketcluster's error for a refused token (sc-errors names).
fn auth_error(e: &TokenError) -> ErrorObject {
    let name = match e {
        TokenError::Expired { .. } => "AuthTokenExpiredError",
        TokenError::Missing => "AuthTokenError",
        _ => "AuthTokenInvalidError",
    };
    ErrorObject::new(name, e.to_string())
}

async fn serve(tcp: TcpListener, hub: Arc<Hub>, stop: watch::Receiver<bool>) -> io::Result<()> {
    let mut conns = JoinSet::new();
    let mut stopping = stop.clone();
    let open = Arc::new(AtomicU64::new(0));
    loop {
        tokio::select! {
            accepted = tcp.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                if hub.config.send_buffer_bytes > 0 {
                    let socket = socket2::SockRef::from(&stream);
                    if let Err(e) = socket.set_send_buffer_size(hub.config.send_buffer_bytes) {
                        tracing::warn!("socketcluster: cannot set the send buffer: {e}");
                    }
                }
                let _ = stream.set_nodelay(true);
                let (hub, stop, open) = (hub.clone(), stop.clone(), open.clone());
                conns.spawn(async move {
                    let count = open.fetch_add(1, Ordering::SeqCst) + 1;
                    let over = count > hub.config.max_connections as u64 && hub.limited();
                    if let Err(e) = connection(stream, hub, stop, over).await {
                        tracing::debug!(error = %e, "socketcluster connection ended");
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stopping.wait_for(|s| *s) => break,
        }
    }
    drop(tcp);
    let _ = tokio::time::timeout(GRACE * 2, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    conns.abort_all();
    Ok(())
}

fn close_frame(code: u16, reason: &str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_owned().into(),
    }))
}

async fn connection(
    stream: TcpStream,
    hub: Arc<Hub>,
    mut stop: watch::Receiver<bool>,
    over_limit: bool,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let limit = hub.limited().then_some(hub.config.max_frame_bytes);
    // A small read buffer over a stream that reads ahead (`read_ahead`):
    // tungstenite's buffer lives as long as the connection, filled.
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER)
        .max_message_size(limit)
        .max_frame_size(limit);
    #[allow(clippy::result_large_err)] // the callback's signature is tungstenite's
    let check_path = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let path = request.uri().path();
        if path == PATH || path == PATH.trim_end_matches('/') {
            Ok(response)
        } else {
            let mut refusal = ErrorResponse::new(Some(format!("no SocketCluster at {path}")));
            *refusal.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND;
            Err(refusal)
        }
    };
    let mut ws = tokio_tungstenite::accept_hdr_async_with_config(
        ReadAhead::new(stream),
        check_path,
        Some(ws_config),
    )
    .await?;
    if over_limit {
        ws.send(close_frame(1013, "too many connections")).await?;
        return Ok(());
    }
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
    let capacity = match hub.has(SocketclusterFault::UnboundedQueue) {
        // As good as unbounded for a flood (the queue grows as it fills).
        true => 1 << 24,
        false => hub.config.queue_capacity.max(1),
    };
    let outbox = Arc::new(Outbox::new(capacity));
    hub.lock().sockets.insert(
        id,
        SocketHandle {
            outbox: outbox.clone(),
            channels: BTreeSet::new(),
            authenticated: false,
        },
    );
    let start = Instant::now();
    let session_config = SessionConfig {
        version: hub.config.version(),
        ping_interval: hub.config.ping_interval(),
        ping_timeout: hub.config.ping_timeout(),
        handshake_timeout: hub.config.handshake_timeout(),
    };
    let mut conn = Conn {
        id,
        session: ServerSession::with_deviations(
            format!("{:x}-{id}", hub.epoch),
            session_config,
            hub.deviations(),
            Duration::ZERO,
        ),
        hub: hub.clone(),
        delayed: JoinSet::new(),
    };
    // The messages of one wake-up, written in one flush (the vector is reused).
    let mut batch = Vec::new();
    let result = async {
        loop {
            // One wake-up: the publications queued since the last (published
            // before anything read now was handled), then the session's
            // answers to what was read, all in one flush.
            if !outbox.take(&mut batch) {
                return cut_off(&mut ws, &hub, id, &mut stop).await;
            }
            if conn.session.is_closed() {
                batch.clear();
            }
            conn.process();
            match write_batch(&mut ws, &mut batch, &mut conn.session, &outbox).await? {
                Written::Open => {}
                Written::Closed => {
                    // Let the close handshake finish, briefly.
                    let _ = tokio::time::timeout(Duration::from_millis(500), async {
                        while let Some(Ok(_)) = ws.next().await {}
                    })
                    .await;
                    return Ok(());
                }
                Written::Cut => return cut_off(&mut ws, &hub, id, &mut stop).await,
            }
            if conn.session.is_closed() {
                return Ok(());
            }
            let wake = conn.session.poll_timeout().map(|t| start + t);
            tokio::select! {
                incoming = ws.next() => {
                    // Everything the socket holds now is one burst, answered in one flush.
                    let mut next = Some(incoming);
                    let mut read = 0;
                    while let Some(incoming) = next.take() {
                        conn.incoming(incoming, start.elapsed())?;
                        read += 1;
                        if read < MAX_BURST && !conn.session.is_closed() {
                            next = ws.next().now_or_never();
                        }
                    }
                }
                // New publications, or the queue overflowed: the next turn takes them or cuts.
                _ = outbox.ready.notified() => {}
                _ = outbox.cut.notified() => {}
                Some(Ok((cid, data))) = conn.delayed.join_next(), if !conn.delayed.is_empty() => {
                    let _ = conn.session.respond(cid, Ok(Some(data)));
                }
                _ = sleep_until(wake) => conn.session.handle_timeout(start.elapsed()),
                _ = stop.wait_for(|s| *s) => conn.session.close(1001, "the server is shutting down"),
            }
        }
    }
    .await;
    hub.remove(id);
    result
}

/// The most WebSocket messages handled before the session's answers are written.
const MAX_BURST: usize = 256;

/// The close code of a socket cut off because its send queue is full: the
/// publications it was owed and did not take are dropped, and it is told so.
pub const QUEUE_FULL_CLOSE: u16 = 1008;

/// How long a socket cut off has to take its close frame before the TCP
/// connection is dropped (a reader that stopped may never take it).
const CUT_OFF_LINGER: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<ReadAhead<TcpStream>>;
type WsError = tokio_tungstenite::tungstenite::Error;

/// What writing the session's transmits left.
enum Written {
    /// The session goes on.
    Open,
    /// The session's close frame is sent.
    Closed,
    /// The socket's send queue overflowed while it was written to.
    Cut,
}

/// Writes `batch`, then everything the session has to send, and flushes
/// once; a socket whose queue overflows while the write waits is cut off.
async fn write_batch(
    ws: &mut Socket,
    batch: &mut Vec<WsMessage>,
    session: &mut ServerSession,
    outbox: &Outbox,
) -> Result<Written, WsError> {
    let mut closed = false;
    while let Some(t) = session.poll_transmit() {
        batch.push(match t {
            Transmit::Text(text) => WsMessage::Text(shared_text(text)),
            Transmit::Close { code, reason } => {
                closed = true;
                close_frame(code, &reason)
            }
        });
    }
    if batch.is_empty() {
        return Ok(Written::Open);
    }
    let write = async {
        for message in batch.drain(..) {
            ws.feed(message).await?;
        }
        ws.flush().await
    };
    tokio::pin!(write);
    match (&mut write).now_or_never() {
        Some(written) => written?,
        None => {
            // A reader too slow to take this while its queue fills is cut off.
            outbox.set_blocked(true);
            let written = tokio::select! {
                written = &mut write => Some(written),
                _ = outbox.cut.notified() => None,
            };
            outbox.set_blocked(false);
            match written {
                Some(written) => written?,
                None => return Ok(Written::Cut),
            }
        }
    }
    Ok(if closed {
        Written::Closed
    } else {
        Written::Open
    })
}

/// A socket whose send queue is full: it leaves every channel, what it was
/// owed and did not take is dropped, the reason is logged, and it gets a close
/// frame after what was already written (within [`CUT_OFF_LINGER`]).
async fn cut_off(
    ws: &mut Socket,
    hub: &Hub,
    id: u64,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), WsError> {
    hub.remove(id);
    let capacity = hub.config.queue_capacity;
    tracing::warn!(
        id,
        capacity,
        "socketcluster: send queue full, the socket is cut off and closed with {QUEUE_FULL_CLOSE}"
    );
    let reason = format!("send queue full: more than {capacity} messages were not taken in time");
    let close = async {
        ws.send(close_frame(QUEUE_FULL_CLOSE, &reason)).await?;
        while let Some(Ok(_)) = ws.next().await {}
        Ok::<(), WsError>(())
    };
    tokio::select! {
        closed = tokio::time::timeout(CUT_OFF_LINGER, close) => match closed {
            Ok(Err(e)) => tracing::debug!(id, error = %e, "socketcluster: the close of a cut-off socket failed"),
            Ok(Ok(())) => {}
            Err(_) => tracing::debug!(id, "socketcluster: a cut-off socket did not take its close frame in time"),
        },
        _ = stop.wait_for(|s| *s) => {}
    }
    Ok(())
}

/// Text encoded once and shared (a publication), as a WebSocket message
/// without copying it.
fn shared_text(text: Arc<str>) -> Utf8Bytes {
    struct Shared(Arc<str>);
    impl AsRef<[u8]> for Shared {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }
    let bytes = Bytes::from_owner(Shared(text.clone()));
    // The bytes are a `str`'s: the check cannot fail (and would copy the text).
    Utf8Bytes::try_from(bytes).unwrap_or_else(|_| Utf8Bytes::from(&*text))
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One connection: its session and what the application keeps for it.
struct Conn {
    id: u64,
    session: ServerSession,
    hub: Arc<Hub>,
    /// `slow-echo` answers waiting out their delay.
    delayed: JoinSet<(CallId, Value)>,
}

impl Conn {
    /// One message read from the WebSocket (`None`: it ended) at `now`.
    fn incoming(
        &mut self,
        incoming: Option<Result<WsMessage, WsError>>,
        now: Duration,
    ) -> Result<(), WsError> {
        match incoming {
            Some(Ok(WsMessage::Text(text))) => self.session.handle_text(&text, now),
            Some(Ok(WsMessage::Binary(bytes))) => match std::str::from_utf8(&bytes) {
                Ok(text) => self.session.handle_text(text, now),
                Err(_) => self
                    .session
                    .close(1003, "binary data is not a SocketCluster message"),
            },
            Some(Ok(WsMessage::Close(frame))) => {
                self.session
                    .handle_closed(frame.map_or(1005, |f| f.code.into()));
            }
            Some(Ok(_)) => {}
            Some(Err(WsError::Capacity(e))) => {
                self.session.close(1009, &format!("message too big: {e}"));
            }
            Some(Err(e)) => return Err(e),
            None => self.session.handle_closed(1006),
        }
        Ok(())
    }

    /// Handles every event the session has for the application.
    fn process(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                SessionEvent::Handshake { cid, auth_token } => {
                    let (authenticated, auth_error) = match auth_token {
                        None => (false, None),
                        Some(token) => match self.hub.verify(&token) {
                            Ok(_) => (true, None),
                            Err(e) => (false, Some(e)),
                        },
                    };
                    self.hub.set_authenticated(self.id, authenticated);
                    self.session
                        .accept_handshake(cid, authenticated, auth_error);
                }
                SessionEvent::Event(event) => self.handle(event),
                SessionEvent::Response(_) | SessionEvent::Closed(_) => {}
            }
        }
    }

    fn answer(&mut self, cid: Option<CallId>, result: Result<Option<Value>, ErrorObject>) {
        match cid {
            Some(cid) => {
                let _ = self.session.respond(cid, result);
            }
            None if self.hub.has(SocketclusterFault::AnswerWithoutCid) => {
                let data = result.unwrap_or_else(|e| Some(json!({"name": e.name})));
                let text = json!({ "rid": 0, "data": data }).to_string();
                self.session.send_shared(text.into());
            }
            None => {}
        }
    }

    fn handle(&mut self, event: Event) {
        let cid = event.cid.clone();
        match event.body {
            EventBody::Custom { event: name, data } => self.procedure(&name, data, cid),
            EventBody::Subscribe(sub) => {
                let result = self.hub.subscribe(self.id, &sub.channel).map(|()| None);
                self.answer(cid, result);
            }
            EventBody::Unsubscribe(channel) => {
                self.hub.unsubscribe(self.id, &channel);
                self.answer(cid, Ok(None));
            }
            EventBody::Publish(publication) => self.publish(publication, cid),
            EventBody::Authenticate(token) => {
                // As socketcluster-server: a refused token is an error response.
                let result = self.hub.verify(&token);
                self.hub.set_authenticated(self.id, result.is_ok());
                let status = json!({"isAuthenticated": true, "authError": null});
                self.answer(cid, result.map(|_| Some(status)));
            }
            EventBody::RemoveAuthToken(_) => {
                self.hub.set_authenticated(self.id, false);
                for channel in self.hub.kick_out_of_auth_channels(self.id) {
                    self.session.emit(Event::new(EventBody::KickOut(KickOut {
                        channel,
                        message: Some(json!("the channel requires authentication")),
                        extra: Map::new(),
                    })));
                }
                self.answer(cid, Ok(None));
            }
            other => {
                let error = ErrorObject::new(
                    "InvalidActionError",
                    format!("a client may not send {}", other.name()),
                );
                self.answer(cid, Err(error));
            }
        }
    }

    fn publish(&mut self, publication: Publication, cid: Option<CallId>) {
        let channel = publication.channel;
        if channel.is_empty() || channel.starts_with('#') {
            let error =
                ErrorObject::new("InvalidActionError", format!("invalid channel {channel:?}"));
            return self.answer(cid, Err(error));
        }
        let push = Event::publish(channel.clone(), publication.data.unwrap_or(Value::Null));
        let encoded = <SocketCluster as protocols::Dialect>::encode(&Message::Event(push));
        let text: Utf8Bytes = match encoded.map(String::from_utf8) {
            Ok(Ok(text)) => text.into(),
            _ => {
                let error =
                    ErrorObject::new("InvalidMessageError", "cannot encode the publication");
                return self.answer(cid, Err(error));
            }
        };
        if self.hub.publish(self.id, &channel, &text) {
            self.session.send_shared(Arc::from(text.as_str()));
        }
        self.answer(cid, Ok(None));
    }

    /// The application's procedures (`reference-server/README.md`).
    fn procedure(&mut self, name: &str, data: Option<Value>, cid: Option<CallId>) {
        match name {
            "echo" => self.answer(cid, Ok(Some(data.unwrap_or(Value::Null)))),
            "slow-echo" => {
                let data = data.unwrap_or(Value::Null);
                let delay = data.get("delay_ms").and_then(Value::as_u64);
                match (delay, cid) {
                    (Some(ms), Some(cid)) => {
                        let answer = data.get("data").cloned().unwrap_or(Value::Null);
                        self.delayed.spawn(async move {
                            tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
                            (cid, answer)
                        });
                    }
                    (Some(_), None) => self.answer(None, Ok(None)),
                    (None, cid) => self.answer(
                        cid,
                        Err(ErrorObject::new(
                            "InvalidArgumentsError",
                            "slow-echo takes {delay_ms, data}",
                        )),
                    ),
                }
            }
            "fail" => self.answer(cid, Err(ErrorObject::new("FailError", "fail always fails"))),
            "login" => {
                let user = data
                    .as_ref()
                    .and_then(|d| d.get("user"))
                    .and_then(Value::as_str);
                let Some(user) = user.filter(|u| !u.is_empty()) else {
                    let error = ErrorObject::new("InvalidArgumentsError", "login takes {user}");
                    return self.answer(cid, Err(error));
                };
                match self.hub.mint_for(user) {
                    Ok(token) => {
                        self.hub.set_authenticated(self.id, true);
                        self.session
                            .emit(Event::new(EventBody::SetAuthToken(AuthTokenData {
                                token,
                                extra: Map::new(),
                            })));
                        self.answer(cid, Ok(None));
                    }
                    Err(e) => self.session.close(4002, &e.to_string()),
                }
            }
            _ => self.answer(
                cid,
                Err(ErrorObject::new(
                    "InvalidActionError",
                    format!("no handler for event {name:?}"),
                )),
            ),
        }
    }
}
