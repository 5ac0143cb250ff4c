//! The connection loops of each scenario: echo (request and answer), fan-out
//! (subscribe, publish, count deliveries), connect (a storm of handshakes) and
//! idle (connections held open, heartbeats answered). Each loop answers what
//! one read burst owes in one flush and records a burst's latencies at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::dialect::{Dialect, Incoming, Ws};
use crate::pace::Pacer;
use crate::stats::{micros, Recorder};
use crate::Plan;

/// The phases every connection follows, set by the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connecting and getting ready.
    Setup,
    /// Sending (the warm-up and the measured window).
    Go,
    /// No more sends; answers still owed are awaited.
    Drain,
    /// Everything still owed is lost; close.
    Stop,
}

/// What every connection task shares.
pub struct Shared {
    pub plan: Plan,
    pub dialect: Dialect,
    pub recorder: Recorder,
    pub phase: watch::Receiver<Phase>,
    /// Connections ready (connected, subscribed) for the run to start.
    pub ready: AtomicUsize,
    /// Connections that failed to get ready.
    pub failed: AtomicUsize,
    /// Connections ready and still open (the storm's are not counted).
    pub open: AtomicUsize,
    /// ASSA: the room ids of this shard's rooms, by room index, as their hosts create them.
    pub rooms: watch::Sender<BTreeMap<usize, u64>>,
}

/// One connection counted in [`Shared::open`] while it lives.
pub(crate) struct Open<'a>(&'a AtomicUsize);

impl Open<'_> {
    pub(crate) fn count(open: &AtomicUsize) -> Open<'_> {
        open.fetch_add(1, Ordering::Relaxed);
        Open(open)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Microseconds since the Unix epoch (fan-out latencies cross processes).
