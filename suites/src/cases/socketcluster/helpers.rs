//! What the `socketcluster.*` cases share: the target section, connected
//! clients, the target's procedure names, and checks of responses.

use std::time::Duration;

use protocols::socketcluster::ProtocolVersion;
use serde_json::Value;

use crate::case::{Ctx, Failure, Outcome};
use crate::driver::socketcluster::{Incoming, ScClient};
use crate::target::{Procedures, SocketclusterTarget};
use crate::{broken, ensure};

/// The context's socketcluster target (`unimplemented` without one).
pub(super) fn target(ctx: &Ctx) -> Result<&SocketclusterTarget, Failure> {
    ctx.targets
        .get::<SocketclusterTarget>()
        .ok_or_else(|| Failure::Unimplemented("no socketcluster target".into()))
}

/// A WebSocket to the target's `url`, not handshaken yet.
pub(super) async fn open(ctx: &Ctx) -> Result<ScClient, Failure> {
    open_in(ctx, target(ctx)?.version()).await
}

/// A handshaken client at the target's `url`.
pub(super) async fn connect(ctx: &Ctx) -> Result<ScClient, Failure> {
    connect_in(ctx, target(ctx)?.version()).await
}

/// The target's endpoint speaking `version` (`unimplemented` without one).
fn url_of(ctx: &Ctx, version: ProtocolVersion) -> Result<&str, Failure> {
    target(ctx)?.url_of(version).ok_or_else(|| {
        Failure::Unimplemented(format!(
            "the target names no endpoint speaking protocol {}",
            version.number()
        ))
    })
}

/// A WebSocket to the target's endpoint of `version`, not handshaken yet.
pub(super) async fn open_in(ctx: &Ctx, version: ProtocolVersion) -> Result<ScClient, Failure> {
    Ok(ScClient::open(ctx, url_of(ctx, version)?, version).await?)
}

/// A handshaken client at the target's endpoint of `version`.
pub(super) async fn connect_in(ctx: &Ctx, version: ProtocolVersion) -> Result<ScClient, Failure> {
    Ok(ScClient::connected(ctx, url_of(ctx, version)?, version).await?)
}

/// The target's name for a procedure (`unimplemented` when its section names none).
pub(super) fn procedure(
    ctx: &Ctx,
    what: &str,
    pick: fn(&Procedures) -> &Option<String>,
) -> Result<String, Failure> {
    pick(&target(ctx)?.procedures)
        .clone()
        .ok_or_else(|| Failure::Unimplemented(format!("the target names no {what} procedure")))
}

/// `unimplemented` unless the target has the pub/sub layer.
pub(super) fn pubsub(ctx: &Ctx) -> Outcome {
    match target(ctx)?.pubsub {
        true => Ok(()),
        false => Err(Failure::Unimplemented(
            "the target has no pub/sub layer".into(),
        )),
    }
}

/// `unimplemented` unless the target has the authentication layer.
pub(super) fn auth(ctx: &Ctx) -> Outcome {
    match target(ctx)?.auth {
        true => Ok(()),
        false => Err(Failure::Unimplemented(
            "the target has no authentication layer".into(),
        )),
    }
}

/// The `{name, message}` of an error response, checked to be strings.
pub(super) fn error_of(response: &Value) -> Result<(String, String), Failure> {
    let error = response
        .get("error")
        .ok_or_else(|| broken!("expected an error response {{rid, error}}, got {response}"))?;
    let field = |f: &str| {
        error
            .get(f)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| broken!("the error has no string `{f}`: {response}"))
    };
    Ok((field("name")?, field("message")?))
}

/// Checks a successful response: no `error`.
pub(super) fn ok_response(response: &Value, what: &str) -> Outcome {
    ensure!(
        response.get("error").is_none(),
        "{what} was answered with an error: {response}"
    );
    Ok(())
}

/// Nothing but pings for `wait`.
pub(super) async fn quiet(client: &mut ScClient, wait: Duration, what: &str) -> Outcome {
    match client.next(wait).await? {
        None => Ok(()),
        Some(Incoming::Closed(code)) => {
            Err(broken!("the connection closed (code {code:?}) {what}"))
        }
        Some(other) => Err(broken!("expected nothing {what}, got {other:?}")),
    }
}

/// Subscribes to `channel`; the response.
pub(super) async fn subscribe(client: &mut ScClient, channel: &str) -> Result<Value, Failure> {
    Ok(client
        .invoke("#subscribe", serde_json::json!({ "channel": channel }))
        .await?)
}

/// A channel name no other case uses.
pub(super) fn channel(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("chatspec/{name}/{}", N.fetch_add(1, Ordering::Relaxed))
}
