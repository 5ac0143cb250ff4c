//! `assa.connect.*`, `assa.envelope.*`, `assa.framing.*`, `assa.error.*`:
//! CONNECT and DISCONNECT (§1.2, §3), the envelope every message shares
//! (§2), the stream framing and the user_id rule (specs/README.md silent
//! spots), and the ERROR of what cannot be read (§9.1).

use serde_json::{json, Value};

use super::helpers::{
    clients, connected, mint, ok, open, open_room, target, timestamp, users, valid,
};
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::assa::now_timestamp;
use crate::target::AssaFraming;
use crate::{broken, ensure, ensure_eq};

case! {
    suite: assa,
    name: "connect.response",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §3.1",
    title: "CONNECT with a valid token is answered by CONNECT_RESPONSE success with the token's user_id, a session_id, server_time and reconnection_info",
    run: connect_response,
}
async fn connect_response(ctx: Ctx) -> Outcome {
    let user = users(&ctx, 1).await?.remove(0);
    let mut c = open(&ctx, "client").await?;
    let r = c.connect(&user.token).await?;
    let d = ok(&r, "CONNECT")?;
    ensure_eq!(d["user_id"].as_u64(), Some(user.id), "data.user_id");
    ensure!(
        d["session_id"].as_str().is_some_and(|s| !s.is_empty()),
        "data.session_id is not a non-empty string: {}",
        d["session_id"]
    );
    timestamp(&d["server_time"], "data.server_time")?;
    let info = &d["reconnection_info"];
    ensure!(
        info["existing_rooms"].is_array() && info["unread_messages"].is_u64(),
        "data.reconnection_info lacks existing_rooms or unread_messages: {info}"
    );
    Ok(())
}

table! {
    suite: assa,
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.2",
    run: bad_token,
    cases: [
        ("connect.bad-signature-refused", "A token signed with another secret is refused with AUTH_FAILED or INVALID_TOKEN", BadToken::Signature),
        ("connect.alg-none-refused", "A token with `alg: none` is refused with AUTH_FAILED or INVALID_TOKEN", BadToken::AlgNone),
        ("connect.garbage-token-refused", "A token that is not a JWT is refused with AUTH_FAILED or INVALID_TOKEN", BadToken::Garbage),
        ("connect.missing-token-refused", "CONNECT without jwt_token is refused with AUTH_FAILED or INVALID_TOKEN", BadToken::Missing),
        ("connect.expired-token-refused", "An expired token is refused with AUTH_FAILED or INVALID_TOKEN (needs users.jwt_secret)", BadToken::Expired),
    ],
}

/// How a CONNECT's token is broken.
#[derive(Clone, Copy)]
enum BadToken {
    Signature,
    AlgNone,
    Garbage,
    Missing,
    Expired,
}

async fn bad_token(ctx: Ctx, how: BadToken) -> Outcome {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = match how {
        BadToken::Garbage => Some("not-a-jwt".to_owned()),
        BadToken::Missing => None,
        BadToken::Expired => {
            let t = target(&ctx)?;
            let secret = t.users.jwt_secret.as_deref().ok_or_else(|| {
                Failure::Unimplemented("an expired token needs users.jwt_secret".into())
            })?;
            Some(mint(t, secret, users(&ctx, 1).await?[0].id, -3600)?)
        }
        BadToken::Signature | BadToken::AlgNone => {
            let good = users(&ctx, 1).await?.remove(0).token;
            let parts: Vec<&str> = good.split('.').collect();
            ensure!(parts.len() == 3, "the target's token is not a JWT");
            Some(match how {
                BadToken::Signature => {
                    let mut sig = b64
                        .decode(parts[2])
                        .map_err(|e| Failure::Harness(format!("the token's signature: {e}")))?;
                    for b in &mut sig {
                        *b ^= 0x5a;
                    }
                    format!("{}.{}.{}", parts[0], parts[1], b64.encode(sig))
                }
                _ => format!(
                    "{}.{}.",
                    b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
                    parts[1]
                ),
            })
        }
    };
    let mut c = open(&ctx, "client").await?;
    let data = match token {
        Some(t) => json!({ "jwt_token": t, "device_info": { "platform": "chatspec" } }),
        None => json!({ "device_info": { "platform": "chatspec" } }),
    };
    let r = c.request("CONNECT", data).await?;
    ensure!(r["success"] == false, "the bad token was accepted: {r}");
    let code = r["error_code"].as_str().unwrap_or_default();
    ensure!(
        code == "AUTH_FAILED" || code == "INVALID_TOKEN",
        "refused with {code:?} instead of AUTH_FAILED or INVALID_TOKEN"
    );
    valid(&r)?;
    // Refused, the connection is no session: a room cannot be made.
    let r = c
        .request("CREATE_ROOM", json!({ "name": "x", "is_open": true }))
        .await?;
    ensure!(
        r["success"] == false,
        "after a refused CONNECT, CREATE_ROOM succeeded: {r}"
    );
    Ok(())
}

