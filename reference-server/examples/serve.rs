//! Runs the reference server standalone, with the arguments of `chatspec serve`.
//!
//! `cargo run -p chatspec-reference-server --example serve -- --port echo=3000`

use clap::Parser;
use reference_server::ServeArgs;

/// The reference server, standalone.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    reference_server::init_tracing();
    reference_server::serve(Cli::parse().serve).await
}
