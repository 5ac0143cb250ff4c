//! The `chatspec` command line: argument parsing and wiring only; the logic
//! lives in the workspace's library crates.

mod bench;
mod embedded;
mod fuzz;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use protocols::Protocol;
use suites::expect::Expectations;
use suites::output::Format;
use suites::runner::{RunOptions, Selection};
use suites::target::Targets;

/// Conformance suites, reference server, fuzzers and benchmarks for real-time chat protocols.
#[derive(Debug, Parser)]
#[command(name = "chatspec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the conformance suites against a target (the embedded reference server by default).
    Run(RunArgs),
    /// List every case: id, level, spec section.
    Cases(CasesArgs),
    /// Run the reference server until SIGINT/SIGTERM.
    Serve(reference_server::ServeArgs),
    /// Print a token (HS256 JWT) the reference server accepts, and nothing else.
    Token(reference_server::TokenArgs),
    /// Compute the kill matrix against the embedded reference server: which
    /// mutation and which fault each case notices.
    KillMatrix(KillMatrixArgs),
    /// Fuzz a live server: grammar- and mutation-based inputs, oracles after
    /// every input and batch, findings minimized and saved as replayable files.
    ///
    /// Exit code 0: no finding; 1: a finding; 2: bad usage or an unreachable target.
    Fuzz(fuzz::FuzzArgs),
    /// Load a server: echo, fanout, connect or idle scenarios, open or closed
    /// loop, HDR latency, lost messages, fairness, CPU and memory; or merge
    /// the results of shards. Reports (JSON, Markdown, SVG) go into --out.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Check captured messages against a protocol's rules.
    ///
    /// Each FILE holds one message or a stream of them (JSON values one after
    /// another; lines of packets for the `socketio` transport). Every
    /// violation is printed with its field, rule and spec section (`chatspec
    /// rules` lists them all). Exit code 0: all valid; 1: a violation; 2: bad
    /// usage (an unknown protocol or kind) or an unreadable file.
    Validate {
        /// The protocol: socketio, chatpot, sockets, socketcluster, circles or assa.
        #[arg(long, short)]
        protocol: Protocol,
        /// The message kind, when the bytes alone do not say it (an event
        /// payload without its event name, an Engine.IO version). A kind the
        /// protocol does not take is a usage error that lists the ones it does;
        /// `fixtures/<protocol>/README.md` explains each.
        #[arg(long, short)]
        kind: Option<String>,
        /// Print one JSON object per message instead of text.
        #[arg(long)]
        json: bool,
        /// Files to check; `-` reads standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List every validation rule: id, spec section, what it says.
    ///
    /// These are the ids `validate` reports and expectation files name. A rule
    /// several protocols share (e.g. `missing-field`) has the same id and
    /// meaning in each.
    Rules {
        /// Only this protocol's rules (repeatable).
        #[arg(long = "protocol", short = 'p', value_name = "P")]
        protocols: Vec<Protocol>,
        /// Print one JSON object per rule instead of the table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
struct SelectArgs {
    /// Only this protocol's cases (repeatable).
    #[arg(long = "protocol", short = 'p', value_name = "P")]
    protocols: Vec<Protocol>,
    /// Only cases whose id matches this glob (repeatable), e.g. `socketio.v4.*`.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// No case whose id matches this glob (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
}

impl SelectArgs {
    fn selection(&self) -> Selection {
        Selection {
            protocols: self.protocols.clone(),
            include: self.cases.clone(),
            exclude: self.exclude.clone(),
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// A target as PROTOCOL=URL, e.g. `socketio=http://127.0.0.1:3000` (repeatable).
    /// Without any target the embedded reference server is checked.
    #[arg(long = "target", value_name = "P=URL")]
    targets: Vec<String>,
    /// A target configuration file (TOML; see `suites/targets.example.toml`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Count SHOULD violations (non-strict) as failures.
    #[arg(long)]
    strict: bool,
    /// Cases run at once [default: the number of cores].
    #[arg(long)]
    jobs: Option<usize>,
    /// Time limit of one case, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    timeout: u64,
    /// How long a case waits for one expected frame, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 3_000)]
    wait: u64,
    /// Report formats to write into --out (repeatable): table, json, junit, html.
    #[arg(long = "format", value_name = "F")]
    formats: Vec<Format>,
    /// Where report files go.
    #[arg(long, value_name = "DIR", default_value = "chatspec-report")]
    out: PathBuf,
    /// An expectations file: exit 0 when the run matches it, and print every difference.
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct CasesArgs {
    /// Only this protocol's cases (repeatable).
    #[arg(long = "protocol", short = 'p', value_name = "P")]
    protocols: Vec<Protocol>,
    /// Print the spec coverage (Markdown): every section and the cases that check it.
    #[arg(long, conflicts_with = "json")]
    coverage: bool,
    /// Print one JSON object per case: id, protocol, level, spec, title.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct KillMatrixArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Cases run at once [default: the number of cores].
    #[arg(long)]
    jobs: Option<usize>,
    /// Write the matrix (Markdown and JSON) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate {
            protocol,
            kind,
            json,
            files,
        } => validate(protocol, kind.as_deref(), json, &files),
        Command::Rules { protocols, json } => rules(&protocols, json),
        Command::Cases(args) => cases(&args),
        Command::Run(args) => block_on(run(args)),
        Command::Serve(args) => {
            reference_server::init_tracing();
            block_on(async move {
                reference_server::serve(args)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            })
        }
        Command::KillMatrix(args) => block_on(kill_matrix(args)),
        Command::Fuzz(args) => block_on(fuzz::fuzz(args)),
        Command::Bench(command) => bench::bench(command),
        Command::Token(args) => match args.mint() {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("chatspec: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

/// Runs a command on a tokio runtime; an `Err` is a usage or setup problem (exit 2).
fn block_on(f: impl std::future::Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chatspec: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(f) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("chatspec: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn cases(args: &CasesArgs) -> ExitCode {
    let all = suites::cases::all();
    let selected: Vec<_> = all
        .iter()
        .filter(|c| args.protocols.is_empty() || args.protocols.contains(&c.protocol))
        .cloned()
        .collect();
    if args.coverage {
        print!("{}", suites::coverage::coverage(&selected).to_markdown());
        return ExitCode::SUCCESS;
    }
    if args.json {
        for c in &selected {
            let line = serde_json::json!({
                "id": c.id,
                "protocol": c.protocol.id(),
                "level": c.level,
                "spec": c.spec,
                "title": c.title,
            });
            println!("{line}");
        }
        return ExitCode::SUCCESS;
    }
    let width = selected.iter().map(|c| c.id.len()).max().unwrap_or(0);
    for c in &selected {
        println!("{:width$}  {:6}  {}", c.id, c.level.to_string(), c.spec);
    }
    println!("{} cases", selected.len());
    ExitCode::SUCCESS
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let cases = args.select.selection().select(&suites::cases::all())?;
    let expectations = match &args.expect {
        Some(path) => Some(Expectations::load(path)?),
        None => None,
    };
    let mut server = None;
    let (targets, name) = if args.targets.is_empty() && args.config.is_none() {
        let running = embedded::start(&[])
            .await
            .context("starting the embedded reference server")?;
        let targets = running.targets.clone();
        server = Some(running);
        (targets, "chatspec reference server (embedded)".to_owned())
    } else {
        let mut targets = match &args.config {
            Some(path) => Targets::load(path)?,
            None => Targets::default(),
        };
        for flag in &args.targets {
            targets.apply_flag(flag)?;
        }
        embedded::check_reachable(&targets).await?;
        let urls: Vec<&str> = targets.sections().map(|(_, s)| s.url()).collect();
        let name = match (&targets.name, urls.is_empty()) {
            (Some(name), _) => name.clone(),
            (None, false) => urls.join(", "),
            (None, true) => "target".to_owned(),
        };
        (targets, name)
    };
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|c| targets.has(c.protocol))
        .collect();
    if cases.is_empty() {
        anyhow::bail!(
            "no case to run: no selected case has a target (suites exist for: {})",
            suites::registry::protocol_list()
        );
    }
    let options = RunOptions {
        jobs: args.jobs.unwrap_or(RunOptions::default().jobs),
        timeout: Duration::from_millis(args.timeout),
        wait: Duration::from_millis(args.wait),
        strict: args.strict,
        progress: !args.quiet && std::io::stderr().is_terminal(),
    };
    let report = suites::runner::run(&cases, Arc::new(targets), &name, &options).await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    if !args.quiet {
        print!(
            "{}",
            suites::output::table::render(&report, std::io::stdout().is_terminal())
        );
    }
    if !args.formats.is_empty() {
        let written = suites::output::write_all(&report, &args.formats, &args.out)
            .with_context(|| format!("writing reports into {}", args.out.display()))?;
        for path in written {
            println!("wrote {}", path.display());
        }
    }
    if let Some(expectations) = expectations {
        let comparison = expectations.compare(&report);
        print!("{comparison}");
        return Ok(if comparison.matches() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn kill_matrix(args: KillMatrixArgs) -> anyhow::Result<ExitCode> {
    let cases = args.select.selection().select(&suites::cases::all())?;
    let options = RunOptions {
        jobs: args.jobs.unwrap_or(RunOptions::default().jobs),
        wait: Duration::from_millis(1_000),
        timeout: Duration::from_millis(8_000),
        ..RunOptions::default()
    };
    let matrix = embedded::kill_matrix(&cases, &options).await?;
    let markdown = matrix.to_markdown();
    print!("{markdown}");
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        std::fs::write(out.join("kill-matrix.md"), &markdown)?;
        std::fs::write(
            out.join("kill-matrix.json"),
            serde_json::to_string_pretty(&matrix)?,
        )?;
    }
    Ok(if matrix.survivors().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn read_input(path: &PathBuf) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(path)
    }
}

fn rules(protocols: &[Protocol], json: bool) -> ExitCode {
    let selected: Vec<Protocol> = if protocols.is_empty() {
        Protocol::ALL.to_vec()
    } else {
        protocols.to_vec()
    };
    let rows: Vec<(Protocol, &protocols::RuleInfo)> = selected
        .iter()
        .flat_map(|p| p.rules().iter().map(move |r| (*p, r)))
        .collect();
    if json {
        for (protocol, rule) in &rows {
            let line = serde_json::json!({
                "protocol": protocol.id(),
                "rule": rule.id,
                "spec": rule.spec,
                "description": rule.description,
            });
            println!("{line}");
        }
        return ExitCode::SUCCESS;
    }
    let width =
        |f: fn(&(Protocol, &protocols::RuleInfo)) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let (pw, iw, sw) = (
        width(|(p, _)| p.id().len()),
        width(|(_, r)| r.id.len()),
        width(|(_, r)| r.spec.chars().count()),
    );
    for (protocol, rule) in &rows {
        let pad = sw - rule.spec.chars().count();
        println!(
            "{:pw$}  {:iw$}  {}{:pad$}  {}",
            protocol.id(),
            rule.id,
            rule.spec,
            "",
            rule.description
        );
    }
    ExitCode::SUCCESS
}

fn validate(protocol: Protocol, kind: Option<&str>, json: bool, files: &[PathBuf]) -> ExitCode {
    if let Some(kind) = kind {
        if let Err(e) = protocol.check_kind(kind) {
            eprintln!(
                "chatspec: {e} for {protocol}; its kinds are: {}",
                protocol.kinds().join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let mut invalid = false;
    for path in files {
        let input = match read_input(path) {
            Ok(input) => input,
            Err(e) => {
                eprintln!("chatspec: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        let name = path.display();
        let results = protocol.validate_stream(kind, &input);
        if results.is_empty() {
            eprintln!("chatspec: {name}: no message found (the file is empty)");
            return ExitCode::from(2);
        }
        for (index, (frame, violations)) in results.iter().enumerate() {
            invalid |= !violations.is_empty();
            if json {
                let line = serde_json::json!({
                    "file": name.to_string(),
                    "message": index + 1,
                    "offset": frame.offset,
                    "valid": violations.is_empty(),
                    "violations": violations,
                });
                println!("{line}");
            } else if violations.is_empty() {
                println!(
                    "{name}: message {} (byte {}): valid",
                    index + 1,
                    frame.offset
                );
            } else {
                println!(
                    "{name}: message {} (byte {}): {} violation{}",
                    index + 1,
                    frame.offset,
                    violations.len(),
                    if violations.len() == 1 { "" } else { "s" }
                );
                for v in violations {
                    println!("  {v}");
                }
            }
        }
    }
    if invalid {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
