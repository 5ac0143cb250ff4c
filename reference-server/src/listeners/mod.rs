//! The listeners behind one trait, and the registry `start` loops over.
//!
//! A listener is one protocol served on one TCP port: it binds its port,
//! serves connections until the server shuts down, and names its fault
//! switches and the protocol whose cases they break. Adding a listener is
//! its own module here and one line in [`REGISTRY`].

use std::{future::Future, io, net::SocketAddr, pin::Pin, time::Duration};

use axum::extract::{connect_info::Connected, Request};
use axum::{http::StatusCode, response::IntoResponse, serve::IncomingStream, Router};
use protocols::Protocol;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    config::{Config, ListenerName},
    fault::Fault,
    services::Services,
    socketio::{PeerSocket, Transport},
};

pub mod admin;
pub mod assa;
pub mod circles;
pub mod echo;
pub mod socketcluster;
pub mod sockets;

/// Every implemented listener, one line each. A [`ListenerName`] without an
/// entry is accepted in the configuration but not served yet.
static REGISTRY: &[&dyn Listener] = &[
    &assa::Assa,
    &crate::chatpot::Chatpot,
    &circles::Circles,
    &assa::AssaLimits,
    &echo::Echo,
    &socketcluster::Socketcluster,
    &socketcluster::SocketclusterV2,
    &socketcluster::SocketclusterLimits,
    &sockets::Sockets,
    &admin::Admin,
];

/// Every implemented listener, in registry order.
pub fn listeners() -> &'static [&'static dyn Listener] {
    REGISTRY
}

/// The implemented listener `name`, if there is one.
pub fn listener(name: ListenerName) -> Option<&'static dyn Listener> {
    REGISTRY.iter().copied().find(|l| l.name() == name)
}

/// A boxed future, as the object-safe [`Listener`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One listener of the reference server: a protocol served on one TCP port.
pub trait Listener: Send + Sync {
    /// Its name: its `[listeners.<name>]` table, its `--port` key and the
    /// prefix of its faults' names.
    fn name(&self) -> ListenerName;

    /// The protocol it serves: its faults break that protocol's cases only.
    fn protocol(&self) -> Protocol;

    /// Its fault switches, each named `<listener>:<behaviour>`.
    fn faults(&self) -> Vec<Fault>;

    /// Binds its TCP port at `addr` (port 0: a free one).
    fn bind(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpListener>> {
        Box::pin(TcpListener::bind(addr))
    }

    /// Serves the connections `tcp` accepts, with the settings and the
    /// faults of `config` and the shared `services`, until `shutdown`
    /// resolves; then closes its sessions, stops accepting and waits for
    /// open connections to end.
    fn serve(
        &self,
        tcp: TcpListener,
        config: &Config,
        services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>>;
}

/// How long a listener may take to close its sessions once shutdown is
/// requested, and how long open connections then have to end, before the
/// server cuts them.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// Resolves once the server is asked to stop; handed to [`Listener::serve`].
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A stop switch and the signal it sends to every listener.
    pub(crate) fn channel() -> (watch::Sender<bool>, Shutdown) {
        let (stop, stopped) = watch::channel(false);
        (stop, Shutdown(stopped))
    }

    /// The stop switch as a watch receiver (`true` once stopping).
    pub fn receiver(&self) -> watch::Receiver<bool> {
        self.0.clone()
    }

    /// Waits until the server is asked to stop (or the switch is dropped).
    pub async fn requested(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// A router serving `transport` at `/socket.io/`, and 404 elsewhere.
pub(crate) fn socketio_router(transport: &Transport) -> Router {
    let sio = transport.clone();
    Router::new().fallback(move |req: Request| {
        let sio = sio.clone();
        async move {
            match req.uri().path() {
                "/socket.io/" | "/socket.io" => sio.handle(req).await,
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    })
}

/// Serves `router` on `listener` until `shutdown`; then closes every
/// session of `transports` (within [`GRACE`]) and lets open connections
/// end: the `serve` of listener `name` on the Socket.IO transport.
///
/// `listener` is the bound port ([`TcpListener`]) or the port with
/// `TCP_NODELAY` set on its connections ([`NoDelay`](crate::socketio::NoDelay)).
pub(crate) fn serve_socketio<L>(
    name: ListenerName,
    listener: L,
    router: Router,
    transports: Vec<Transport>,
    shutdown: Shutdown,
) -> BoxFuture<'static, io::Result<()>>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
    PeerSocket: for<'a> Connected<IncomingStream<'a, L>>,
{
    Box::pin(async move {
        // Every request carries its socket: the heartbeat looks there for
        // answers not read yet before it closes a session.
        let service = router.into_make_service_with_connect_info::<PeerSocket>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                shutdown.requested().await;
                let all = async {
                    for t in &transports {
                        t.close_all();
                    }
                    for t in &transports {
                        t.closed().await;
                    }
                };
                if tokio::time::timeout(GRACE, all).await.is_err() {
                    tracing::warn!(listener = %name, "socket.io sessions did not close in time");
                }
            })
            .await
    })
}