case! {
    suite: assa,
    name: "connect.request-before-connect-refused",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §1.2",
    title: "A request before CONNECT (CREATE_ROOM) is refused with success: false; CONNECT afterwards still works",
    run: before_connect,
}
async fn before_connect(ctx: Ctx) -> Outcome {
    let user = users(&ctx, 1).await?.remove(0);
    let mut c = open(&ctx, "client").await?;
    let r = c
        .request("CREATE_ROOM", json!({ "name": "early", "is_open": true }))
        .await?;
    ensure!(r["success"] == false, "CREATE_ROOM before CONNECT: {r}");
    valid(&r)?;
    let r = c.connect(&user.token).await?;
    ok(&r, "CONNECT")?;
    Ok(())
}

case! {
    suite: assa,
    name: "connect.disconnect-ends-session",
    level: Should,
    spec: "004_636ae579ed5d2364.txt §3.2",
    title: "DISCONNECT is answered with success and the server ends the connection",
    run: disconnect,
}
async fn disconnect(ctx: Ctx) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let r = c
        .request("DISCONNECT", json!({ "reason": "user_logout" }))
        .await?;
    ok(&r, "DISCONNECT")?;
    c.expect_closed(ctx.wait).await?;
    Ok(())
}

case! {
    suite: assa,
    name: "envelope.response-echoes-seq-id",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §2.3",
    title: "Every response echoes the request's seq_id and carries an ISO 8601 timestamp, even when requests are sent before the previous answer arrives",
    run: echoes_seq_id,
}
async fn echoes_seq_id(ctx: Ctx) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let mut seqs = Vec::new();
    for i in 0..3 {
        seqs.push(
            c.send_request("ROOM_INFO", json!({ "room_id": 1_000_000_000u64 + i }))
                .await?,
        );
    }
    for seq in &seqs {
        let r = c.response(seq).await?;
        ensure_eq!(r["action"].as_str(), Some("ROOM_INFO_RESPONSE"), "action");
        timestamp(&r["timestamp"], "timestamp")?;
    }
    Ok(())
}

case! {
    suite: assa,
    name: "envelope.server-messages-valid",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §2.1",
    title: "Every message the server sends in a short session (responses, broadcasts) has action, timestamp and seq_id and the shape the document shows",
    run: server_messages_valid,
}
async fn server_messages_valid(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    super::helpers::join(&mut cs[1].1, room).await?;
    super::helpers::say(&mut cs[1].1, room, "hello").await?;
    cs[0].1.expect("USER_JOINED").await?;
    cs[0].1.expect("NEW_MESSAGE").await?;
    for (_, c) in &cs {
        for m in c.mailbox() {
            valid(m)?;
            timestamp(&m["timestamp"], "timestamp")?;
            ensure!(
                m["seq_id"].as_str().is_some_and(|s| !s.is_empty()),
                "{} has no seq_id",
                m["action"]
            );
        }
    }
    Ok(())
}

