//! `chatspec fuzz`: the arguments, and the wiring of a fuzz run to its target (the embedded reference server by default).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use protocols::Protocol;
use reference_server::services::tokens::{Claims, Tokens};
use suites::fuzz::{FuzzOptions, FuzzTarget, Input};

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The protocol to fuzz: socketio, assa or socketcluster.
    #[arg(long, short)]
    protocol: Protocol,
    /// The server: `http://host:port` (socketio, running the echo app),
    /// `host:port` (assa) or `ws://host:port/socketcluster/` (socketcluster,
    /// with an `echo` procedure). Without it, the embedded reference server.
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// ASSA: a token the target accepts (repeatable: the sentinel's two users, then the fuzzed sessions').
    #[arg(long = "token", value_name = "JWT")]
    tokens: Vec<String>,
    /// The seed: the same seed sends the same inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop after this long, e.g. `30s`, `5m`, `1500ms`.
    #[arg(long, value_name = "D", default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Stop after this many inputs.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// How long an answer may take, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2_000)]
    wait: u64,
    /// Runs of inputs in flight at once, each on its own session (1: one
    /// after the other). Default: 64 for a server on a loopback address (the
    /// embedded one too), 16 for any other.
    #[arg(long, visible_alias = "jobs", value_name = "N")]
    concurrency: Option<u64>,
    /// Inputs sent one after another on one session, each followed by the
    /// probe, while the session survives them (1: a fresh session per input).
    #[arg(long, value_name = "N", default_value_t = 16)]
    per_session: u64,
    /// Watch this process's memory (the target runs locally); the embedded server is watched anyway.
    #[arg(long)]
    pid: Option<u32>,
    /// Replay one saved finding (`finding-<n>.json`) instead of fuzzing.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Where findings and the summary (JSON, Markdown) go.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Do not send inputs of this class (repeatable), e.g. a known finding of the target.
    #[arg(long = "exclude-class", value_name = "CLASS")]
    exclude: Vec<String>,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
}

/// `30s`, `5m`, `1500ms`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("unknown unit {unit:?} in {text:?} (ms, s, m, h)")),
    }
}

pub async fn fuzz(args: FuzzArgs) -> anyhow::Result<ExitCode> {
    let Some(fuzzer) = suites::fuzz::fuzzer(args.protocol) else {
        let ids: Vec<_> = suites::fuzz::FUZZERS
            .iter()
            .map(|f| f.protocol().id())
            .collect();
        anyhow::bail!(
            "no fuzzer for {} (fuzzers exist for: {})",
            args.protocol.id(),
            ids.join(", ")
        );
    };
    let mut options = FuzzOptions {
        seed: args.seed,
        duration: args.duration,
        count: args.count.unwrap_or(u64::MAX),
        wait: Duration::from_millis(args.wait),
        concurrency: args.concurrency,
        per_session: args.per_session,
        pid: args.pid,
        progress: !args.quiet,
        out: args.out.clone(),
        exclude: args.exclude.clone(),
        ..FuzzOptions::default()
    };
    let replay = match &args.replay {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let input = Input::parse(&text).map_err(|e| {
                anyhow::anyhow!("{} is not a replayable fuzz input: {e}", path.display())
            })?;
            anyhow::ensure!(
                input.protocol == args.protocol.id(),
                "{} is a {} input",
                path.display(),
                input.protocol
            );
            Some(input)
        }
        None => None,
    };
    let (target, server) = match args.target {
        Some(url) => (
            FuzzTarget {
                url,
                tokens: args.tokens.clone(),
            },
            None,
        ),
        None => {
            let (target, server) = embedded(args.protocol).await?;
            options.pid = options.pid.or(Some(std::process::id()));
            (target, Some(server))
        }
    };
    let code = match replay {
        Some(input) => match suites::fuzz::replay(fuzzer, &target, &input, &options).await {
            Ok(()) => {
                println!("replay: no oracle fired");
                ExitCode::SUCCESS
            }
            Err(broken) => {
                println!("replay: {:?}: {}", broken.oracle, broken.detail);
                ExitCode::from(1)
            }
        },
        None => {
            let report = suites::fuzz::run(fuzzer, &target, &options).await?;
            println!(
                "fuzz {}: {} inputs in {:.1}s ({:.0}/s, {} runs in flight), {} findings",
                report.protocol,
                report.inputs,
                report.seconds,
                report.rate(),
                report.concurrency,
                report.findings.len()
            );
            for f in &report.findings {
                println!(
                    "finding (input {}, {}): {:?}: {}",
                    f.index, f.input.class, f.oracle, f.detail
                );
            }
            if report.findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    };
    if let Some(server) = server {
        server.shutdown().await;
    }
    Ok(code)
}

/// The embedded reference server and the fuzz target of `protocol` on it.
pub async fn embedded(
    protocol: Protocol,
) -> anyhow::Result<(FuzzTarget, reference_server::Running)> {
    let config = reference_server::Config::embedded();
    let tokens = Tokens::from_config(&config.auth).context("the embedded server's token secret")?;
    let minted = (1..=3)
        .map(|user| {
            tokens.mint(&Claims::new(
                user,
                reference_server::services::tokens::unix_now_secs(),
                3600,
            ))
        })
        .collect::<Result<Vec<_>, _>>()
        .context("minting tokens")?;
    let server = reference_server::start(config).await?;
    let named = server.addrs.named();
    let listener = match protocol {
        Protocol::Assa => "assa",
        Protocol::Socketcluster => "socketcluster",
        _ => "echo",
    };
    let Some((_, addr)) = named.iter().find(|(name, _)| name == listener) else {
        anyhow::bail!("the embedded server runs no {listener} listener");
    };
    let url = match protocol {
        Protocol::Assa => addr.to_string(),
        Protocol::Socketcluster => format!("ws://{addr}/socketcluster/"),
        _ => format!("http://{addr}"),
    };
    Ok((
        FuzzTarget {
            url,
            tokens: minted,
        },
        server,
    ))
}