pub(crate) fn wall_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Connection `local` of this shard, client `global` of the run.
/// `permit` is given back once the connection is ready (or failed).
pub async fn connection(
    shared: Arc<Shared>,
    local: usize,
    global: usize,
    permit: Option<OwnedSemaphorePermit>,
) {
    if let Dialect::Tcp(_) = shared.dialect {
        return crate::tcp::connection(&shared, local, global, permit).await;
    }
    match shared.plan.scenario {
        crate::Scenario::Connect => {
            drop(permit);
            connect_loop(&shared, local, global).await
        }
        _ => {
            let started = Instant::now();
            let ws = match shared.dialect.connect(shared.plan.wait).await {
                Ok(ws) => ws,
                Err(e) => {
                    shared.recorder.error(e.kind);
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            let setup = micros(started.elapsed());
            run_connected(&shared, ws, local, global, setup, permit).await;
        }
    }
}

async fn run_connected(
    shared: &Shared,
    mut ws: Ws,
    local: usize,
    global: usize,
    setup_us: u64,
    permit: Option<OwnedSemaphorePermit>,
) {
    let mut phase = shared.phase.clone();
    let plan = &shared.plan;
    let mut pending: HashMap<u64, Instant> = HashMap::new();
    let mut next_id = shared.dialect.first_id();
    let room = format!("bench-room-{}", global % plan.rooms.max(1));
    let sender = match plan.scenario {
        crate::Scenario::Fanout => global < plan.senders,
        crate::Scenario::Echo => true,
        _ => false,
    };
    if plan.scenario == crate::Scenario::Fanout {
        let id = next_id;
        next_id += 1;
        let ok = ws
            .send(Message::text(shared.dialect.subscribe(id, &room)))
            .await
            .is_ok()
            && await_answer(shared, local, &mut ws, id).await;
        if !ok {
            shared.recorder.error("subscribe-failed");
            shared.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    if plan.scenario == crate::Scenario::Idle {
        // The handshake is what an idle scenario times.
        shared.recorder.handshake(local, setup_us);
    }
    shared.ready.fetch_add(1, Ordering::Relaxed);
    let _open = Open::count(&shared.open);
    drop(permit);
    while *phase.borrow() == Phase::Setup {
        tokio::select! {
            changed = phase.changed() => if changed.is_err() { return },
            msg = ws.next() => if !keep_alive(shared, local, &mut ws, msg).await { return },
        }
    }
    let room_size = plan.room_size(global) as u64;
    let mut quota = plan.messages.unwrap_or(u64::MAX);
    let mut pacer = if sender {
        Pacer::new(plan.load, plan.senders_total(), global, plan.warmup)
    } else {
        None
    };
    let mut frame = String::new();
    let mut latencies: Vec<u64> = Vec::new();
    let mut owed = 0usize;
    loop {
        let now_phase = *phase.borrow();
        if now_phase == Phase::Stop {
            break;
        }
        // Send what is due.
        let mut fed = false;
        if sender && now_phase == Phase::Go && quota > 0 {
            let now = Instant::now();
            loop {
                if quota == 0 {
                    break;
                }
                let at = match &pacer {
                    None if pending.len() < plan.window => now,
                    Some(p) => match p.due(now) {
                        Some(at) => at,
                        None => break,
                    },
                    None => break,
                };
                let id = next_id;
                next_id += 1;
                match plan.scenario {
                    crate::Scenario::Fanout => {
                        shared
                            .dialect
                            .publish(&mut frame, id, &room, wall_micros(), plan.payload);
                        shared.recorder.expect(room_size);
                    }
                    _ => {
                        shared.dialect.request(&mut frame, id, &plan.payload_text);
                        shared.recorder.expect(1);
                    }
                }
                if ws.feed(Message::text(frame.as_str())).await.is_err() {
                    shared.recorder.error("closed-by-server");
                    return;
                }
                shared.recorder.sent(1);
                pending.insert(id, at);
                quota -= 1;
                fed = true;
                if let Some(p) = &mut pacer {
                    p.advance();
                }
            }
        }
        if fed || owed > 0 {
            owed = 0;
            if ws.flush().await.is_err() {
                shared.recorder.error("closed-by-server");
                return;
            }
        }
        if now_phase == Phase::Drain
            && pending.is_empty()
            && plan.scenario != crate::Scenario::Fanout
        {
            break;
        }
        let wake = match &pacer {
            Some(p) if now_phase == Phase::Go && quota > 0 => Some(p.next()),
            _ => None,
        };
        let msg = tokio::select! {
            changed = phase.changed() => { if changed.is_err() { break } continue }
            _ = sleep_until(wake) => continue,
            msg = ws.next() => msg,
        };
        // One read burst: everything ready now, answered in one flush.
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            match msg {
                Some(Ok(Message::Text(text))) => match shared.dialect.classify(text.as_str()) {
                    Incoming::Answer(id) => {
                        if let Some(at) = pending.remove(&id) {
                            if plan.scenario != crate::Scenario::Fanout {
                                latencies.push(micros(at.elapsed()));
                            }
                        }
                    }
                    Incoming::Delivery(sent_us) => {
                        latencies.push(micros(Duration::from_micros(
                            wall_micros().saturating_sub(sent_us),
                        )));
                    }
                    Incoming::Ping(pong) => {
                        if ws.feed(Message::text(pong)).await.is_err() {
                            shared.recorder.error("closed-by-server");
                            return;
                        }
                        owed += 1;
                    }
                    Incoming::Closing => {
                        shared.recorder.delivered(local, &latencies);
                        shared.recorder.error("closed-by-server");
                        return;
                    }
                    Incoming::Other => {}
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    shared.recorder.delivered(local, &latencies);
                    if *phase.borrow() != Phase::Stop {
                        shared.recorder.error("closed-by-server");
                    }
                    return;
                }
                Some(Ok(_)) => {}
            }
            next = ws.next().now_or_never();
        }
        shared.recorder.delivered(local, &latencies);
        latencies.clear();
    }
    if !pending.is_empty() && plan.scenario != crate::Scenario::Fanout {
        shared.recorder.error_n("unanswered", pending.len() as u64);
    }
    let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Answers a heartbeat while waiting, and counts a delivery (another
/// shard may already be sending); false when the connection ended.
async fn keep_alive(
    shared: &Shared,
    local: usize,
    ws: &mut Ws,
    msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> bool {
    match msg {
        Some(Ok(Message::Text(text))) => match shared.dialect.classify(text.as_str()) {
            Incoming::Ping(pong) => ws.send(Message::text(pong)).await.is_ok(),
            Incoming::Delivery(sent_us) => {
                let late = wall_micros().saturating_sub(sent_us);
                shared
                    .recorder
                    .delivered(local, &[micros(Duration::from_micros(late))]);
                true
            }
            Incoming::Closing => {
                shared.recorder.error("closed-by-server");
                false
            }
            _ => true,
        },
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
            shared.recorder.error("closed-by-server");
            false
        }
        Some(Ok(_)) => true,
    }
}

/// Waits for the answer to `id` (a subscription), answering heartbeats.
async fn await_answer(shared: &Shared, local: usize, ws: &mut Ws, id: u64) -> bool {
    let wait = tokio::time::sleep(shared.plan.wait);
    tokio::pin!(wait);
    loop {
        let msg = tokio::select! {
            _ = &mut wait => return false,
            msg = ws.next() => msg,
        };
        if let Some(Ok(Message::Text(text))) = &msg {
            if shared.dialect.classify(text.as_str()) == Incoming::Answer(id) {
                return true;
            }
        }
        if !keep_alive(shared, local, ws, msg).await {
            return false;
        }
    }
}

/// The connection storm: connect, handshake, close, again, until the run stops.
async fn connect_loop(shared: &Shared, local: usize, global: usize) {
    let mut phase = shared.phase.clone();
    let plan = &shared.plan;
    shared.ready.fetch_add(1, Ordering::Relaxed);
    while *phase.borrow() == Phase::Setup {
        if phase.changed().await.is_err() {
            return;
        }
    }
    let mut pacer = Pacer::new(plan.load, plan.clients, global, plan.warmup);
    let mut quota = plan.messages.unwrap_or(u64::MAX);
    while *phase.borrow() == Phase::Go && quota > 0 {
        let started = match &mut pacer {
            Some(p) => {
                let at = p.next();
                tokio::time::sleep_until(at).await;
                if *phase.borrow() != Phase::Go {
                    break;
                }
                p.advance();
                at
            }
            None => Instant::now(),
        };
        shared.recorder.sent(1);
        shared.recorder.expect(1);
        quota -= 1;
        match shared.dialect.connect(plan.wait).await {
            Ok(mut ws) => {
                shared
                    .recorder
                    .delivered(local, &[micros(started.elapsed())]);
                let _ = tokio::time::timeout(Duration::from_millis(200), ws.close(None)).await;
            }
            Err(e) => shared.recorder.error(e.kind),
        }
    }
}
