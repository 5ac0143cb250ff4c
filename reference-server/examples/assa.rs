//! The ASSA listener and the admin API alone, until Ctrl-C (the durability test runs it as a child process).
//!
//! `cargo run -p chatspec-reference-server --example assa -- [--config FILE] [--port N] [--admin-port N]`
//!
//! Prints `assa ADDR` and `admin ADDR` on stdout once both listen.

use std::net::SocketAddr;

use anyhow::Context;
use reference_server::assa::{serve, AssaContext};
use reference_server::services::admin;
use reference_server::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    reference_server::init_tracing();
    let mut args = std::env::args().skip(1);
    let mut config = Config::default();
    let mut port = config.listeners.assa.port;
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--config" => config = Config::load(value()?.as_ref())?,
            "--port" => port = value()?.parse().context("--port")?,
            "--admin-port" => config.admin.port = value()?.parse().context("--admin-port")?,
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    let ctx = AssaContext::from_config(&config)?;
    let tcp = tokio::net::TcpListener::bind(SocketAddr::new(config.bind, port)).await?;
    let admin_tcp =
        tokio::net::TcpListener::bind(SocketAddr::new(config.admin.bind, config.admin.port))
            .await?;
    println!("assa {}", tcp.local_addr()?);
    println!("admin {}", admin_tcp.local_addr()?);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let (secret, _) = config.admin.resolve_secret();
    let admin = tokio::spawn(admin::serve(
        admin_tcp,
        ctx.clone(),
        &secret,
        shutdown.clone(),
    ));
    let assa = tokio::spawn(serve(tcp, ctx.clone(), shutdown));
    tokio::signal::ctrl_c().await?;
    let _ = stop.send(true);
    let _ = assa.await;
    let _ = admin.await;
    ctx.flush()?;
    Ok(())
}
