//! The reference server with only its `assa` and `admin` listeners, until
//! Ctrl-C or SIGKILL (the durability test runs it as a child process).
//!
//! `cargo run -p chatspec-reference-server --example assa -- [--config FILE]`
//!
//! Both listeners take free ports; prints `assa ADDR` and `admin ADDR` on
//! stdout once both listen.

use anyhow::Context;
use reference_server::{Config, ListenerName};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    reference_server::init_tracing();
    let mut args = std::env::args().skip(1);
    let mut config = Config::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => {
                let path = args.next().context("--config needs a value")?;
                config = Config::load(path.as_ref())?;
            }
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    for name in ListenerName::ALL {
        let listener = config.listeners.get_mut(name);
        listener.enabled = matches!(name, ListenerName::Assa | ListenerName::Admin);
        listener.port = 0;
    }
    let running = reference_server::start(config).await?;
    for name in [ListenerName::Assa, ListenerName::Admin] {
        let addr = running.addrs.get(name).context("the listener runs")?;
        println!("{name} {addr}");
    }
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}
