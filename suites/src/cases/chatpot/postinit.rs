//! `chatpot.v*.postinit.*` and `chatpot.v*.health.*`: `postinit_req` with a member token answered `postinit_res` (the deployed `init_res` tolerated), its `server_error` refusals, and `health_req` / `health_res` as deployed.

use protocols::engineio::EioVersion;
use serde_json::{json, Value};

use super::helpers::{connect, expect, member, postinit, postinit_answer, NS};
use crate::case::{Ctx, Outcome};
use crate::ensure;

case! {
    suite: chatpot,
    name: "postinit.accepted",
    level: Must,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: postinit_req" },
    title: "postinit_req {token} with a member token is answered {success: true} (postinit_res, or init_res as deployed)",
    run: accepted,
}
async fn accepted(ctx: Ctx, version: EioVersion) -> Outcome {
    let token = member(&ctx).await?;
    let mut c = connect(&ctx, version).await?;
    let (name, payload) = postinit_answer(&mut c, json!({ "token": token })).await?;
    ensure!(
        name == "postinit_res" || name == "init_res",
        "postinit_req with a member token was answered {name} {payload}"
    );
    ensure!(
        payload["success"] == true,
        "{name} is not {{success: true}}: {payload}"
    );
    Ok(())
}

case! {
    suite: chatpot,
    name: "postinit.answer-is-postinit-res",
    level: Should,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: postinit_req" },
    title: "The answer to postinit_req is named postinit_res, as the document says (the deployed server's init_res is non-strict)",
    run: named,
}
async fn named(ctx: Ctx, version: EioVersion) -> Outcome {
    let token = member(&ctx).await?;
    let mut c = connect(&ctx, version).await?;
    let (name, payload) = postinit_answer(&mut c, json!({ "token": token })).await?;
    ensure!(
        name == "postinit_res",
        "postinit_req was answered {name} {payload}, not postinit_res"
    );
    Ok(())
}

/// Sends `postinit_req` with `payload` and checks the refusal: the next
/// event is a `server_error` of the documented shape with `code`, and its
/// message contains `says` (when given).
async fn refused(
    ctx: Ctx,
    version: EioVersion,
    payload: Value,
    code: &str,
    says: Option<&str>,
) -> Outcome {
    let mut c = connect(&ctx, version).await?;
    let (name, error) = postinit_answer(&mut c, payload.clone()).await?;
    ensure!(
        name == "server_error",
        "postinit_req {payload} was answered {name} {error}, not server_error"
    );
    ensure!(
        error["code"] == code,
        "server_error has code {}, expected {code}: {error}",
        error["code"]
    );
    if let Some(says) = says {
        let message = error["message"].as_str().unwrap_or("");
        ensure!(
            message.contains(says),
            "server_error's message does not say {says:?}: {error}"
        );
    }
    Ok(())
}

/// A 48-hex-digit token no member has.
const NO_SUCH_TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

async fn unknown_token(ctx: Ctx, version: EioVersion, says: Option<&str>) -> Outcome {
    refused(
        ctx,
        version,
        json!({ "token": NO_SUCH_TOKEN }),
        "INVALID_PARAM",
        says,
    )
    .await
}

table! {
    suite: chatpot,
    level: Must,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: server_error" },
    run: unknown_token,
    cases: [
        ("postinit.unknown-token", "postinit_req with a token no member has is refused with server_error {code: INVALID_PARAM, message}", None),
    ],
}

table! {
    suite: chatpot,
    level: Should,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: server_error" },
    run: unknown_token,
    cases: [
        ("postinit.unknown-token-message", "The server_error refusing an unknown token says \"invalid member_token\", as the document's example", Some("invalid member_token")),
    ],
}

async fn bad_param(ctx: Ctx, version: EioVersion, payload: Value) -> Outcome {
    refused(ctx, version, payload, "INVALID_PARAM", None).await
}

table! {
    suite: chatpot,
    level: Should,
    spec: { v3 | v4: "specs/README.md §Facts: Chatpot, as deployed" },
    run: bad_param,
    cases: [
        ("postinit.missing-token", "postinit_req without a token is refused with server_error {code: INVALID_PARAM}, as deployed", json!({})),
        ("postinit.empty-token", "postinit_req with an empty token is refused as a missing one: server_error {code: INVALID_PARAM}", json!({ "token": "" })),
    ],
}

table! {
    suite: chatpot,
    level: Info,
    spec: { v3 | v4: "specs/README.md §Facts: Chatpot, as deployed" },
    run: bad_param,
    cases: [
        ("postinit.token-not-a-string", "postinit_req whose token is a number is refused with server_error {code: INVALID_PARAM}", json!({ "token": 42 })),
        ("postinit.payload-not-an-object", "postinit_req whose argument is a bare string is refused with server_error {code: INVALID_PARAM}", json!("token")),
    ],
}

case! {
    suite: chatpot,
    name: "postinit.retry-after-refusal",
    level: Info,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: server_error" },
    title: "After a server_error for an unknown token the connection stays usable: postinit_req with a member token on it is accepted",
    run: retry,
}
async fn retry(ctx: Ctx, version: EioVersion) -> Outcome {
    let token = member(&ctx).await?;
    let mut c = connect(&ctx, version).await?;
    let (name, payload) = postinit_answer(&mut c, json!({ "token": NO_SUCH_TOKEN })).await?;
    ensure!(
        name == "server_error",
        "postinit_req with an unknown token was answered {name} {payload}"
    );
    postinit(&mut c, &token).await
}

case! {
    suite: chatpot,
    name: "health.answered",
    level: Info,
    spec: { v3 | v4: "specs/README.md §Facts: Chatpot, as deployed" },
    title: "health_req is answered health_res, as deployed",
    run: health,
}
async fn health(ctx: Ctx, version: EioVersion) -> Outcome {
    let mut c = connect(&ctx, version).await?;
    c.emit(
        NS,
        "health_req",
        vec![protocols::socketio::Data::from(json!({}))],
        None,
    )
    .await?;
    expect(&mut c, "health_res").await?;
    Ok(())
}
