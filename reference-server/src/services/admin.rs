//! The admin HTTP API on its own loopback port: users, rooms, membership, tokens, and the triggers a suite needs that the socket protocols cannot express (ASSA's SERVER_ANNOUNCEMENT).
//!
//! Every request carries `Authorization: Bearer <secret>`; see the reference
//! server's README for the routes and curl examples.

use axum::{
    extract::{Path, Request, State},
    http::{header, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Json, Router,
};
use protocols::assa::ServerAnnouncementData;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::assa::AssaContext;
use crate::services::storage::{Committed, Member, Room, StorageError, User};
use crate::services::tokens::Claims;

/// The admin secret used when none is configured (the server then binds loopback only).
pub const DEV_ADMIN_SECRET: &str = "chatspec-development-admin-secret";

/// The environment variable read for the admin secret unless configured otherwise.
pub const ADMIN_SECRET_ENV: &str = "CHATSPEC_ADMIN_SECRET";

/// `[admin]` in the server's TOML: the API's bearer secret. Its port is
/// `[listeners.admin]`; it always binds loopback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// The bearer secret.
    pub secret: Option<String>,
    /// The environment variable holding the secret when `secret` is unset.
    pub secret_env: String,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            secret: None,
            secret_env: ADMIN_SECRET_ENV.to_owned(),
        }
    }
}

impl AdminConfig {
    /// The secret in force and whether it is the development one.
    pub fn resolve_secret(&self) -> (String, bool) {
        match self
            .secret
            .clone()
            .or_else(|| std::env::var(&self.secret_env).ok())
            .filter(|s| !s.is_empty())
        {
            Some(s) => (s, false),
            None => (DEV_ADMIN_SECRET.to_owned(), true),
        }
    }
}

#[derive(Clone)]
struct AppState {
    assa: AssaContext,
}

/// Waits until a change's storage writes are committed (`committed`: what
/// queueing them gave); a failure is answered 500. The apps' admin routes
/// answer a change through it, so a success means the change is stored.
pub(crate) async fn stored(
    app: &str,
    committed: Result<Committed, StorageError>,
) -> Result<(), Response> {
    let result = match committed {
        Ok(committed) => committed.wait().await,
        Err(e) => Err(e),
    };
    result.map_err(|e| {
        tracing::error!("{app}: the change is not stored: {e}");
        let message = format!("the change is not stored: {e}");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": message })),
        )
            .into_response()
    })
}

/// The admin API of the services `services` opened, guarded by `secret`:
/// ASSA's routes (users, tokens, rooms, announcements) at the root, and
/// each app's own routes nested under its listener's name (`/chatpot/...`).
pub fn router_for(services: &super::Services, secret: &str) -> std::io::Result<Router> {
    let routes = assa_routes(services.assa()?);
    let routes = routes.nest(
        "/chatpot",
        crate::chatpot::admin::admin_routes(services.chatpot()?),
    );
    let routes = routes.nest(
        "/circles",
        crate::circles::admin::admin_routes(services.circles()?),
    );
    // Each app's routes, one line each:
    // `let routes = routes.nest("/<listener>", <app>::admin_routes(services.<app>()?));`
    Ok(guarded(routes, secret))
}

/// The admin API over `assa` alone, guarded by `secret`.
pub fn router(assa: AssaContext, secret: &str) -> Router {
    guarded(assa_routes(assa), secret)
}

/// `routes` behind the bearer secret.
fn guarded(routes: Router, secret: &str) -> Router {
    let secret: std::sync::Arc<str> = secret.into();
    routes.layer(middleware::from_fn_with_state(secret, bearer))
}

/// The ASSA routes: users, tokens, rooms and membership, announcements.
fn assa_routes(assa: AssaContext) -> Router {
    let state = AppState { assa };
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).put(put_user))
        .route("/tokens", post(mint_token))
        .route("/rooms", get(list_rooms).post(create_room))
        .route("/rooms/{id}", get(get_room))
        .route(
            "/rooms/{id}/members/{user_id}",
            put(add_member).delete(remove_member),
        )
        .route("/announcements", post(announce))
        .with_state(state)
}

/// Serves the ASSA admin API ([`router`]) on `tcp` until `shutdown` is
/// true. The returned future owns everything it needs (spawn it).
pub fn serve(
    tcp: tokio::net::TcpListener,
    assa: AssaContext,
    secret: &str,
    shutdown: watch::Receiver<bool>,
) -> impl std::future::Future<Output = std::io::Result<()>> + Send + 'static {
    serve_router(tcp, router(assa, secret), shutdown)
}

/// Serves `app` on `tcp` until `shutdown` is true.
pub async fn serve_router(
    tcp: tokio::net::TcpListener,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(tcp, app)
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await
}

