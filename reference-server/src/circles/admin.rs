//! The Circles admin routes (nested at `/circles` of the admin API): users, devices, circles, conversations and messages, and the actions whose events the document's tables list.
//!
//! What the document's server does through its REST API (not part of the
//! document) is done here, and the events go out exactly as the socket
//! channels' would. See the reference server's README for every route.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::core::{AdminError, Core, Out};
use super::CirclesContext;
use crate::services::admin::stored;
use crate::services::tokens::{unix_now_secs, Claims};

/// The routes over `context`.
pub fn admin_routes(context: CirclesContext) -> Router {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/circles", post(create_circle))
        .route("/circles/{id}", get(get_circle))
        .route("/circles/{id}/update", post(update_circle))
        .route("/circles/{id}/invites/{user}", put(invite_to_circle))
        .route(
            "/circles/{id}/members/{user}",
            put(join_circle).delete(quit_circle),
        )
        .route("/circles/{id}/kick", post(kick_from_circle))
        .route("/devices", post(create_device))
        .route("/devices/{id}/update", post(update_device))
        .route("/conversations", post(create_conversation))
        .route("/conversations/{id}", get(get_conversation))
        .route("/conversations/{id}/update", post(update_conversation))
        .route(
            "/conversations/{id}/members/{user}",
            put(invite_to_conversation).delete(quit_conversation),
        )
        .route("/conversations/{id}/admins/{user}", put(promote))
        .route("/conversations/{id}/kick", post(kick_from_conversation))
        .route(
            "/conversations/{id}/devices/{device}",
            put(add_device).delete(remove_device),
        )
        .route(
            "/messages/{id}",
            get(get_message).put(update_message).delete(delete_message),
        )
        .with_state(context)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn status_of(e: &AdminError) -> StatusCode {
    match e {
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Conflict(_) => StatusCode::CONFLICT,
    }
}

fn refused(e: &AdminError) -> Response {
    error(status_of(e), &e.to_string())
}

/// Runs an action that emits events; answers `{done: true}` once it is
/// stored, or the refusal.
async fn action(
    context: &CirclesContext,
    f: impl FnOnce(&mut Core) -> Result<Vec<Out>, AdminError>,
) -> Response {
    let (result, committed) = context.act(|core| match f(core) {
        Ok(outs) => (Ok(()), outs),
        Err(e) => (Err(e), Vec::new()),
    });
    if let Err(e) = result {
        return refused(&e);
    }
    match stored("circles", committed).await {
        Ok(()) => Json(json!({ "done": true })).into_response(),
        Err(failed) => failed,
    }
}

/// Creates something without events; answers 201 with its JSON once it is stored.
async fn created<T>(
    context: &CirclesContext,
    f: impl FnOnce(&mut Core) -> Result<T, AdminError>,
    to_json: impl FnOnce(&Core, T) -> Result<Value, String>,
) -> Response {
    let (result, committed) = context.act(|core| {
        let r = match f(core) {
            Ok(v) => to_json(core, v).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e)),
            Err(e) => Err((status_of(&e), e.to_string())),
        };
        (r, Vec::new())
    });
    let value = match result {
        Ok(v) => v,
        Err((status, message)) => return error(status, &message),
    };
    match stored("circles", committed).await {
        Ok(()) => (StatusCode::CREATED, Json(value)).into_response(),
        Err(failed) => failed,
    }
}

/// A token for `user` (with `device`: for that device), valid a day.
fn token(core: &Core, user: u64, device: Option<u64>) -> Result<String, String> {
    let mut claims = Claims::new(user, unix_now_secs(), 24 * 3600);
    claims.device = device.map(|d| d.to_string());
    core.tokens().mint(&claims).map_err(|e| e.to_string())
}