case! {
    suite: assa,
    name: "security.user-id-mismatch-refused",
    level: Must,
    spec: "specs/README.md §Silent spots: assa user_id",
    title: "A request whose user_id is another user's is refused, and nothing happens in that user's name",
    run: user_id_mismatch,
}
async fn user_id_mismatch(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    let victim = cs[0].0.id;
    let (_, mallory) = &mut cs[1];
    let mut m = mallory.envelope(
        "SEND_MESSAGE",
        json!({ "room_id": room, "content": "spoofed", "message_type": "text", "client_message_id": "spoof" }),
    );
    m["user_id"] = json!(victim);
    let seq = m["seq_id"].as_str().unwrap_or_default().to_owned();
    mallory.send(&m).await?;
    let r = mallory.response(&seq).await?;
    ensure!(
        r["success"] == false,
        "a SEND_MESSAGE claiming user {victim} was accepted: {r}"
    );
    super::helpers::receives_no(&ctx, &mut cs[0].1, "NEW_MESSAGE", "the impersonated user").await
}

case! {
    suite: assa,
    name: "framing.concatenated-and-split",
    level: Must,
    spec: "specs/README.md §Silent spots: assa framing",
    title: "Two requests in one write without a newline, and one request split over two writes, are all answered",
    run: concatenated,
}
async fn concatenated(ctx: Ctx) -> Outcome {
    if target(&ctx)?.framing != AssaFraming::JsonStream {
        return Err(Failure::Unimplemented(
            "the target uses length prefixes".into(),
        ));
    }
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let a = c.envelope("ROOM_INFO", json!({ "room_id": 1 }));
    let b = c.envelope("ROOM_INFO", json!({ "room_id": 2 }));
    let d = c.envelope("ROOM_INFO", json!({ "room_id": 3 }));
    c.send_raw(format!("{a}{b}").as_bytes()).await?;
    let text = format!("{d}\n");
    let (head, tail) = text.split_at(text.len() / 2);
    c.send_raw(head.as_bytes()).await?;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    c.send_raw(tail.as_bytes()).await?;
    for m in [&a, &b, &d] {
        let seq = m["seq_id"].as_str().unwrap_or_default();
        c.response(seq).await?;
    }
    Ok(())
}

case! {
    suite: assa,
    name: "error.unknown-action",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.1",
    title: "An unknown action is answered by ERROR with success: false, an error_code, the seq_id, data.original_action and data.error_details; the connection keeps working",
    run: unknown_action,
}
async fn unknown_action(ctx: Ctx) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let seq = c.send_request("NO_SUCH_ACTION", json!({})).await?;
    let r = c.response(&seq).await?;
    expect_error(&r)?;
    ensure_eq!(
        r["data"]["original_action"].as_str(),
        Some("NO_SUCH_ACTION"),
        "data.original_action"
    );
    still_answers(&mut c).await
}

/// Checks an ERROR of §9.1.
fn expect_error(r: &Value) -> Outcome {
    ensure_eq!(r["action"].as_str(), Some("ERROR"), "action");
    ensure!(r["success"] == false, "ERROR without success: false: {r}");
    ensure!(r["error_code"].is_string(), "ERROR without error_code: {r}");
    ensure!(
        r["data"]["error_details"].is_string(),
        "ERROR without data.error_details: {r}"
    );
    valid(r)
}

/// The connection still answers a request.
async fn still_answers(c: &mut crate::driver::assa::AssaClient) -> Outcome {
    let r = c
        .request("ROOM_INFO", json!({ "room_id": 1 }))
        .await
        .map_err(|e| broken!("after the ERROR the connection no longer answers: {e}"))?;
    ensure_eq!(r["action"].as_str(), Some("ROOM_INFO_RESPONSE"), "action");
    Ok(())
}

