//! The one connection loop of every scenario and protocol: echo (request
//! and answer), fan-out (subscribe, publish, count deliveries), connect (a
//! storm of handshakes) and idle (connections held open, heartbeats
//! answered). One read takes a wake-up's whole burst; everything it owes
//! (the next requests, heartbeat answers) goes out in one write, and its
//! latencies are recorded at once.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::Instant;

use crate::conn::Conn;
use crate::dialect::{ConnError, Dialect, Got, Room};
use crate::pace::Pacer;
use crate::stats::{micros, Recorder};
use crate::{Plan, Scenario};

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
    let shared = &*shared;
    if shared.plan.scenario == Scenario::Connect {
        drop(permit);
        return connect_loop(shared, local, global).await;
    }
    let started = Instant::now();
    let (mut conn, room, next_id) = match ready(shared, local, global).await {
        Ok(ready) => ready,
        Err(e) => {
            shared.recorder.error(e.kind);
            shared.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    if shared.plan.scenario == Scenario::Idle {
        // The handshake is what an idle scenario times.
        shared.recorder.handshake(local, micros(started.elapsed()));
    }
    shared.ready.fetch_add(1, Ordering::Relaxed);
    let _open = Open::count(&shared.open);
    drop(permit);
    if let Err(e) = run(shared, &mut conn, local, global, room, next_id).await {
        let closed_at_stop = e.kind == "closed-by-server" && *shared.phase.borrow() == Phase::Stop;
        if !closed_at_stop {
            shared.recorder.error(e.kind);
        }
    }
    conn.close(Duration::from_millis(500)).await;
}

/// Opens client `global`'s connection, completes its handshake and (in a
/// fan-out) joins its room; the room it publishes to and its next request id.
async fn ready(
    shared: &Shared,
    local: usize,
    global: usize,
) -> Result<(Conn, Room, u64), ConnError> {
    let dialect = &shared.dialect;
    let mut conn = Conn::open(shared, local, global).await?;
    if let Dialect::Tcp(_) = dialect {
        let room = crate::tcp::setup(shared, &mut conn, local, global).await?;
        return Ok((conn, room, dialect.first_id()));
    }
    let mut next_id = dialect.first_id();
    let mut room = Room::default();
    if shared.plan.scenario == Scenario::Fanout {
        room.name = format!("bench-room-{}", global % shared.plan.rooms.max(1));
        let id = next_id;
        next_id += 1;
        dialect.subscribe(&mut conn.out, id, &room.name);
        conn.until(shared, local, "the subscription", |f| {
            (dialect.classify(f) == Got::Answer(id)).then_some(())
        })
        .await
        .map_err(|e| ConnError::new("subscribe-failed", e.detail))?;
    }
    Ok((conn, room, next_id))
}

/// Handles every whole frame read while not sending: heartbeats answered
/// (into the write buffer), deliveries counted (another shard may already
/// be sending).
pub(crate) fn absorb(shared: &Shared, conn: &mut Conn, local: usize) -> Result<(), ConnError> {
    let mut late = Vec::new();
    let mut handled = Ok(());
    while let Some(frame) = conn.next_frame()? {
        handled = conn.handle(shared, frame, &mut late).map(|_| ());
        if handled.is_err() {
            break;
        }
    }
    conn.compact();
    shared.recorder.delivered(local, &late);
    handled
}

/// The run of one ready connection: sends as the load says, answers and
/// deliveries counted, until the run stops.
async fn run(
    shared: &Shared,
    conn: &mut Conn,
    local: usize,
    global: usize,
    mut room: Room,
    mut next_id: u64,
) -> Result<(), ConnError> {
    let plan = &shared.plan;
    let dialect = &shared.dialect;
    let mut phase = shared.phase.clone();
    while *phase.borrow() == Phase::Setup {
        tokio::select! {
            changed = phase.changed() => if changed.is_err() { return Ok(()) },
            alive = conn.read_some() => {
                if !alive {
                    return Err(ConnError::new("closed-by-server", "closed before the run"));
                }
                absorb(shared, conn, local)?;
                if !conn.out.buf.is_empty() {
                    conn.flush().await?;
                }
            }
        }
    }
    let fanout = plan.scenario == Scenario::Fanout;
    let sender = match plan.scenario {
        Scenario::Fanout => global < plan.senders,
        Scenario::Echo => true,
        _ => false,
    };
    let room_size = match dialect {
        Dialect::Tcp(t) if fanout => t.room_size(plan, global),
        _ => plan.room_size(global),
    } as u64;
    let mut pacer = if sender {
        Pacer::new(plan.load, plan.senders_total(), global, plan.warmup)
    } else {
        None
    };
    let mut quota = plan.messages.unwrap_or(u64::MAX);
    let mut pending = Flight::new(plan.window);
    let mut change = Box::pin(changed(shared.phase.clone()));
    let mut latencies: Vec<u64> = Vec::new();
    loop {
        let now_phase = *phase.borrow();
        if now_phase == Phase::Stop {
            break;
        }
        // Send what is due, into the write buffer.
        if sender && now_phase == Phase::Go && quota > 0 {
            let now = Instant::now();
            let mut sent = 0;
            while quota > 0 {
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
                if fanout {
                    if sent == 0 && matches!(dialect, Dialect::Tcp(_)) {
                        room.timestamp = suites::driver::assa::now_timestamp();
                    }
                    dialect.publish(&mut conn.out, id, &room, wall_micros(), plan.payload);
                } else {
                    dialect.request(&mut conn.out, id, &plan.payload_text);
                }
                sent += 1;
                pending.insert(id, at);
                quota -= 1;
                if let Some(p) = &mut pacer {
                    p.advance();
                }
            }
            if sent > 0 {
                shared.recorder.sent(sent);
                shared
                    .recorder
                    .expect(if fanout { sent * room_size } else { sent });
            }
        }
        if now_phase == Phase::Drain && pending.len() == 0 && !fanout {
            break;
        }
        let wake = match &pacer {
            Some(p) if now_phase == Phase::Go && quota > 0 => Some(p.next()),
            _ => None,
        };
        conn.make_room();
        let writing = conn.woff < conn.out.buf.len();
        tokio::select! {
            biased;
            next = &mut change => match next {
                Some(rx) => change = Box::pin(changed(rx)),
                None => break,
            },
            written = conn.write.write(&conn.out.buf[conn.woff..]), if writing => match written {
                Ok(n) if n > 0 => {
                    conn.woff += n;
                    if conn.woff == conn.out.buf.len() {
                        conn.out.buf.clear();
                        conn.woff = 0;
                    }
                }
                _ => return Err(ConnError::new("closed-by-server", "a write failed")),
            },
            read = conn.read.read_buf(&mut conn.rbuf) => {
                // A short read clears the socket's readiness: the next turn
                // waits for the next burst instead of reading again to learn
                // that nothing is left.
                if !matches!(read, Ok(n) if n > 0) {
                    return Err(ConnError::new("closed-by-server", "the server closed"));
                }
                // One read burst: every frame in it, one record.
                let now = Instant::now();
                let mut broke = Ok(());
                while let Some(frame) = conn.next_frame()? {
                    match conn.handle(shared, frame, &mut latencies) {
                        Ok(Some(Got::Answer(id))) => {
                            if let Some(at) = pending.remove(id) {
                                if !fanout {
                                    latencies.push(micros(now.saturating_duration_since(at)));
                                }
                            }
                        }
                        Ok(Some(_)) => {
                            // Refused (and counted by `handle`).
                        }
                        Ok(None) => {}
                        Err(e) => {
                            broke = Err(e);
                            break;
                        }
                    }
                }
                conn.compact();
                shared.recorder.delivered(local, &latencies);
                latencies.clear();
                broke?;
            }
            _ = sleep_until(wake) => {},
        }
    }
    if pending.len() > 0 && !fanout {
        shared.recorder.error_n("unanswered", pending.len() as u64);
    }
    Ok(())
}

/// The next change of the run's phase; the receiver back, or `None` once the run is gone.
async fn changed(mut phase: watch::Receiver<Phase>) -> Option<watch::Receiver<Phase>> {
    phase.changed().await.ok().map(|()| phase)
}

/// The requests in flight of one connection, by id: ids are handed out in
/// order, so a ring from the oldest unanswered one holds them (an answer
/// out of order leaves a hole until the ones before it come).
struct Flight {
    /// The id of `slots[0]`.
    first: u64,
    /// When each request was due, `None` once answered.
    slots: VecDeque<Option<Instant>>,
    /// Requests still unanswered.
    open: usize,
}

/// Requests after an unanswered one before it is given up for lost.
const MAX_BEHIND: usize = 1 << 16;

impl Flight {
    fn new(window: usize) -> Flight {
        Flight {
            first: 0,
            slots: VecDeque::with_capacity(window.min(MAX_BEHIND)),
            open: 0,
        }
    }

    fn len(&self) -> usize {
        self.open
    }

    /// Request `id`, the one after the last inserted, due at `at`.
    fn insert(&mut self, id: u64, at: Instant) {
        if self.slots.is_empty() {
            self.first = id;
        }
        self.slots.push_back(Some(at));
        self.open += 1;
        // A request this far behind the newest is lost: it stays counted
        // in `open` (unanswered), but its answer is no longer awaited.
        if self.slots.len() > MAX_BEHIND {
            self.slots.pop_front();
            self.first += 1;
            self.trim();
        }
    }

    /// When request `id` was due, if it is still awaited.
    fn remove(&mut self, id: u64) -> Option<Instant> {
        let slot = usize::try_from(id.checked_sub(self.first)?).ok()?;
        let at = self.slots.get_mut(slot)?.take()?;
        self.open -= 1;
        self.trim();
        Some(at)
    }

    fn trim(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.first += 1;
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
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
        match ready(shared, local, global).await {
            Ok((conn, ..)) => {
                shared
                    .recorder
                    .delivered(local, &[micros(started.elapsed())]);
                conn.close(Duration::from_millis(200)).await;
            }
            Err(e) => shared.recorder.error(e.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_any_order_empty_the_flight() {
        let t0 = Instant::now();
        let mut f = Flight::new(4);
        for id in 5..9 {
            f.insert(id, t0 + Duration::from_millis(id));
        }
        assert_eq!(f.len(), 4);
        assert_eq!(f.remove(7), Some(t0 + Duration::from_millis(7)));
        assert_eq!(f.remove(7), None, "answered twice");
        assert_eq!(f.remove(4), None, "never sent");
        assert_eq!(f.remove(99), None, "never sent");
        assert_eq!(f.remove(5), Some(t0 + Duration::from_millis(5)));
        assert_eq!((f.first, f.slots.len()), (6, 3));
        f.remove(6);
        f.remove(8);
        assert_eq!((f.len(), f.slots.len()), (0, 0));
        f.insert(9, t0);
        assert_eq!((f.first, f.len()), (9, 1));
    }

    #[test]
    fn a_request_far_behind_stays_unanswered() {
        let t0 = Instant::now();
        let mut f = Flight::new(1);
        f.insert(0, t0);
        for id in 1..=MAX_BEHIND as u64 {
            f.insert(id, t0);
            assert!(f.remove(id).is_some());
        }
        // Request 0 is no longer awaited, and still counted as unanswered.
        assert_eq!(f.remove(0), None);
        assert_eq!((f.len(), f.slots.len()), (1, 0));
    }
}