async fn list_users(State(c): State<CirclesContext>) -> Json<Value> {
    Json(json!(c.read(Core::users)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewUser {
    id: Option<u64>,
    email: Option<String>,
}

async fn create_user(State(c): State<CirclesContext>, body: Option<Json<NewUser>>) -> Response {
    let Json(body) = body.unwrap_or_default();
    created(
        &c,
        |core| core.create_user(body.id, body.email),
        |core, user| {
            let token = token(core, user.id, None)?;
            Ok(json!({"id": user.id, "email": user.email, "token": token}))
        },
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewCircle {
    name: Option<String>,
    #[serde(default)]
    members: Vec<u64>,
}

async fn create_circle(State(c): State<CirclesContext>, body: Option<Json<NewCircle>>) -> Response {
    let Json(body) = body.unwrap_or_default();
    created(
        &c,
        |core| core.create_circle(body.name.unwrap_or_else(|| "circle".into()), body.members),
        |_, circle| Ok(json!(circle)),
    )
    .await
}

async fn get_circle(State(c): State<CirclesContext>, Path(id): Path<u64>) -> Response {
    match c.read(|core| core.circle(id)) {
        Some(circle) => Json(circle).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such circle"),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: Option<String>,
}

async fn update_circle(
    State(c): State<CirclesContext>,
    Path(id): Path<u64>,
    body: Option<Json<Rename>>,
) -> Response {
    let name = body.and_then(|Json(b)| b.name);
    action(&c, |core| core.update_circle(id, name)).await
}

async fn invite_to_circle(
    State(c): State<CirclesContext>,
    Path((id, user)): Path<(u64, u64)>,
) -> Response {
    action(&c, |core| core.invite_to_circle(id, user)).await
}

async fn join_circle(
    State(c): State<CirclesContext>,
    Path((id, user)): Path<(u64, u64)>,
) -> Response {
    action(&c, |core| core.join_circle_admin(id, user)).await
}

async fn quit_circle(
    State(c): State<CirclesContext>,
    Path((id, user)): Path<(u64, u64)>,
) -> Response {
    action(&c, |core| core.remove_from_circle(id, user, None)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Kick {
    user_id: u64,
    by: u64,
}

async fn kick_from_circle(
    State(c): State<CirclesContext>,
    Path(id): Path<u64>,
    Json(body): Json<Kick>,
) -> Response {
    action(&c, |core| {
        core.remove_from_circle(id, body.user_id, Some(body.by))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDevice {
    circle_id: u64,
    name: Option<String>,
}

async fn create_device(State(c): State<CirclesContext>, Json(body): Json<NewDevice>) -> Response {
    created(
        &c,
        |core| core.create_device(body.circle_id, body.name),
        |core, device| {
            let token = token(core, device.id, Some(device.id))?;
            Ok(
                json!({"id": device.id, "circle_id": device.circle_id, "name": device.name, "token": token}),
            )
        },
    ).await
}

async fn update_device(
    State(c): State<CirclesContext>,
    Path(id): Path<u64>,
    body: Option<Json<Rename>>,
) -> Response {
    let name = body.and_then(|Json(b)| b.name);
    action(&c, |core| core.update_device(id, name)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewConversation {
    circle_id: u64,
    name: Option<String>,
    #[serde(default)]
    members: Vec<u64>,
}

async fn create_conversation(
    State(c): State<CirclesContext>,
    Json(body): Json<NewConversation>,
) -> Response {
    created(
        &c,
        |core| {
            core.create_conversation(
                body.circle_id,
                body.name.unwrap_or_else(|| "conversation".into()),
                body.members,
            )
        },
        |_, conversation| Ok(json!(conversation)),
    )
    .await
}

async fn get_conversation(State(c): State<CirclesContext>, Path(id): Path<u64>) -> Response {
    match c.read(|core| core.conversation(id)) {
        Some(conversation) => Json(conversation).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such conversation"),
    }
}

async fn update_conversation(
    State(c): State<CirclesContext>,
    Path(id): Path<u64>,
    body: Option<Json<Rename>>,
) -> Response {
    let name = body.and_then(|Json(b)| b.name);
    action(&c, |core| core.update_conversation(id, name)).await
}

async fn invite_to_conversation(
    State(c): State<CirclesContext>,
    Path((id, user)): Path<(u64, u64)>,
) -> Response {
    action(&c, |core| core.invite_to_conversation(id, user)).await
}

async fn quit_conversation(
    State(c): State<CirclesContext>,
    Path((id, user)): Path<(u64, u64)>,
) -> Response {
    action(&c, |core| core.remove_from_conversation(id, user, None)).await
}

async fn promote(State(c): State<CirclesContext>, Path((id, user)): Path<(u64, u64)>) -> Response {
    action(&c, |core| core.promote(id, user)).await
}

async fn kick_from_conversation(
    State(c): State<CirclesContext>,
    Path(id): Path<u64>,
    Json(body): Json<Kick>,
) -> Response {
    action(&c, |core| {
        core.remove_from_conversation(id, body.user_id, Some(body.by))
    })
    .await
}

async fn add_device(
    State(c): State<CirclesContext>,
    Path((id, device)): Path<(u64, u64)>,
) -> Response {
    action(&c, |core| core.conversation_device(id, device, true)).await
}

async fn remove_device(
    State(c): State<CirclesContext>,
    Path((id, device)): Path<(u64, u64)>,
) -> Response {
    action(&c, |core| core.conversation_device(id, device, false)).await
}

async fn get_message(State(c): State<CirclesContext>, Path(id): Path<u64>) -> Response {
    match c.read(|core| core.message_of(id)) {
        Some(m) => Json(m).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such message"),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EditMessage {
    text: Option<String>,
}

async fn update_message(
    State(c): State<CirclesContext>,
    Path(id): Path<u64>,
    body: Option<Json<EditMessage>>,
) -> Response {
    let text = body.and_then(|Json(b)| b.text);
    action(&c, |core| core.change_message(id, Some(text))).await
}

async fn delete_message(State(c): State<CirclesContext>, Path(id): Path<u64>) -> Response {
    action(&c, |core| core.change_message(id, None)).await
}
