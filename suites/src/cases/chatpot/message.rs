//! `chatpot.v*.message.*`: a message sent to a room reaches every member of the room, the sender included, on every socket that presented the member's token, with the documented payload — and nobody else (§SIGNAL: message).

use protocols::engineio::EioVersion;
use serde_json::Value;

use super::helpers::{
    connect, fresh_text, join, leave, logged_in, member_in, message, needs, room, send, silent,
};
use crate::case::{Ctx, Outcome};
use crate::{ensure, ensure_eq};

/// The triggers every message case needs.
const TRIGGERS: [&str; 4] = ["member", "room", "join", "send"];

case! {
    suite: chatpot,
    name: "message.payload",
    level: Must,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "A member of the room gets message with the documented payload: message_id, type TEXT, from (the sender's token, nick en/ko/ja, avatar, region, language, gender), to {type: ROOM, token: the room}, the content, sent_time",
    run: payload,
}
async fn payload(ctx: Ctx, version: EioVersion) -> Outcome {
    needs(&ctx, &TRIGGERS)?;
    let r = room(&ctx).await?;
    let (sender, _a) = member_in(&ctx, version, &[&r]).await?;
    let (_, mut b) = member_in(&ctx, version, &[&r]).await?;
    let text = fresh_text();
    send(&ctx, &r, &sender, &text).await?;
    let m = message(&mut b).await?;
    ensure_eq!(m["type"].as_str(), Some("TEXT"), "type");
    ensure_eq!(
        m["from"]["token"].as_str(),
        Some(sender.as_str()),
        "from.token"
    );
    ensure_eq!(m["to"]["type"].as_str(), Some("ROOM"), "to.type");
    ensure_eq!(m["to"]["token"].as_str(), Some(r.as_str()), "to.token");
    ensure_eq!(m["content"].as_str(), Some(text.as_str()), "content");
    Ok(())
}

case! {
    suite: chatpot,
    name: "message.every-member",
    level: Must,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "Every member of the room gets the message, with one message_id",
    run: every_member,
}
async fn every_member(ctx: Ctx, version: EioVersion) -> Outcome {
    needs(&ctx, &TRIGGERS)?;
    let r = room(&ctx).await?;
    let (sender, _a) = member_in(&ctx, version, &[&r]).await?;
    let (_, mut b) = member_in(&ctx, version, &[&r]).await?;
    let (_, mut c) = member_in(&ctx, version, &[&r]).await?;
    let text = fresh_text();
    send(&ctx, &r, &sender, &text).await?;
    let mb = message(&mut b).await?;
    let mc = message(&mut c).await?;
    for (who, m) in [("the second member", &mb), ("the third member", &mc)] {
        ensure_eq!(
            m["content"].as_str(),
            Some(text.as_str()),
            "content {who} got"
        );
    }
    ensure_eq!(
        mc["message_id"],
        mb["message_id"],
        "message_id of the third member's copy"
    );
    Ok(())
}

case! {
    suite: chatpot,
    name: "message.sender-included",
    level: Must,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "The sender gets its own message too (\"본인 포함\")",
    run: sender_included,
}
async fn sender_included(ctx: Ctx, version: EioVersion) -> Outcome {
    needs(&ctx, &TRIGGERS)?;
    let r = room(&ctx).await?;
    let (sender, mut a) = member_in(&ctx, version, &[&r]).await?;
    let text = fresh_text();
    send(&ctx, &r, &sender, &text).await?;
    let m = message(&mut a).await?;
    ensure_eq!(m["content"].as_str(), Some(text.as_str()), "content");
    ensure_eq!(
        m["from"]["token"].as_str(),
        Some(sender.as_str()),
        "from.token"
    );
    Ok(())
}

/// Sends a marker message to `marker_room` and checks that it is the next
/// message `client` gets (so nothing sent before it reached the client).
async fn next_is_marker(
    ctx: &Ctx,
    client: &mut crate::driver::socketio::SioClient,
    marker_room: &str,
    marker_sender: &str,
    who: &str,
) -> Outcome {
    let marker = fresh_text();
    send(ctx, marker_room, marker_sender, &marker).await?;
    let m = message(client).await?;
    ensure!(
        m["content"] == marker.as_str(),
        "{who} got a message of another room: {m}"
    );
    Ok(())
}

case! {
    suite: chatpot,
    name: "message.not-to-other-rooms",
    level: Must,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "A member who is not in the room does not get its messages (its next message is one of its own room)",
    run: not_to_others,
}
async fn not_to_others(ctx: Ctx, version: EioVersion) -> Outcome {
    needs(&ctx, &TRIGGERS)?;
    let (r, other) = (room(&ctx).await?, room(&ctx).await?);
    let (sender, _a) = member_in(&ctx, version, &[&r]).await?;
    let (outsider, mut o) = member_in(&ctx, version, &[&other]).await?;
    send(&ctx, &r, &sender, &fresh_text()).await?;
    next_is_marker(&ctx, &mut o, &other, &outsider, "a member outside the room").await
}

case! {
    suite: chatpot,
    name: "message.not-before-postinit",
    level: Should,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "A connection that presented no member token gets no message, while a member's connection gets it",
    run: not_before_postinit,
}
async fn not_before_postinit(ctx: Ctx, version: EioVersion) -> Outcome {
    needs(&ctx, &TRIGGERS)?;
    let r = room(&ctx).await?;
    let (sender, mut a) = member_in(&ctx, version, &[&r]).await?;
    let mut anonymous = connect(&ctx, version).await?;
    send(&ctx, &r, &sender, &fresh_text()).await?;
    message(&mut a).await?;
    silent(&ctx, &mut anonymous, "a connection without a member token").await
}

