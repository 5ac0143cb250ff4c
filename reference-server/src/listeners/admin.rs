//! The `admin` listener: the admin HTTP API (users, rooms, membership,
//! tokens, announcements) over the shared services, on loopback only.

use std::{io, net::SocketAddr};

use protocols::Protocol;
use tokio::net::TcpListener;

use super::{BoxFuture, Listener, Shutdown};
use crate::{
    config::{Config, ListenerName},
    fault::Fault,
    services::{admin, Services},
};

/// The admin HTTP API, port 12380 by default, with its own bearer secret.
pub struct Admin;

impl Listener for Admin {
    fn name(&self) -> ListenerName {
        ListenerName::Admin
    }

    /// The API provisions and triggers for the ASSA suite today.
    fn protocol(&self) -> Protocol {
        Protocol::Assa
    }

    fn faults(&self) -> Vec<Fault> {
        Vec::new()
    }

    /// Loopback whatever the server's `bind` says: the API is not for the network.
    fn bind(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpListener>> {
        let loopback = SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port());
        Box::pin(TcpListener::bind(loopback))
    }

    fn serve(
        &self,
        tcp: TcpListener,
        config: &Config,
        services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        let (secret, development) = config.admin.resolve_secret();
        if development {
            tracing::warn!(
                "admin: the development admin secret is in use; set [admin] secret or {} to replace it",
                config.admin.secret_env
            );
        }
        match admin::router_for(services, &secret) {
            Ok(router) => Box::pin(admin::serve_router(tcp, router, shutdown.receiver())),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
}
