//! The `circles` listener: the Circles app (`003_415bfb4e4fd8fc5e.txt`) at `/socket.io/`, Engine.IO 3 (what the deployed Flask-SocketIO server spoke) and 4 side by side.

use std::{io, sync::Arc};

use axum::{extract::Request, http::StatusCode, response::IntoResponse, Router};
use protocols::Protocol;
use tokio::net::TcpListener;

use super::echo::options;
use super::{BoxFuture, Listener, Shutdown, GRACE};
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
        let context = services.circles();
        let profile = config.circles.profile;
        Box::pin(async move {
            let context = context?;
            let transport =
                Transport::socketio(Arc::new(CirclesApp::new(context.clone())), options(profile));
            context.set_hub(transport.hub());
            let sio = transport.clone();
            let router = Router::new().fallback(move |req: Request| {
                let sio = sio.clone();
                async move {
                    match req.uri().path() {
                        "/socket.io/" | "/socket.io" => sio.handle(req).await,
                        _ => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            });
            axum::serve(
                crate::socketio::NoDelay(tcp),
                router.into_make_service_with_connect_info::<crate::socketio::PeerSocket>(),
            )
            .with_graceful_shutdown(async move {
                shutdown.requested().await;
                transport.close_all();
                if tokio::time::timeout(GRACE, transport.closed())
                    .await
                    .is_err()
                {
                    tracing::warn!("circles sessions did not close in time");
                }
            })
            .await
        })
    }
}
