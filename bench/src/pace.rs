//! When an open-loop sender's next send is due: a fixed arrival rate or a
//! ramp (linear or in steps) over the whole run, spread evenly over the
//! senders. The schedule is the intended send time that latency counts from.

use std::time::Duration;

use tokio::time::Instant;

use crate::Load;

/// A rate that changes over the run: from `from` to `to` per second over
/// `over`, counted from the start of the measured window (the warm-up runs
/// at `from`, the time after `over` at `to`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    /// Sends per second at the start (over all senders and shards).
    pub from: f64,
    /// Sends per second at the end.
    pub to: f64,
    /// How long the ramp takes.
    pub over: Duration,
    /// In this many equal steps (each held `over / steps`), or linear when `None`.
    pub steps: Option<u32>,
}

impl Ramp {
    /// The rate `t` into the measured window (negative: the warm-up).
    pub fn rate_at(&self, t: f64) -> f64 {
        let over = self.over.as_secs_f64();
        if t <= 0.0 || over <= 0.0 {
            return if over <= 0.0 && t > 0.0 {
                self.to
            } else {
                self.from
            };
        }
        let frac = (t / over).min(1.0);
        let frac = match self.steps {
            Some(k) if k >= 2 => {
                let k = f64::from(k);
                ((frac * k).floor().min(k - 1.0)) / (k - 1.0)
            }
            _ => frac,
        };
        self.from + (self.to - self.from) * frac
    }
}

/// The intended send times of one open-loop sender.
#[derive(Debug, Clone)]
pub struct Pacer {
    ramp: Ramp,
    /// The senders the rate is spread over.
    senders: f64,
    measure_at: Instant,
    next: Instant,
}

/// A ramp's rate is integrated in steps of at most this long, so that a
/// send due after a slow start comes as soon as the rising rate owes it.
const STEP: f64 = 0.01;

impl Pacer {
    /// The schedule of sender `index` of `senders` under `load`, starting
    /// now, the measured window starting after `warmup`; `None` in closed loop.
    pub fn new(load: Load, senders: usize, index: usize, warmup: Duration) -> Option<Pacer> {
        let ramp = match load {
            Load::Closed => return None,
            Load::Open { rate } => Ramp {
                from: rate,
                to: rate,
                over: Duration::ZERO,
                steps: None,
            },
            Load::Ramp(ramp) => ramp,
        };
        let now = Instant::now();
        let senders = senders.max(1);
        let mut pacer = Pacer {
            ramp,
            senders: senders as f64,
            measure_at: now + warmup,
            next: now,
        };
        // Spread the senders' schedules over one period.
        let offset = pacer
            .gap(now)
            .mul_f64((index % senders) as f64 / senders as f64);
        pacer.next = now + offset;
        Some(pacer)
    }

    /// Seconds into the measured window at `at` (negative: the warm-up).
    fn seconds(&self, at: Instant) -> f64 {
        if at >= self.measure_at {
            (at - self.measure_at).as_secs_f64()
        } else {
            -(self.measure_at - at).as_secs_f64()
        }
    }

    /// The time from a send at `at` to this sender's next: one send's worth
    /// of the per-sender rate, integrated from `at`.
    fn gap(&self, at: Instant) -> Duration {
        let per_sender = |t: f64| (self.ramp.rate_at(t) / self.senders).max(f64::MIN_POSITIVE);
        let start = self.seconds(at);
        if self.ramp.from == self.ramp.to {
            return Duration::from_secs_f64((1.0 / per_sender(start)).min(1e9));
        }
        let (mut t, mut owed) = (start, 1.0f64);
        while owed > 1e-9 {
            let rate = per_sender(t);
            let step = (owed / rate).min(STEP);
            t += step;
            owed -= rate * step;
        }
        Duration::from_secs_f64((t - start).min(1e9))
    }

    /// The intended time of the next send.
    pub fn next(&self) -> Instant {
        self.next
    }

    /// The next send is due by `now`: its intended time.
    pub fn due(&self, now: Instant) -> Option<Instant> {
        (self.next <= now).then_some(self.next)
    }

    /// The send at [`Pacer::next`] went out: schedule the one after.
    pub fn advance(&mut self) {
        self.next += self.gap(self.next);
    }
}

/// A `--rate`: `R` (a fixed rate) or `A..B` (a ramp from A to B per second).
pub fn parse_rate(text: &str) -> Result<(f64, Option<f64>), String> {
    let number = |s: &str| -> Result<f64, String> {
        let r: f64 = s
            .trim()
            .replace('_', "")
            .parse()
            .map_err(|_| format!("{s:?} is not a rate (sends per second)"))?;
        if r.is_finite() && r > 0.0 {
            Ok(r)
        } else {
            Err(format!("a rate must be above 0, not {s:?}"))
        }
    };
    match text.split_once("..") {
        Some((a, b)) => Ok((number(a)?, Some(number(b)?))),
        None => Ok((number(text)?, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_ramp_and_one_in_steps() {
        let linear = Ramp {
            from: 100.0,
            to: 1100.0,
            over: Duration::from_secs(10),
            steps: None,
        };
        assert_eq!(linear.rate_at(-1.0), 100.0);
        assert_eq!(linear.rate_at(5.0), 600.0);
        assert_eq!(linear.rate_at(20.0), 1100.0);
        let steps = Ramp {
            steps: Some(3),
            ..linear
        };
        assert_eq!(steps.rate_at(1.0), 100.0);
        assert_eq!(steps.rate_at(4.0), 600.0);
        assert_eq!(steps.rate_at(9.9), 1100.0);
        assert_eq!(steps.rate_at(30.0), 1100.0);
    }

    #[test]
    fn the_schedule_follows_the_ramp() {
        let ramp = Ramp {
            from: 10.0,
            to: 1000.0,
            over: Duration::from_secs(1),
            steps: Some(2),
        };
        let mut p = Pacer::new(Load::Ramp(ramp), 1, 0, Duration::ZERO).unwrap();
        let start = p.next();
        // 10/s for the first half second (5 sends), then 1000/s.
        let mut sends = 0;
        while p.next() < start + Duration::from_secs(1) {
            p.advance();
            sends += 1;
        }
        assert!(
            (500..=510).contains(&sends),
            "{sends} sends in the first second"
        );
        assert!(Pacer::new(Load::Closed, 1, 0, Duration::ZERO).is_none());
        // A low fixed rate is kept, however long its gaps.
        let mut slow = Pacer::new(Load::Open { rate: 10.0 }, 100, 0, Duration::ZERO).unwrap();
        let first = slow.next();
        slow.advance();
        assert_eq!(slow.next() - first, Duration::from_secs(10));
        // A ramp from a crawl: the second send comes once the rising rate owes it, not 100 s later.
        let crawl = Ramp {
            from: 0.01,
            to: 1000.0,
            over: Duration::from_secs(1),
            steps: None,
        };
        let mut p = Pacer::new(Load::Ramp(crawl), 1, 0, Duration::ZERO).unwrap();
        let first = p.next();
        p.advance();
        let gap = p.next() - first;
        assert!(gap < Duration::from_millis(100), "{gap:?}");
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("20000"), Ok((20000.0, None)));
        assert_eq!(parse_rate("1000..20_000"), Ok((1000.0, Some(20000.0))));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("a..3").is_err());
    }
}