case! {
    suite: assa,
    name: "error.invalid-utf8",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §1.1",
    title: "A message with invalid UTF-8 inside a string is refused with ERROR (success: false)",
    run: invalid_utf8,
}
async fn invalid_utf8(ctx: Ctx) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let mut payload = br#"{"action":"ROOM_INFO","data":{"room_id":1},"seq_id":"utf8_"#.to_vec();
    payload.extend_from_slice(&[0xff, 0xfe]);
    payload.extend_from_slice(format!(r#"","timestamp":"{}"}}"#, now_timestamp()).as_bytes());
    c.send_payload(&payload).await?;
    let r = c.expect("ERROR").await?;
    ensure!(r["success"] == false, "ERROR without success: false: {r}");
    Ok(())
}

case! {
    suite: assa,
    name: "error.missing-field",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.1",
    title: "A request missing a required field (JOIN_ROOM without room_id) is refused with success: false and the seq_id; the connection keeps working",
    run: missing_field,
}
async fn missing_field(ctx: Ctx) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let seq = c.send_request("JOIN_ROOM", json!({})).await?;
    let r = c.response(&seq).await?;
    ensure!(r["success"] == false, "JOIN_ROOM without room_id: {r}");
    ensure!(
        r["error_code"].is_string(),
        "the refusal has no error_code: {r}"
    );
    still_answers(&mut c).await
}

case! {
    suite: assa,
    name: "error.broken-json-closes",
    level: Info,
    spec: "specs/README.md §Silent spots: assa framing",
    title: "A JSON stream whose structure is broken cannot be resynchronised: ERROR, then the server closes",
    run: broken_json,
}
async fn broken_json(ctx: Ctx) -> Outcome {
    if target(&ctx)?.framing != AssaFraming::JsonStream {
        return Err(Failure::Unimplemented(
            "the target uses length prefixes".into(),
        ));
    }
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    c.send_raw(b"{\"action\":]]\n").await?;
    let r = c.expect("ERROR").await?;
    expect_error(&r)?;
    c.expect_closed(ctx.wait).await?;
    Ok(())
}

case! {
    suite: assa,
    name: "connect.second-connection-same-user",
    level: Should,
    spec: "004_636ae579ed5d2364.txt §1.2",
    title: "The same token connects on two connections at once; both are sessions of the user",
    run: two_connections,
}
async fn two_connections(ctx: Ctx) -> Outcome {
    let user = users(&ctx, 1).await?.remove(0);
    let mut a = connected(&ctx, &user, "first").await?;
    let mut b = connected(&ctx, &user, "second").await?;
    let room = open_room(&mut a).await?;
    let d = super::helpers::join(&mut b, room).await?;
    ensure_eq!(
        d["room_id"].as_u64(),
        Some(room),
        "JOIN_ROOM_RESPONSE room_id"
    );
    Ok(())
}

case! {
    suite: assa,
    name: "envelope.user-and-session-id-optional",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §2.2",
    title: "After CONNECT, a request without user_id and session_id (both optional) is served as the session's user; one with the session's own session_id too",
    run: ids_optional,
}
async fn ids_optional(ctx: Ctx) -> Outcome {
    let user = users(&ctx, 1).await?.remove(0);
    let mut c = open(&ctx, "client").await?;
    let r = c.connect(&user.token).await?;
    let session = ok(&r, "CONNECT")?["session_id"].clone();
    // Requests of this client carry no user_id from here on.
    c.user_id = None;
    let d =
        super::helpers::create_room(&mut c, json!({ "name": "no ids", "is_open": true })).await?;
    ensure_eq!(d["host_user_id"].as_u64(), Some(user.id), "host_user_id");
    let mut m = c.envelope("ROOM_INFO", json!({ "room_id": d["room_id"] }));
    m["session_id"] = session;
    let seq = m["seq_id"].as_str().unwrap_or_default().to_owned();
    c.send(&m).await?;
    let r = c.response(&seq).await?;
    ok(&r, "ROOM_INFO")?;
    Ok(())
}
