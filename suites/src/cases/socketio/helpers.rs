//! What the `socketio.*` cases share: the target's endpoint, raw HTTP
//! requests, and the checks that a server refused something and survived it.

use protocols::engineio::{EioVersion, PacketType as EioType};
use protocols::socketio::Data;

use crate::case::{Ctx, Failure, Outcome};
use crate::driver::engineio::{http_client, raw_request, Endpoint, Event, HttpReply, Options};
use crate::driver::socketio::{SioClient, Transport};
use crate::target::SocketioTarget;
use crate::{broken, ensure, ensure_eq};

/// The target's Engine.IO endpoint for `v` (`unimplemented` without it).
pub(super) fn endpoint(ctx: &Ctx, v: EioVersion) -> Result<Endpoint, Failure> {
    Endpoint::of(ctx.targets.get::<SocketioTarget>(), v)
}

/// One raw HTTP request on its own transcript connection.
pub(super) async fn raw(
    ctx: &Ctx,
    method: reqwest::Method,
    url: &str,
    body: Option<&str>,
) -> Result<HttpReply, Failure> {
    let conn = ctx.transcript.open("raw HTTP");
    let client = http_client();
    raw_request(
        ctx,
        conn,
        &client,
        method,
        url,
        body.map(|b| ("text/plain;charset=UTF-8", b.as_bytes().to_vec())),
    )
    .await
    .map_err(Failure::from)
}

/// A client that does nothing on its own: no poll, no pong, no ping.
pub(super) fn no_auto() -> Options {
    Options {
        auto_poll: false,
        auto_pong: false,
        auto_ping: false,
    }
}

/// A fresh client can still connect, emit and be answered: the server survived.
pub(super) async fn still_serving(ctx: &Ctx, v: EioVersion) -> Outcome {
    let mut fresh = SioClient::connected(ctx, v, Transport::WebSocket, "/")
        .await
        .map_err(|f| match f {
            Failure::Broken(r) => {
                broken!("after the bad input, a fresh client could not connect: {r}")
            }
            other => other,
        })?;
    fresh
        .emit(
            "/",
            "message",
            vec![Data::String("still there?".into())],
            None,
        )
        .await?;
    let args = fresh.expect_event("/", "message-back").await?;
    ensure_eq!(
        args,
        vec![Data::String("still there?".into())],
        "a fresh client's message-back"
    );
    Ok(())
}

/// The connection must end (close packet, WebSocket close, or the session
/// refused) or the server must answer with an error packet.
pub(super) async fn expect_refusal(client: &mut SioClient) -> Outcome {
    let within = client.eio.link().wait;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.eio.next_event(left).await? {
            Some(Event::Closed(..)) => return Ok(()),
            Some(Event::Packet(_, p)) if p.packet_type == EioType::Close => return Ok(()),
            Some(Event::Packet(_, p)) if p.packet_type == EioType::Message => {
                let text = p.as_text().unwrap_or_default();
                if text.starts_with('4') || text.starts_with('1') {
                    // CONNECT_ERROR / ERROR, or DISCONNECT: the server refused the packet.
                    return Ok(());
                }
                return Err(broken!(
                    "the server answered the bad packet with {text:?} instead of refusing it"
                ));
            }
            Some(Event::Packet(..)) => continue,
            None => {
                return Err(broken!(
                "the server neither closed the connection nor answered with an error within {} ms",
                within.as_millis()
            ))
            }
        }
    }
}

/// Opens a raw WebSocket that the server must refuse: the handshake is
/// answered with an error status, or the connection closes without a frame.
pub(super) async fn expect_websocket_refused(ctx: &Ctx, url: &str, what: &str) -> Outcome {
    let conn = ctx.transcript.open(what.to_owned());
    ctx.transcript.note(conn, format!("WebSocket {url}"));
    let ws = match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            // The refusal is the server's message here: the mutation layer may flip its status.
            let status = response.status().as_u16();
            ctx.transcript.note(conn, format!("refused: HTTP {status}"));
            let seen = ctx
                .mutator
                .as_ref()
                .and_then(|m| m.apply_status(status))
                .unwrap_or(status);
            ensure!(
                !(200..300).contains(&seen),
                "{what} was accepted (HTTP {seen})"
            );
            return Ok(());
        }
        Err(e) => {
            ctx.transcript.note(conn, format!("refused: {e}"));
            return Ok(());
        }
        Ok((ws, _)) => ws,
    };
    use futures::StreamExt;
    let (_, mut stream) = ws.split();
    match tokio::time::timeout(ctx.wait, stream.next()).await {
        Ok(None)
        | Ok(Some(Err(_)))
        | Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => Ok(()),
        Ok(Some(Ok(m))) => {
            ctx.transcript
                .text(conn, crate::transcript::Direction::In, &m.to_string());
            Err(broken!("{what} was served: {m}"))
        }
        Err(_) => Err(broken!("{what} stayed open")),
    }
}
