//! The chatpot routes of the admin API (nested under `/chatpot`): members, rooms, membership, and sending a message as a member to a room (what Chatpot's REST API does).
//!
//! A change of members, rooms or membership is answered once storage has
//! committed it.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Json, Router,
};
use protocols::chatpot::{
    Avatar, ChatMessage, Chatpot, Member, MessageType, Nick, Reception, ReceptionType,
};
use protocols::socketio::Data;
use protocols::Dialect;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{random_hex, ChatpotContext, ChatpotFault, NAMESPACE};
use crate::services::admin::stored;

/// The routes, over `ctx`.
pub fn admin_routes(ctx: ChatpotContext) -> Router {
    Router::new()
        .route("/members", post(create_member))
        .route("/members/{token}", get(get_member))
        .route("/rooms", post(create_room))
        .route("/rooms/{room}", get(get_room))
        .route(
            "/rooms/{room}/members/{member}",
            put(add_member).delete(remove_member),
        )
        .route("/rooms/{room}/messages", post(send_message))
        .with_state(ctx)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// A new member's profile; what is left out gets a default.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewMember {
    nick: Option<Nick>,
    avatar: Option<Avatar>,
    region: Option<String>,
    language: Option<String>,
    gender: Option<String>,
}

async fn create_member(
    State(ctx): State<ChatpotContext>,
    body: Option<Json<NewMember>>,
) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let token = random_hex(24);
    let short = &token[..6];
    let member = Member {
        token: token.clone(),
        nick: body.nick.unwrap_or_else(|| Nick {
            en: format!("member {short}"),
            ko: format!("회원 {short}"),
            ja: format!("メンバー {short}"),
            extra: Map::new(),
        }),
        avatar: body.avatar.unwrap_or_else(|| Avatar {
            profile_img: format!("http://cdn.chatspec.invalid/{token}.png"),
            profile_thumb: format!("http://cdn.chatspec.invalid/thumb_{token}.jpg"),
            extra: Map::new(),
        }),
        region: body.region.unwrap_or_else(|| "KR".to_owned()),
        language: body.language.unwrap_or_else(|| "ko".to_owned()),
        gender: body.gender.unwrap_or_else(|| "M".to_owned()),
        extra: Map::new(),
    };
    let writes = ctx.with_state(|s| {
        s.members.insert(token.clone(), member.clone());
        Ok(ctx.persist(vec![s.member_write(&token)?]))
    });
    if let Err(refused) = stored("chatpot", writes).await {
        return refused;
    }
    (StatusCode::CREATED, Json(member)).into_response()
}

async fn get_member(State(ctx): State<ChatpotContext>, Path(token): Path<String>) -> Response {
    match ctx.with_state(|s| s.members.get(&token).cloned()) {
        Some(m) => Json(m).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such member"),
    }
}

fn room_json(token: &str, members: impl IntoIterator<Item = String>) -> Value {
    json!({ "token": token, "members": members.into_iter().collect::<Vec<_>>() })
}

async fn create_room(State(ctx): State<ChatpotContext>) -> Response {
    let token = random_hex(24);
    let writes = ctx.with_state(|s| {
        s.rooms.insert(token.clone(), Default::default());
        Ok(ctx.persist(vec![s.room_write(&token)?]))
    });
    if let Err(refused) = stored("chatpot", writes).await {
        return refused;
    }
    (StatusCode::CREATED, Json(room_json(&token, []))).into_response()
}

async fn get_room(State(ctx): State<ChatpotContext>, Path(room): Path<String>) -> Response {
    match ctx.with_state(|s| s.rooms.get(&room).cloned()) {
        Some(members) => Json(room_json(&room, members)).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such room"),
    }
}

async fn add_member(
    State(ctx): State<ChatpotContext>,
    Path((room, member)): Path<(String, String)>,
) -> Response {
    let done = ctx.with_state(|s| {
        if !s.members.contains_key(&member) {
            return Err("no such member");
        }
        let Some(members) = s.rooms.get_mut(&room) else {
            return Err("no such room");
        };
        members.insert(member.clone());
        let writes = s.room_write(&room).map(|w| ctx.persist(vec![w]));
        // The member's connected sockets join the room's Socket.IO room now.
        if let (Some(hub), false) = (ctx.hub(), ctx.has(ChatpotFault::NoLiveJoin)) {
            for sid in s.sockets_of(&member) {
                hub.join(&sid, NAMESPACE, &room);
            }
        }
        Ok(writes)
    });
    match done {
        Ok(writes) => match stored("chatpot", writes).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(refused) => refused,
        },
        Err(why) => error(StatusCode::NOT_FOUND, why),
    }
}

