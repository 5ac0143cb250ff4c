//! The `chatspec` command line: argument parsing and wiring only; the logic
//! lives in the workspace's library crates.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use protocols::Protocol;

/// Conformance suites, reference server, fuzzers and benchmarks for real-time chat protocols.
#[derive(Debug, Parser)]
#[command(name = "chatspec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check captured messages against a protocol's rules.
    ///
    /// Each FILE holds one message or a stream of them (JSON values one after
    /// another; lines of packets for the `socketio` transport). Every
    /// violation is printed with its field, rule and spec section. Exit code
    /// 0: all valid; 1: a violation; 2: bad usage or an unreadable file.
    Validate {
        /// The protocol: socketio, chatpot, sockets, socketcluster, circles or assa.
        #[arg(long, short)]
        protocol: Protocol,
        /// The message kind, when the bytes alone do not say it (an event
        /// payload without its event name, an Engine.IO version): see
        /// `fixtures/<protocol>/README.md` for each protocol's kinds.
        #[arg(long, short)]
        kind: Option<String>,
        /// Print one JSON object per message instead of text.
        #[arg(long)]
        json: bool,
        /// Files to check; `-` reads standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
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
    }
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

fn validate(protocol: Protocol, kind: Option<&str>, json: bool, files: &[PathBuf]) -> ExitCode {
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
