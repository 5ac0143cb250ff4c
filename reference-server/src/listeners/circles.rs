//! The `circles` listener: the Circles app (`003_415bfb4e4fd8fc5e.txt`) at `/socket.io/`, Engine.IO 3 (what the deployed Flask-SocketIO server spoke) and 4 side by side.

use std::{io, sync::Arc};

use protocols::Protocol;
use tokio::net::TcpListener;

use super::echo::options;
use super::{serve_socketio, socketio_router, BoxFuture, Listener, Shutdown};
use crate::circles::{CirclesApp, CirclesFault};
use crate::services::Services;
use crate::socketio::Transport;
use crate::{
    config::{Config, ListenerName},
    fault::Fault,
};

/// The `circles` listener.
#[derive(Debug)]
pub struct Circles;

impl Listener for Circles {
    fn name(&self) -> ListenerName {
        ListenerName::Circles
    }

    fn protocol(&self) -> Protocol {
        Protocol::Circles
    }

    fn faults(&self) -> Vec<Fault> {
        CirclesFault::ALL.map(Fault::Circles).to_vec()
    }

    fn serve(
        &self,
        tcp: TcpListener,
        config: &Config,
        services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        let context = match services.circles() {
            Ok(context) => context,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let transport = Transport::socketio(
            Arc::new(CirclesApp::new(context.clone())),
            options(config.circles.profile),
        );
        context.set_hub(transport.hub());
        let router = socketio_router(&transport);
        serve_socketio(
            self.name(),
            crate::socketio::NoDelay(tcp),
            router,
            vec![transport],
            shutdown,
        )
    }
}