async fn bearer(
    State(secret): State<std::sync::Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if constant_time_eq(token.as_bytes(), secret.as_bytes()) => {
            next.run(request).await
        }
        _ => error(StatusCode::UNAUTHORIZED, "missing or wrong bearer secret"),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn list_users(State(s): State<AppState>) -> Json<Vec<User>> {
    Json(s.assa.with_core(|core, _| (core.admin_users(), Vec::new())))
}

async fn get_user(State(s): State<AppState>, Path(id): Path<u64>) -> Response {
    match s
        .assa
        .with_core(|core, _| (core.admin_user(id), Vec::new()))
    {
        Some(u) => Json(u).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such user"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    id: u64,
    nickname: Option<String>,
    profile_image: Option<String>,
}

async fn create_user(State(s): State<AppState>, Json(body): Json<NewUser>) -> Response {
    let user = User {
        id: body.id,
        nickname: body.nickname.unwrap_or_else(|| format!("user{}", body.id)),
        profile_image: body.profile_image,
    };
    let created = s.assa.with_core(|core, _| {
        if core.admin_user(user.id).is_some() {
            (false, Vec::new())
        } else {
            (true, core.admin_put_user(user.clone()))
        }
    });
    if created {
        (StatusCode::CREATED, Json(user)).into_response()
    } else {
        error(
            StatusCode::CONFLICT,
            "the user exists; PUT /users/{id} edits it",
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditUser {
    nickname: Option<String>,
    profile_image: Option<String>,
}

async fn put_user(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    Json(body): Json<EditUser>,
) -> Json<User> {
    Json(s.assa.with_core(|core, _| {
        let old = core.admin_user(id);
        let user = User {
            id,
            nickname: body
                .nickname
                .or_else(|| old.as_ref().map(|u| u.nickname.clone()))
                .unwrap_or_else(|| format!("user{id}")),
            profile_image: body
                .profile_image
                .or_else(|| old.and_then(|u| u.profile_image)),
        };
        (user.clone(), core.admin_put_user(user))
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    user_id: u64,
    nickname: Option<String>,
    profile_image: Option<String>,
    device: Option<String>,
    expires_in: Option<u64>,
}

async fn mint_token(State(s): State<AppState>, Json(body): Json<TokenRequest>) -> Response {
    let now = crate::services::tokens::unix_now_secs();
    let mut claims = Claims::new(body.user_id, now, body.expires_in.unwrap_or(24 * 3600));
    claims.nickname = body.nickname;
    claims.profile_image = body.profile_image;
    claims.device = body.device;
    match s.assa.tokens().mint(&claims) {
        Ok(token) => Json(json!({ "token": token, "claims": claims })).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn room_json(room: &Room, members: &[Member], invited: Option<&[u64]>) -> Value {
    let mut v = json!({
        "room_id": room.id,
        "name": room.name,
        "description": room.description,
        "is_open": room.is_open,
        "max_participants": room.max_participants,
        "host_user_id": room.host_user_id,
        "created_at_ms": room.created_at_ms,
        "members": members.iter().map(|m| json!({
            "user_id": m.user_id, "role": m.role, "joined_at_ms": m.joined_at_ms,
        })).collect::<Vec<_>>(),
    });
    if let Some(invited) = invited {
        v["invited_user_ids"] = json!(invited);
    }
    v
}

async fn list_rooms(State(s): State<AppState>) -> Json<Vec<Value>> {
    let rooms = s.assa.with_core(|core, _| (core.admin_rooms(), Vec::new()));
    Json(rooms.iter().map(|(r, m)| room_json(r, m, None)).collect())
}

async fn get_room(State(s): State<AppState>, Path(id): Path<u64>) -> Response {
    match s
        .assa
        .with_core(|core, _| (core.admin_room(id), Vec::new()))
    {
        Some((r, m, i)) => Json(room_json(&r, &m, Some(&i))).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such room"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRoom {
    name: String,
    description: Option<String>,
    is_open: Option<bool>,
    max_participants: Option<u64>,
    host_user_id: u64,
}

async fn create_room(State(s): State<AppState>, Json(body): Json<NewRoom>) -> Response {
    let (room, members) = s.assa.with_core(|core, now| {
        let room = Room {
            id: 0,
            name: body.name,
            description: body.description,
            is_open: body.is_open.unwrap_or(true),
            max_participants: body
                .max_participants
                .unwrap_or(core.config().default_max_participants),
            host_user_id: body.host_user_id,
            created_at_ms: i64::try_from(now).unwrap_or(i64::MAX),
        };
        let (room, out) = core.admin_create_room(room, now);
        let members = core.admin_room(room.id).map(|r| r.1).unwrap_or_default();
        ((room, members), out)
    });
    (StatusCode::CREATED, Json(room_json(&room, &members, None))).into_response()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    role: Option<String>,
}

async fn add_member(
    State(s): State<AppState>,
    Path((id, user)): Path<(u64, u64)>,
    body: Option<Json<MemberBody>>,
) -> Response {
    let role = body
        .and_then(|Json(b)| b.role)
        .unwrap_or_else(|| "member".to_owned());
    let done = s.assa.with_core(
        |core, now| match core.admin_add_member(id, user, &role, now) {
            Some(out) => (true, out),
            None => (false, Vec::new()),
        },
    );
    if done {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "no such room")
    }
}

async fn remove_member(State(s): State<AppState>, Path((id, user)): Path<(u64, u64)>) -> Response {
    let done = s
        .assa
        .with_core(|core, _| match core.admin_remove_member(id, user) {
            Some(out) => (true, out),
            None => (false, Vec::new()),
        });
    if done {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "no such room or member")
    }
}

async fn announce(
    State(s): State<AppState>,
    Json(body): Json<ServerAnnouncementData>,
) -> Json<Value> {
    let delivered = s.assa.with_core(|core, now| {
        let (out, n) = core.announce(&body, now);
        (n, out)
    });
    Json(json!({ "delivered": delivered }))
}
