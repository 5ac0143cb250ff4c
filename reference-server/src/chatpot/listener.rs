//! The `chatpot` listener: `GET /status` and the Chatpot app at `/socket.io/`, Engine.IO 3 and 4 side by side.

use std::{io, sync::Arc};

use axum::{extract::Request, http::StatusCode, response::IntoResponse, Json, Router};
use protocols::Protocol;
use serde_json::json;
use tokio::net::TcpListener;

use super::{app::ChatpotApp, ChatpotContext, ChatpotFault};
use crate::config::{Config, ListenerName};
use crate::fault::Fault;
use crate::listeners::{echo::options, serve_socketio, BoxFuture, Listener, Shutdown};
use crate::services::Services;
use crate::socketio::Transport;

/// The `chatpot` listener, port 4001 by default.
#[derive(Debug)]
pub struct Chatpot;

impl Listener for Chatpot {
    fn name(&self) -> ListenerName {
        ListenerName::Chatpot
    }

    fn protocol(&self) -> Protocol {
        Protocol::Chatpot
    }

    fn faults(&self) -> Vec<Fault> {
        ChatpotFault::ALL.map(Fault::Chatpot).to_vec()
    }

    fn serve(
        &self,
        tcp: TcpListener,
        config: &Config,
        services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        let ctx = match services.chatpot() {
            Ok(ctx) => ctx,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let local = match tcp.local_addr() {
            Ok(a) => a,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let host = config
            .chatpot
            .host
            .clone()
            .unwrap_or_else(|| format!("http://{}", local.ip()));
        let port = config.chatpot.port.unwrap_or(local.port());
        let transport = Transport::socketio(
            Arc::new(ChatpotApp { ctx: ctx.clone() }),
            options(config.chatpot.profile),
        );
        ctx.set_hub(transport.hub());
        let sio = transport.clone();
        let router = Router::new().fallback(move |req: Request| {
            let (sio, ctx, host) = (sio.clone(), ctx.clone(), host.clone());
            async move {
                match req.uri().path() {
                    "/socket.io/" | "/socket.io" => sio.handle(req).await,
                    "/status" => status(&ctx, host, port).into_response(),
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        serve_socketio(
            self.name(),
            crate::socketio::NoDelay(tcp),
            router,
            vec![transport],
            shutdown,
        )
    }
}

/// `GET /status`: this node, and how many sockets it holds now.
fn status(ctx: &ChatpotContext, host: String, port: u16) -> Json<serde_json::Value> {
    let connections = if ctx.has(ChatpotFault::StatusZeroConnections) {
        0
    } else {
        ctx.connections()
    };
    let mut body = json!({ "host": host, "port": port, "num_connection": connections });
    if ctx.has(ChatpotFault::StatusNoHost) {
        body.as_object_mut().map(|o| o.remove("host"));
    }
    Json(body)
}
