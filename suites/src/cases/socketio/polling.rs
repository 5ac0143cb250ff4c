//! `socketio.*.polling.*`: HTTP long-polling: payload encoding, binary
//! attachments, concurrent polls, bad and oversized payloads.

use std::time::Duration;

use protocols::engineio::{EioVersion, Packet as EioPacket, PacketType as EioType, Payload};
use protocols::socketio::Data;
use serde_json::json;

use super::helpers::{endpoint, no_auto, raw, still_serving};
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::engineio::{raw_request, request, EioClient, HttpReply};
use crate::driver::socketio::decode_packet;
use crate::{broken, ensure, ensure_eq};

use EioVersion::{V3, V4};

case! {
    suite: socketio,
    name: "polling.payload-encoding",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §Payload",
        v4: "engine.io-protocol v4 §Packet encoding: HTTP long-polling",
    },
    title: "Several packets in one POST are all read and answered, to a later poll as to one already pending, and a poll carrying several packets encodes them as the version says (v4: joined by \\x1e; v3: length-prefixed)",
    run: payload_encoding,
}
async fn payload_encoding(ctx: Ctx, v: EioVersion) -> Outcome {
    // The answers queued up before a poll (one poll carries several packets),
    // then answered to a poll already pending, as stock clients poll.
    payload_round(&ctx, v, PollOrder::Queued).await?;
    payload_round(&ctx, v, PollOrder::Pending).await
}

async fn payload_round(ctx: &Ctx, v: EioVersion, order: PollOrder) -> Outcome {
    let ep = endpoint(ctx, v)?;
    let mut client = EioClient::polling(ctx, ep.clone(), no_auto()).await?;
    // Socket.IO v5 (Engine.IO 4): the client connects `/`. Socket.IO v4
    // (Engine.IO 3): the server connects `/` on its own as the session opens
    // and expects nothing from the client (socket.io-protocol v4 §Connection to
    // the default namespace); a CONNECT for `/` is not the v4 protocol, and
    // Node socket.io closes the session on it.
    if v == V4 {
        client.send(EioPacket::message("0")).await?;
    }
    let url = ep.url(&ep.query("polling", Some(client.sid())));
    // One POST, two packets.
    let post = [
        EioPacket::message("2[\"message\",1]"),
        EioPacket::message("2[\"message\",\"é\"]"),
    ];
    let mut texts = Vec::new();
    let mut multi_packet_body = None;
    match order {
        PollOrder::Queued => {
            let mut polled = Vec::new();
            let ping = heartbeat(ctx, &mut client, &url, v, &mut polled).await?;
            texts.extend(polled.iter().filter_map(message_text));
            client
                .send_all(&ping.into_iter().chain(post).collect::<Vec<_>>())
                .await?;
            // Let the answers queue up, so that one poll carries several packets.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        PollOrder::Pending => {
            let mut packets = Vec::new();
            let deadline = tokio::time::Instant::now() + ctx.wait;
            while !packets.iter().any(is_auth) && tokio::time::Instant::now() < deadline {
                packets.extend(poll_once(ctx, &mut client, &url, v).await?);
            }
            ensure!(
                packets.iter().any(is_auth),
                "the namespace was not joined over polling"
            );
            let poll = pending_poll(ctx, &mut client, &url, v, &mut packets).await?;
            client.send_all(&with_v3_ping(v, &post)).await?;
            let reply = poll.await.map_err(|e| Failure::Harness(e.to_string()))??;
            if Payload::decode(v, &reply.body).is_ok_and(|p| p.packets.len() > 1) {
                multi_packet_body = Some(reply.body.clone());
            }
            packets.extend(poll_answer(&mut client, v, reply, "the pending poll").await?);
            texts.extend(packets.iter().filter_map(message_text));
        }
    }
    let deadline = tokio::time::Instant::now() + ctx.wait;
    while texts.len() < 4 && tokio::time::Instant::now() < deadline {
        let reply = request(
            ctx,
            client.conn,
            client.http(),
            reqwest::Method::GET,
            &url,
            None,
        )
        .await?;
        ensure_eq!(reply.status, 200, "a poll's status");
        let payload = Payload::decode(v, &reply.body)
            .map_err(|e| broken!("a poll's body is not a v{} payload: {e}", v.query_value()))?;
        if payload.packets.len() > 1 && multi_packet_body.is_none() {
            multi_packet_body = Some(reply.body.clone());
        }
        for p in payload.packets {
            texts.extend(message_text(&p));
            if p.packet_type == EioType::Ping && v == V4 {
                client.send(EioPacket::empty(EioType::Pong)).await?;
            }
        }
    }
    let order = order.name();
    ensure!(
        texts.len() >= 4,
        "expected CONNECT, auth and two message-back packets ({order}), got {texts:?}"
    );
    ensure!(
        texts.iter().any(|t| t.starts_with('0')),
        "no CONNECT answer ({order}): {texts:?}"
    );
    let backs: Vec<&String> = texts
        .iter()
        .filter(|t| t.contains("message-back"))
        .collect();
    ensure_eq!(backs.len(), 2, "message-back answers ({order})");
    // The value is compared, not the text: JSON may escape it (`"\u00e9"`).
    let second = decode_packet(v, backs[1])?.data;
    ensure!(
        second == Some(json!(["message-back", "é"])),
        "non-ASCII text was not carried intact ({order}): {backs:?}"
    );
    if let Some(body) = multi_packet_body {
        match v {
            V4 => ensure!(
                body.contains(&0x1e),
                "a v4 payload of several packets is not joined by \\x1e"
            ),
            V3 => ensure!(
                body.first().is_some_and(|b| b.is_ascii_digit() || *b <= 1),
                "a v3 payload does not start with a length"
            ),
        }
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "polling.binary-round-trip",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §Payload",
        v4: "engine.io-protocol v4 §Packet encoding: HTTP long-polling",
    },
    title: "Binary attachments travel over polling both ways (v4: `b` + base64; v3: binary payload framing), answered to a poll already pending as to one that comes after",
    run: polling_binary,
}
async fn polling_binary(ctx: Ctx, v: EioVersion) -> Outcome {
    // Stock clients poll continuously: the answer usually goes to a poll
    // that is already pending. Both orders, each on its own session.
    binary_round_trip(&ctx, v, PollOrder::Pending).await?;
    binary_round_trip(&ctx, v, PollOrder::Queued).await
}