async fn remove_member(
    State(ctx): State<ChatpotContext>,
    Path((room, member)): Path<(String, String)>,
) -> Response {
    let done = ctx.with_state(|s| {
        let removed = s
            .rooms
            .get_mut(&room)
            .is_some_and(|members| members.remove(&member));
        if !removed {
            return None;
        }
        if !ctx.has(ChatpotFault::KeepLeftMember) {
            if let Some(hub) = ctx.hub() {
                for sid in s.sockets_of(&member) {
                    hub.leave(&sid, NAMESPACE, &room);
                }
            }
        }
        Some(s.room_write(&room).map(|w| ctx.persist(vec![w])))
    });
    match done {
        Some(writes) => match stored("chatpot", writes).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(refused) => refused,
        },
        None => error(StatusCode::NOT_FOUND, "no such room or member"),
    }
}

/// A message to send: from a member of the room, `TEXT` unless said otherwise.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    from: String,
    #[serde(rename = "type")]
    kind: Option<MessageType>,
    content: Value,
}

fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

async fn send_message(
    State(ctx): State<ChatpotContext>,
    Path(room): Path<String>,
    Json(body): Json<NewMessage>,
) -> Response {
    let found = ctx.with_state(|s| {
        let members = s.rooms.get(&room).ok_or("no such room")?;
        if !members.contains(&body.from) {
            return Err("the sender is not a member of the room");
        }
        let from = s.members.get(&body.from).cloned().ok_or("no such member")?;
        let everyone: Vec<String> = s.connected.iter().cloned().collect();
        Ok((from, everyone, s.sockets_of(&body.from)))
    });
    let (from, everyone, senders) = match found {
        Ok(f) => f,
        Err(why) => return error(StatusCode::FORBIDDEN, why),
    };
    let id_bytes = if ctx.has(ChatpotFault::ShortMessageId) {
        8
    } else {
        16
    };
    let now = unix_now_ms();
    let message = ChatMessage {
        message_id: random_hex(id_bytes),
        kind: body.kind.unwrap_or(MessageType::Text),
        from: Some(from),
        to: Reception {
            kind: ReceptionType::Room,
            token: room.clone(),
            extra: Map::new(),
        },
        content: body.content,
        sent_time: if ctx.has(ChatpotFault::SentTimeSeconds) {
            now / 1000
        } else {
            now
        },
        extra: Map::new(),
    };
    let mut payload = match serde_json::to_value(&message) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if ctx.has(ChatpotFault::NoJapaneseNick) {
        if let Some(nick) = payload
            .pointer_mut("/from/nick")
            .and_then(Value::as_object_mut)
        {
            nick.remove("ja");
        }
    }
    let violations = Chatpot::validate(Some("message"), payload.to_string().as_bytes());
    if !violations.is_empty() && !ctx.has(ChatpotFault::NoJapaneseNick) {
        let why: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return error(StatusCode::BAD_REQUEST, &why.join("; "));
    }
    let delivered = deliver(&ctx, &room, &payload, &everyone, &senders);
    Json(json!({ "message_id": message.message_id, "delivered": delivered, "message": payload }))
        .into_response()
}

/// Emits `message` to the room's Socket.IO room (or, under a fault, to the
/// wrong sockets); how many sockets it was queued for.
fn deliver(
    ctx: &ChatpotContext,
    room: &str,
    payload: &Value,
    everyone: &[String],
    senders: &[String],
) -> usize {
    let Some(hub) = ctx.hub() else {
        return 0;
    };
    let args = || vec![Data::from(payload.clone())];
    let to_each = |sids: &mut dyn Iterator<Item = &String>| {
        sids.filter(|sid| hub.emit_to(sid, NAMESPACE, "message", args()))
            .count()
    };
    if ctx.has(ChatpotFault::MessageToEveryone) {
        return to_each(&mut everyone.iter());
    }
    if ctx.has(ChatpotFault::MessageSkipsSender) {
        let members = hub.members(NAMESPACE, room);
        return to_each(&mut members.iter().filter(|sid| !senders.contains(sid)));
    }
    hub.emit_to_room(NAMESPACE, room, "message", args())
}
