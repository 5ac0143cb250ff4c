//! The `chatspec serve` command line: `ServeArgs`, flattened into the root binary's subcommand.

use std::{net::IpAddr, path::PathBuf, str::FromStr};

use anyhow::Context;

use crate::{
    config::{Config, ConfigError, ListenerName},
    fault::Fault,
};

/// Arguments of `chatspec serve`; command line values override the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (see the reference server's README); defaults apply without one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address every listener binds to [default: 127.0.0.1].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
    /// Port of one listener, e.g. `--port echo=3000`; 0 picks a free port. It
    /// also enables that listener (`--port assa-limits=12346` serves the
    /// extra instance, which is off by default). Repeatable.
    #[arg(long = "port", value_name = "NAME=PORT")]
    pub ports: Vec<PortOverride>,
    /// Turn a fault switch on, e.g. `--fault echo:no-ack` (`<listener>:<behaviour>`). Repeatable.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<Fault>,
}

impl ServeArgs {
    /// The configuration these arguments describe: the file (or the
    /// defaults), then the command line overrides.
    pub fn to_config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)
                .with_context(|| format!("loading configuration {}", path.display()))?,
            None => Config::default(),
        };
        if let Some(bind) = self.bind {
            config.bind = bind;
        }
        for o in &self.ports {
            // A port on the command line asks for the listener to be served there.
            let listener = config.listeners.get_mut(o.name);
            listener.port = o.port;
            listener.enabled = true;
        }
        for &fault in &self.faults {
            if !config.faults.contains(&fault) {
                config.faults.push(fault);
            }
        }
        Ok(config)
    }
}

/// `NAME=PORT`: the port of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortOverride {
    /// The listener.
    pub name: ListenerName,
    /// Its port; 0 picks a free one.
    pub port: u16,
}

impl FromStr for PortOverride {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, port) = s
            .split_once('=')
            .ok_or_else(|| ConfigError::PortSpec(s.to_owned()))?;
        Ok(PortOverride {
            name: name.trim().parse()?,
            port: port
                .trim()
                .parse()
                .map_err(|_| ConfigError::PortSpec(s.to_owned()))?,
        })
    }
}