/// When the poll that carries an answer is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PollOrder {
    /// Before the request is sent: the answer goes to a pending poll.
    Pending,
    /// After the answer has queued up.
    Queued,
}

impl PollOrder {
    /// The order, as the failure messages say it.
    fn name(self) -> &'static str {
        match self {
            PollOrder::Pending => "answered to a pending poll",
            PollOrder::Queued => "answered to a later poll",
        }
    }
}

/// The echo app's `auth` event: the namespace is joined.
fn is_auth(p: &EioPacket) -> bool {
    p.as_text().is_some_and(|t| t.starts_with("2[\"auth\""))
}

/// The text of a message packet.
fn message_text(p: &EioPacket) -> Option<String> {
    match (p.packet_type, p.as_text()) {
        (EioType::Message, Some(t)) => Some(t.to_owned()),
        _ => None,
    }
}

async fn binary_round_trip(ctx: &Ctx, v: EioVersion, order: PollOrder) -> Outcome {
    let ep = endpoint(ctx, v)?;
    let mut eio = EioClient::polling(ctx, ep.clone(), no_auto()).await?;
    let url = ep.url(&ep.query("polling", Some(eio.sid())));
    if v == V4 {
        eio.send(EioPacket::message("0")).await?;
    }
    // Poll until the namespace is joined (the echo app's `auth` event).
    let deadline = tokio::time::Instant::now() + ctx.wait;
    let mut joined = false;
    while !joined && tokio::time::Instant::now() < deadline {
        joined |= poll_once(ctx, &mut eio, &url, v).await?.iter().any(is_auth);
    }
    ensure!(joined, "the namespace was not joined over polling");
    let mut packets = Vec::new();
    let pending = match order {
        PollOrder::Pending => Some(pending_poll(ctx, &mut eio, &url, v, &mut packets).await?),
        PollOrder::Queued => None,
    };
    let ping = match pending {
        Some(_) => (v == V3).then(|| EioPacket::empty(EioType::Ping)),
        None => heartbeat(ctx, &mut eio, &url, v, &mut packets).await?,
    };
    let sent = [vec![1u8, 2, 3], vec![0xff, 0, 0x1e]];
    let event = [
        EioPacket::message(
            r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        ),
        EioPacket::binary(sent[0].clone()),
        EioPacket::binary(sent[1].clone()),
    ];
    eio.send_all(&ping.into_iter().chain(event).collect::<Vec<_>>())
        .await?;
    match pending {
        Some(poll) => {
            let reply = poll.await.map_err(|e| Failure::Harness(e.to_string()))??;
            packets.extend(poll_answer(&mut eio, v, reply, "the pending poll").await?);
        }
        // Let the answer queue up, so that one poll carries its text part
        // and both attachments in one payload.
        None => tokio::time::sleep(Duration::from_millis(100)).await,
    }
    let mut text = None;
    let mut attachments = Vec::new();
    let deadline = tokio::time::Instant::now() + ctx.wait;
    loop {
        for p in packets.drain(..) {
            match (&p.data, text.is_some()) {
                (protocols::engineio::PacketData::Text(t), false)
                    if p.packet_type == EioType::Message =>
                {
                    text = Some(t.clone())
                }
                (protocols::engineio::PacketData::Binary(b), true) => attachments.push(b.clone()),
                _ => {}
            }
        }
        if (text.is_some() && attachments.len() >= 2) || tokio::time::Instant::now() >= deadline {
            break;
        }
        packets = poll_once(ctx, &mut eio, &url, v).await?;
    }
    let order = order.name();
    let text = text.ok_or_else(|| broken!("no message-back over polling ({order})"))?;
    let packet = crate::driver::socketio::decode_packet(v, &text)?;
    let full = packet
        .reconstruct(&attachments)
        .map_err(|e| broken!("message-back and its attachments ({order}): {e}"))?;
    ensure_eq!(
        full.data,
        Some(Data::Array(vec![
            Data::String("message-back".into()),
            Data::Binary(sent[0].clone()),
            Data::Binary(sent[1].clone())
        ])),
        "message-back with its attachments over polling, {order}"
    );
    Ok(())
}

