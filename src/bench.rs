//! `chatspec bench`: the arguments, and the wiring of a bench run to its
//! target (the embedded reference server on a runtime of its own when none
//! is given) and to its reports.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bench::{Dialect, Load, Plan, Ramp, Results, Scenario, Shard, Watch};
use clap::{Args, Subcommand};
use protocols::Protocol;
use suites::target::Targets;

use crate::fuzz::parse_duration;

/// The name prefix of the embedded server's threads, so their CPU is told apart from the generator's.
const SERVER_THREADS: &str = "chatspec-server";

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Request and answer: an emit with acknowledgement (socketio), the echo procedure (socketcluster).
    Echo(LoadArgs),
    /// Rooms × members, senders publishing to their room: deliveries per second and their latency.
    Fanout(LoadArgs),
    /// A connection storm: connects per second, handshake latency, failures.
    Connect(LoadArgs),
    /// Connections held open: handshake latency and the server's memory per connection.
    Idle(LoadArgs),
    /// Merge the results of shards (`--shard K/N` runs) into one report.
    Merge {
        /// The shards' `--out` folders (or their results.json files).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged report goes.
        #[arg(long, value_name = "DIR", default_value = "chatspec-bench")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The protocol: socketio (the echo app), socketcluster or assa (room messages over TCP).
    #[arg(long, short, default_value = "socketio")]
    protocol: Protocol,
    /// A target as PROTOCOL=URL, as for `run` (repeatable). Without any, the embedded reference server.
    #[arg(long = "target", value_name = "P=URL")]
    targets: Vec<String>,
    /// A target configuration file, as for `run` (TOML; see `suites/targets.example.toml`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Connections (over all shards).
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// Fan-out: members per room (then clients = rooms × members).
    #[arg(long)]
    members: Option<usize>,
    /// Fan-out: rooms; client i is in room i mod rooms.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Fan-out: senders (clients 0 to K-1), each publishing to its room.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Open loop: sends (or connects) per second over all senders and shards,
    /// or a ramp `A..B` (see --ramp). Without it, closed loop: every sender
    /// keeps --window in flight.
    #[arg(long, value_name = "R|A..B", value_parser = bench::pace::parse_rate)]
    rate: Option<(f64, Option<f64>)>,
    /// With --rate A..B: how long the ramp from A to B takes, from the start
    /// of the measured window (default: the whole window).
    #[arg(long, value_parser = parse_duration)]
    ramp: Option<Duration>,
    /// With --rate A..B: in this many equal steps instead of a straight line.
    #[arg(long)]
    steps: Option<u32>,
    /// Echo: the loopback baseline, a plain TCP echo the bench starts itself
    /// (the ceiling of the machine and the generator), instead of a server.
    #[arg(long, conflicts_with_all = ["targets", "config"])]
    baseline: bool,
    /// Closed loop: requests in flight per sender.
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Payload bytes.
    #[arg(long, default_value_t = 32)]
    payload: usize,
    /// The measured window, e.g. `10s`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Warm-up before the measured window, excluded from the figures.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// How long answers still owed at the end are awaited before they count as lost.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    drain: Duration,
    /// Per sender, at most this many sends; the run ends once all are answered.
    #[arg(long)]
    messages: Option<u64>,
    /// How long one connect and handshake may take.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    wait: Duration,
    /// Fan-out: the pause after every connection subscribed, before sending (lets other shards subscribe).
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    settle: Duration,
    /// Connections opening at once while connecting.
    #[arg(long = "connecting", default_value_t = 256)]
    connecting: usize,
    /// Run shard K of N (K from 0): the clients i with i mod N = K.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Watch this local server process's CPU and memory (the embedded server is watched anyway).
    #[arg(long)]
    pid: Option<u32>,
    /// Threads of the generator's runtime (one: the hot path needs no
    /// locks; more when one core cannot answer every heartbeat in time).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Worker threads of the embedded server's runtime.
    #[arg(long, default_value_t = 1)]
    server_threads: usize,
    /// Where results.json, report.md and the SVG plots go.
    #[arg(long, value_name = "DIR", default_value = "chatspec-bench")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

impl LoadArgs {
    fn plan(&self, scenario: Scenario) -> Plan {
        let mut plan = Plan::new(scenario).with_payload(self.payload);
        plan.clients = match self.members {
            Some(m) if scenario == Scenario::Fanout => m * self.rooms.max(1),
            _ => self.clients,
        };
        plan.load = match self.rate {
            None => Load::Closed,
            Some((rate, None)) => Load::Open { rate },
            Some((from, Some(to))) => Load::Ramp(Ramp {
                from,
                to,
                over: self.ramp.unwrap_or(self.duration),
                steps: self.steps,
            }),
        };
        plan.window = self.window.max(1);
        plan.rooms = self.rooms.max(1);
        plan.senders = self.senders;
        plan.warmup = self.warmup;
        plan.duration = self.duration;
        plan.drain = self.drain;
        plan.messages = self.messages;
        plan.wait = self.wait;
        plan.settle = self.settle;
        plan.ramp = self.connecting;
        plan.shard = self.shard.unwrap_or_default();
        plan.threads = self.threads.max(1);
        plan.progress = !self.quiet && std::io::stderr().is_terminal();
        plan
    }
}

/// Runs a bench command; its own runtimes (the generator's: one thread unless `--threads`).
pub fn bench(command: BenchCommand) -> ExitCode {
    match run(command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("chatspec: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let (scenario, args) = match command {
        BenchCommand::Merge { dirs, out } => {
            let parts = dirs
                .iter()
                .map(|d| bench::report::read(d))
                .collect::<anyhow::Result<Vec<Results>>>()?;
            let merged = Results::merge(&parts)?;
            finish(&merged, &out)?;
            return Ok(ExitCode::SUCCESS);
        }
        BenchCommand::Echo(a) => (Scenario::Echo, a),
        BenchCommand::Fanout(a) => (Scenario::Fanout, a),
        BenchCommand::Connect(a) => (Scenario::Connect, a),
        BenchCommand::Idle(a) => (Scenario::Idle, a),
    };
    let plan = args.plan(scenario);
    let generator = match plan.threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    }
    .enable_all()
    .build()
    .context("starting the generator's runtime")?;
    let server_runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.server_threads.max(1))
            .thread_name(SERVER_THREADS)
            .enable_all()
            .build()
            .context("starting the embedded server's runtime")
    };
    if args.baseline {
        // The loopback echo on a runtime of its own, watched like the embedded server.
        let runtime = server_runtime()?;
        let (listener, addr) = runtime
            .block_on(bench::baseline::bind())
            .context("binding the loopback echo")?;
        runtime.spawn(bench::baseline::serve(listener));
        let dialect = Dialect::Tcp(bench::tcp::TcpDialect::Baseline {
            addr: addr.to_string(),
        });
        let watch = Watch::Threads(SERVER_THREADS.to_owned());
        let outcome = generator.block_on(bench::run(plan, dialect, Some(watch)));
        runtime.shutdown_background();
        finish(&outcome?, &args.out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let embedded = args.targets.is_empty() && args.config.is_none();
    let (targets, server) = if embedded {
        let runtime = server_runtime()?;
        let running = runtime
            .block_on(reference_server::start(reference_server::Config::embedded()))
            .context("starting the embedded reference server")?;
        let targets = suites::registry::embedded_targets(
            "chatspec reference server (embedded)",
            &crate::embedded::reference(&running),
        );
        (targets, Some((runtime, running)))
    } else {
        let mut targets = match &args.config {
            Some(path) => Targets::load(path)?,
            None => Targets::default(),
        };
        for flag in &args.targets {
            targets.apply_flag(flag)?;
        }
        (targets, None)
    };
    let dialect = Dialect::from_targets(&targets, args.protocol)?;
    let watch = match (args.pid, &server) {
        (Some(pid), _) => Some(Watch::Pid(pid)),
        (None, Some(_)) => Some(Watch::Threads(SERVER_THREADS.to_owned())),
        (None, None) => None,
    };
    let outcome = generator.block_on(bench::run(plan, dialect, watch));
    if let Some((runtime, running)) = server {
        runtime.block_on(running.shutdown());
    }
    let results = outcome?;
    finish(&results, &args.out)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the reports and prints the summary line.
fn finish(results: &Results, out: &std::path::Path) -> anyhow::Result<()> {
    let summary = results.summary()?;
    for path in bench::report::write(results, out)? {
        println!("wrote {}", path.display());
    }
    let l = summary.latency_us;
    println!(
        "{} {}: {:.0} sent/s, {:.0} delivered/s, p50 {} p99 {} max {}, lost {}, errors {:?}, fairness {}/{}/{}, generator {:.2} µs/message{}",
        results.protocol,
        results.scenario,
        summary.sent_per_s,
        summary.delivered_per_s,
        bench::report::format_us(l.p50),
        bench::report::format_us(l.p99),
        bench::report::format_us(l.max),
        summary.lost,
        results.errors,
        summary.fairness.min,
        summary.fairness.median,
        summary.fairness.max,
        summary.generator_us_per_message,
        if summary.generator_saturated { " (generator saturated)" } else { "" },
    );
    Ok(())
}