case! {
    suite: chatpot,
    name: "message.not-after-leaving",
    level: Must,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "A member taken out of the room no longer gets its messages (its next message is one of a room it is still in)",
    run: after_leaving,
}
async fn after_leaving(ctx: Ctx, version: EioVersion) -> Outcome {
    needs(&ctx, &["member", "room", "join", "leave", "send"])?;
    let (r, other) = (room(&ctx).await?, room(&ctx).await?);
    let (sender, _a) = member_in(&ctx, version, &[&r]).await?;
    let (leaver, mut b) = member_in(&ctx, version, &[&r, &other]).await?;
    let text = fresh_text();
    send(&ctx, &r, &sender, &text).await?;
    let m = message(&mut b).await?;
    ensure_eq!(
        m["content"].as_str(),
        Some(text.as_str()),
        "content before leaving"
    );
    leave(&ctx, &r, &leaver).await?;
    send(&ctx, &r, &sender, &fresh_text()).await?;
    next_is_marker(&ctx, &mut b, &other, &leaver, "a member who left the room").await
}

case! {
    suite: chatpot,
    name: "message.member-joined-while-connected",
    level: Info,
    spec: { v3 | v4: "specs/README.md §Silent spots: chatpot and circles REST API" },
    title: "A member put in a room while connected gets the room's next message without presenting its token again",
    run: joined_live,
}
async fn joined_live(ctx: Ctx, version: EioVersion) -> Outcome {
    needs(&ctx, &TRIGGERS)?;
    let r = room(&ctx).await?;
    let (sender, _a) = member_in(&ctx, version, &[&r]).await?;
    let (joiner, mut b) = member_in(&ctx, version, &[]).await?;
    join(&ctx, &r, &joiner).await?;
    let text = fresh_text();
    send(&ctx, &r, &sender, &text).await?;
    let m = message(&mut b).await?;
    ensure_eq!(m["content"].as_str(), Some(text.as_str()), "content");
    Ok(())
}

case! {
    suite: chatpot,
    name: "message.every-connection-of-a-member",
    level: Should,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "A member logged in on two connections gets the message on both",
    run: both_connections,
}
async fn both_connections(ctx: Ctx, version: EioVersion) -> Outcome {
    needs(&ctx, &TRIGGERS)?;
    let r = room(&ctx).await?;
    let (sender, _a) = member_in(&ctx, version, &[&r]).await?;
    let (twice, mut first) = member_in(&ctx, version, &[&r]).await?;
    let mut second = logged_in(&ctx, version, &twice).await?;
    let text = fresh_text();
    send(&ctx, &r, &sender, &text).await?;
    for (which, c) in [("first", &mut first), ("second", &mut second)] {
        let m = message(c).await?;
        ensure_eq!(
            m["content"].as_str(),
            Some(text.as_str()),
            "content on the {which} connection"
        );
    }
    Ok(())
}

/// One message sent by a fresh member to a fresh room, as a member got it,
/// and the time window (Unix ms) it was sent in.
async fn one_message(
    ctx: &Ctx,
    version: EioVersion,
) -> Result<(Value, u64, u64), crate::case::Failure> {
    needs(ctx, &TRIGGERS)?;
    let r = room(ctx).await?;
    let (sender, mut a) = member_in(ctx, version, &[&r]).await?;
    let before = unix_ms();
    send(ctx, &r, &sender, &fresh_text()).await?;
    let m = message(&mut a).await?;
    Ok((m, before, unix_ms()))
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

case! {
    suite: chatpot,
    name: "message.id-is-32-hex",
    level: Should,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "message_id is 32 hexadecimal digits, as the document's example (626446794155fd69c1b90b827b3d6931)",
    run: id_hex,
}
async fn id_hex(ctx: Ctx, version: EioVersion) -> Outcome {
    let (m, _, _) = one_message(&ctx, version).await?;
    let id = m["message_id"].as_str().unwrap_or("");
    ensure!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "message_id is not 32 hexadecimal digits: {:?}",
        m["message_id"]
    );
    Ok(())
}

case! {
    suite: chatpot,
    name: "message.ids-differ",
    level: Should,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "Two messages have different message_ids",
    run: ids_differ,
}
async fn ids_differ(ctx: Ctx, version: EioVersion) -> Outcome {
    needs(&ctx, &TRIGGERS)?;
    let r = room(&ctx).await?;
    let (sender, mut a) = member_in(&ctx, version, &[&r]).await?;
    let (one, two) = (fresh_text(), fresh_text());
    send(&ctx, &r, &sender, &one).await?;
    let first = message(&mut a).await?;
    send(&ctx, &r, &sender, &two).await?;
    let second = message(&mut a).await?;
    ensure_eq!(
        second["content"].as_str(),
        Some(two.as_str()),
        "content of the second message"
    );
    ensure!(
        first["message_id"] != second["message_id"],
        "both messages have message_id {}",
        first["message_id"]
    );
    Ok(())
}

case! {
    suite: chatpot,
    name: "message.sent-time-in-ms",
    level: Should,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SIGNAL: message" },
    title: "sent_time is the sending time in Unix milliseconds, as the document's example (1557896925469), within a minute of the suite's clock",
    run: sent_time,
}
async fn sent_time(ctx: Ctx, version: EioVersion) -> Outcome {
    let (m, before, after) = one_message(&ctx, version).await?;
    let t = m["sent_time"].as_u64().unwrap_or(0);
    const SKEW_MS: u64 = 60_000;
    ensure!(
        t + SKEW_MS >= before && t <= after + SKEW_MS,
        "sent_time {t} is not within a minute of the sending time ({before}..{after} ms)"
    );
    Ok(())
}