/// Keeps the heartbeat before answers are left to queue up with no poll
/// pending, as a client keeps it: v4 polls until the server's next ping and
/// answers it (the one after is pingInterval away, its pong due pingTimeout
/// later), what came meanwhile going to `packets`; v3 returns a ping for the
/// POST to carry (the session lives pingInterval + pingTimeout from it).
async fn heartbeat(
    ctx: &Ctx,
    eio: &mut EioClient,
    url: &str,
    v: EioVersion,
    packets: &mut Vec<EioPacket>,
) -> Result<Option<EioPacket>, Failure> {
    if v == V3 {
        return Ok(Some(EioPacket::empty(EioType::Ping)));
    }
    let deadline = tokio::time::Instant::now() + ctx.wait;
    loop {
        let polled = poll_once(ctx, eio, url, v).await?;
        let pinged = polled.iter().any(|p| p.packet_type == EioType::Ping);
        packets.extend(polled);
        if pinged {
            return Ok(None);
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "no ping within {} ms over polling",
            ctx.wait.as_millis()
        );
    }
}

/// `packets`, after a ping in v3 (the session lives pingInterval +
/// pingTimeout from the client's last ping).
fn with_v3_ping(v: EioVersion, packets: &[EioPacket]) -> Vec<EioPacket> {
    (v == V3)
        .then(|| EioPacket::empty(EioType::Ping))
        .into_iter()
        .chain(packets.iter().cloned())
        .collect()
}

/// A poll the server holds: one still unanswered 30 ms after it was sent
/// (a poll answered at once, with a ping or queued packets, is retried;
/// what it carried goes to `packets`).
async fn pending_poll(
    ctx: &Ctx,
    eio: &mut EioClient,
    url: &str,
    v: EioVersion,
    packets: &mut Vec<EioPacket>,
) -> Result<tokio::task::JoinHandle<Result<HttpReply, crate::driver::DriverError>>, Failure> {
    for _ in 0..5 {
        let poll = {
            let (ctx, http, url, conn) =
                (ctx.clone(), eio.http().clone(), url.to_owned(), eio.conn);
            tokio::spawn(async move {
                raw_request(&ctx, conn, &http, reqwest::Method::GET, &url, None).await
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        if !poll.is_finished() {
            return Ok(poll);
        }
        let reply = poll.await.map_err(|e| Failure::Harness(e.to_string()))??;
        packets.extend(poll_answer(eio, v, reply, "a poll").await?);
    }
    Err(broken!(
        "every poll returned at once; no poll stayed pending"
    ))
}

case! {
    suite: socketio,
    name: "polling.concurrent-polls-close",
    level: Should,
    spec: {
        v3: "engine.io-protocol v3 §Polling",
        v4: "engine.io-protocol v4 §HTTP long-polling",
    },
    title: "A second poll while one is pending is refused (400/500), the first ends with `close`, and the session is gone",
    run: concurrent_polls,
}
async fn concurrent_polls(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let mut client = EioClient::polling(&ctx, ep.clone(), no_auto()).await?;
    let url = ep.url(&ep.query("polling", Some(client.sid())));
    if v == V3 {
        // A v3 session lives pingInterval + pingTimeout past the client's
        // last ping: one now, so that its timeout does not end the polls
        // below. Its pong drains with whatever else is queued.
        client.send(EioPacket::empty(EioType::Ping)).await?;
    }
    // Whether the server holds a poll cannot be seen from here, nor in which
    // order it reads two GETs sent at once: a poll still unanswered 30 ms
    // after it went out is only probably held. So the answers decide: the
    // one of two concurrent polls the server read second is refused, and the
    // one it held ends with `close`, in whichever order they come back. A
    // poll answered like a lone one (a ping, packets queued before it) was
    // not held when the other came: the other is the pending one then.
    //
    // In v4 the two polls go out right after a ping was answered: the next
    // is pingInterval away, so a ping that answers one of them means the
    // server held both until then (python-engineio does) rather than
    // refusing the second as it came.
    let mut first = spawn_poll(&ctx, &url);
    let mut answered_alone = 0;
    let mut pinged = v == V3;
    loop {
        if pinged {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let (packets, pending) = if first.is_finished() || !pinged {
            (lone_answer(v, joined(first).await?)?, None)
        } else {
            let mut second = spawn_poll(&ctx, &format!("{url}&t=burst"));
            let (reply, other) = tokio::select! {
                biased;
                reply = &mut first => (reply, second),
                reply = &mut second => (reply, first),
            };
            match poll_kind(v, joined_result(reply)?)? {
                PollKind::Refused(_) => {
                    let other = poll_kind(v, joined(other).await?)?;
                    ensure!(
                        other == PollKind::Closed,
                        "a concurrent poll was refused, but the poll pending beside it did not end with a close packet: {other:?}"
                    );
                    break;
                }
                PollKind::Closed => {
                    let other = poll_kind(v, joined(other).await?)?;
                    match other {
                        PollKind::Refused(_) => break,
                        PollKind::Closed => return Err(broken!(
                            "both concurrent polls were answered 200 with a close packet; the second was not refused"
                        )),
                        PollKind::Packets(_) => return Err(broken!(
                            "the second concurrent poll was answered 200"
                        )),
                    }
                }
                PollKind::Packets(packets) => {
                    ensure!(
                        !packets.iter().any(|p| p.packet_type == EioType::Ping),
                        "both concurrent polls were held until the server's next ping, which answered one of them; the second was not refused"
                    );
                    (packets, Some(other))
                }
            }
        };
        answered_alone += 1;
        ensure!(
            answered_alone < 5,
            "every poll was answered as a lone one (a ping or queued packets); no two polls were ever pending at once"
        );
        if packets.iter().any(|p| p.packet_type == EioType::Ping) && v == V4 {
            client.send(EioPacket::empty(EioType::Pong)).await?;
            pinged = true;
        }
        first = match pending {
            Some(other) => other,
            None => spawn_poll(&ctx, &url),
        };
    }
    let after = raw(&ctx, reqwest::Method::GET, &url, None).await?;
    ensure_eq!(after.status, 400, "a poll after the session was closed");
    Ok(())
}

/// A poll in flight: one GET on its own transcript connection, in its own task.
type PollTask = tokio::task::JoinHandle<Result<HttpReply, Failure>>;

fn spawn_poll(ctx: &Ctx, url: &str) -> PollTask {
    let (ctx, url) = (ctx.clone(), url.to_owned());
    tokio::spawn(async move { raw(&ctx, reqwest::Method::GET, &url, None).await })
}

async fn joined(poll: PollTask) -> Result<HttpReply, Failure> {
    joined_result(poll.await)
}

fn joined_result(
    reply: Result<Result<HttpReply, Failure>, tokio::task::JoinError>,
) -> Result<HttpReply, Failure> {
    reply.map_err(|e| Failure::Harness(e.to_string()))?
}

/// What a poll's answer says about polls running at once.
#[derive(Debug, PartialEq)]
enum PollKind {
    /// 400 or 500: refused.
    Refused(u16),
    /// 200 with a close packet: the session ended on it.
    Closed,
    /// 200 with other packets: answered like a lone poll.
    Packets(Vec<EioPacket>),
}

fn poll_kind(v: EioVersion, reply: HttpReply) -> Result<PollKind, Failure> {
    match reply.status {
        400 | 500 => Ok(PollKind::Refused(reply.status)),
        200 => {
            let payload = Payload::decode(v, &reply.body)
                .map_err(|e| broken!("a poll's body: {e}: {:?}", reply.text()))?;
            Ok(
                match payload
                    .packets
                    .iter()
                    .any(|p| p.packet_type == EioType::Close)
                {
                    true => PollKind::Closed,
                    false => PollKind::Packets(payload.packets),
                },
            )
        }
        status => Err(broken!("a concurrent poll was answered {status}")),
    }
}

/// The packets of a poll that came back before a second one was sent.
fn lone_answer(v: EioVersion, reply: HttpReply) -> Result<Vec<EioPacket>, Failure> {
    match poll_kind(v, reply)? {
        PollKind::Packets(packets) => Ok(packets),
        other => Err(broken!(
            "a lone poll, before any second one, was answered {other:?}"
        )),
    }
}

// Neither document says what a server does with a POST that is not a
// payload. The official test suites ("closes the session upon invalid packet
// format") require the session to be gone afterwards (a MUST here) and expect
// the POST itself to get 400, but inside a `try` whose `catch` also swallows a
// failed status check; the v4 document reserves 200 `ok` for success. So the
// status is a SHOULD of its own, `bad-payload-refused`.
case! {
    suite: socketio,
    name: "polling.bad-payload-closes",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §Payload",
        v4: "engine.io-protocol v4 §Packet encoding: HTTP long-polling",
    },
    title: "A POST whose body is not a payload closes the session: the next poll is answered 400",
    run: bad_payload_closes,
}
async fn bad_payload_closes(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let client = EioClient::polling(&ctx, ep.clone(), no_auto()).await?;
    let url = ep.url(&ep.query("polling", Some(client.sid())));
    // Whatever the POST is answered (`bad-payload-refused` checks that), a
    // dropped connection included, the session must be gone.
    match raw(&ctx, reqwest::Method::POST, &url, Some("abc")).await {
        Ok(_) | Err(Failure::Broken(_)) => {}
        Err(other) => return Err(other),
    }
    let after = raw(&ctx, reqwest::Method::GET, &url, None).await?;
    ensure_eq!(after.status, 400, "a poll after the bad payload");
    Ok(())
}

case! {
    suite: socketio,
    name: "polling.bad-payload-refused",
    level: Should,
    spec: {
        v3: "engine.io-protocol v3 §Payload",
        v4: "engine.io-protocol v4 §Packet encoding: HTTP long-polling",
    },
    title: "A POST whose body is not a payload is answered 400 (or dropped), not 200 `ok`",
    run: bad_payload_refused,
}
async fn bad_payload_refused(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let client = EioClient::polling(&ctx, ep.clone(), no_auto()).await?;
    let url = ep.url(&ep.query("polling", Some(client.sid())));
    // A dropped connection is a refusal too.
    match raw(&ctx, reqwest::Method::POST, &url, Some("abc")).await {
        Ok(reply) => ensure!(
            reply.status == 400,
            "a POST of `abc` was answered {} {:?}",
            reply.status,
            reply.text()
        ),
        Err(Failure::Broken(_)) => {}
        Err(other) => return Err(other),
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "polling.max-payload",
    level: Must,
    spec: { v4: "engine.io-protocol v4 §Handshake: maxPayload" },
    title: "A POST larger than the announced maxPayload is refused and does not crash the server",
    run: max_payload,
}
async fn max_payload(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let client = EioClient::polling(&ctx, ep.clone(), no_auto()).await?;
    let max = client.handshake.max_payload.unwrap_or(1_000_000);
    ensure!(
        max <= 50_000_000,
        "maxPayload {max} is too large to test here"
    );
    let url = ep.url(&ep.query("polling", Some(client.sid())));
    let body = format!("4{}", "a".repeat(max as usize + 1));
    let conn = ctx.transcript.open("oversized POST");
    match request(
        &ctx,
        conn,
        client.http(),
        reqwest::Method::POST,
        &url,
        Some(("text/plain;charset=UTF-8", body.into_bytes())),
    )
    .await
    .map_err(Failure::from)
    {
        Ok(reply) => ensure!(
            reply.status != 200,
            "a POST of {} bytes (maxPayload {max}) was accepted",
            max + 2
        ),
        Err(Failure::Broken(_)) => {}
        Err(other) => return Err(other),
    }
    still_serving(&ctx, v).await
}

// ---------------------------------------------------------------- helpers

/// One poll: its packets (pings answered), its payload checked against the version's encoding.
async fn poll_once(
    ctx: &Ctx,
    eio: &mut EioClient,
    url: &str,
    v: EioVersion,
) -> Result<Vec<EioPacket>, Failure> {
    let http = eio.http().clone();
    let reply = raw_request(ctx, eio.conn, &http, reqwest::Method::GET, url, None).await?;
    poll_answer(eio, v, reply, "a poll").await
}

/// The packets of a poll's answer (`what` names the poll); a ping is answered.
async fn poll_answer(
    eio: &mut EioClient,
    v: EioVersion,
    reply: HttpReply,
    what: &str,
) -> Result<Vec<EioPacket>, Failure> {
    ensure_eq!(reply.status, 200, "{what}'s status");
    let payload = Payload::decode(v, &reply.body).map_err(|e| {
        broken!(
            "{what}'s body is not a valid v{} payload: {e}",
            v.query_value()
        )
    })?;
    for p in &payload.packets {
        if p.packet_type == EioType::Ping && v == V4 {
            eio.send(EioPacket::empty(EioType::Pong)).await?;
        }
    }
    Ok(payload.packets)
}
