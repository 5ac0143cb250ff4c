//! Configuration: defaults, TOML, command line overrides, and the errors of each.

use clap::Parser;
use reference_server::{
    Config, ConfigError, Fault, ListenerName, PortOverride, Profile, ServeArgs,
};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

#[test]
fn defaults_are_loopback_with_the_well_known_ports() {
    let config = Config::default();
    assert_eq!(config.bind.to_string(), "127.0.0.1");
    let ports: Vec<(&str, u16)> = ListenerName::ALL
        .iter()
        .map(|&n| (n.as_str(), config.listeners.get(n).port))
        .collect();
    assert_eq!(
        ports,
        [
            ("chatpot", 4001),
            ("sockets", 4002),
            ("circles", 4003),
            ("socketcluster", 8000),
            ("assa", 12345),
            ("echo", 3000),
        ]
    );
    assert!(ListenerName::ALL
        .iter()
        .all(|&n| config.listeners.get(n).enabled));
    assert_eq!(config.echo.profile, Profile::test());
    assert!(config.faults.is_empty());
}

#[test]
fn embedded_uses_free_ports() {
    let config = Config::embedded();
    assert!(config.bind.is_loopback());
    assert!(ListenerName::ALL
        .iter()
        .all(|&n| config.listeners.get(n).port == 0));
    assert_eq!(config.echo.profile, Profile::test());
}

#[test]
fn test_profile_is_what_the_socketio_test_suites_require() {
    let p = Profile::test();
    assert_eq!(
        (
            p.ping_interval_ms,
            p.ping_timeout_ms,
            p.max_payload,
            p.connect_timeout_ms
        ),
        (300, 200, 1_000_000, 1000)
    );
}

#[test]
fn empty_toml_is_the_default() {
    assert_eq!(Config::from_toml("").unwrap(), Config::default());
}

#[test]
fn toml_overrides() {
    let config = Config::from_toml(
        r#"
        bind = "0.0.0.0"
        faults = ["no-auth-emit", "wrong-ack"]
        [listeners.echo]
        port = 0
        [listeners.assa]
        enabled = false
        port = 12345
        [echo.profile]
        ping_interval_ms = 25000
        "#,
    )
    .unwrap();
    assert_eq!(config.bind.to_string(), "0.0.0.0");
    assert_eq!(config.faults, [Fault::NoAuthEmit, Fault::WrongAck]);
    assert_eq!(config.listeners.echo.port, 0);
    assert!(config.listeners.echo.enabled);
    assert!(!config.listeners.assa.enabled);
    assert_eq!(config.listeners.chatpot.port, 4001);
    assert_eq!(config.echo.profile.ping_interval_ms, 25000);
    assert_eq!(config.echo.profile.ping_timeout_ms, 200);
}

#[test]
fn toml_unknown_fault_lists_the_known_ones() {
    let err = Config::from_toml(r#"faults = ["no-such-fault"]"#).unwrap_err();
    let ConfigError::Parse(message) = err else {
        panic!("{err:?}")
    };
    assert!(message.contains("no-such-fault"), "{message}");
    assert!(message.contains(&Fault::known_names()), "{message}");
}

#[test]
fn toml_unknown_field_is_an_error() {
    assert!(matches!(
        Config::from_toml("bnid = \"127.0.0.1\""),
        Err(ConfigError::Parse(_))
    ));
}

#[test]
fn fault_names_round_trip() {
    for fault in Fault::ALL {
        assert_eq!(fault.as_str().parse::<Fault>(), Ok(fault));
    }
    assert_eq!(
        "nope".parse::<Fault>(),
        Err(ConfigError::UnknownFault {
            name: "nope".into(),
            known: Fault::known_names(),
        })
    );
}

#[test]
fn port_overrides_parse() {
    assert_eq!(
        "echo=0".parse::<PortOverride>(),
        Ok(PortOverride {
            name: ListenerName::Echo,
            port: 0
        })
    );
    assert!(matches!(
        "echo".parse::<PortOverride>(),
        Err(ConfigError::PortSpec(_))
    ));
    assert!(matches!(
        "echo=http".parse::<PortOverride>(),
        Err(ConfigError::PortSpec(_))
    ));
    assert!(matches!(
        "irc=6667".parse::<PortOverride>(),
        Err(ConfigError::UnknownListener { .. })
    ));
}

#[test]
fn serve_args_override_the_file() {
    let dir = std::env::temp_dir().join(format!("chatspec-serve-args-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("server.toml");
    std::fs::write(
        &file,
        "faults = [\"no-ack\"]\n[listeners.echo]\nport = 3100\n",
    )
    .unwrap();

    let cli = Cli::try_parse_from([
        "serve",
        "--config",
        file.to_str().unwrap(),
        "--bind",
        "::1",
        "--port",
        "echo=0",
        "--port",
        "assa=1",
        "--fault",
        "wrong-ack",
        "--fault",
        "no-ack",
    ])
    .unwrap();
    let config = cli.serve.to_config().unwrap();
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(config.bind.to_string(), "::1");
    assert_eq!(config.listeners.echo.port, 0);
    assert_eq!(config.listeners.assa.port, 1);
    assert_eq!(config.faults, [Fault::NoAck, Fault::WrongAck]);
}

#[test]
fn serve_args_unknown_fault_is_a_usage_error_listing_the_known_ones() {
    let err = match Cli::try_parse_from(["serve", "--fault", "nope"]) {
        Ok(_) => panic!("accepted an unknown fault"),
        Err(e) => e,
    };
    let message = err.to_string();
    assert!(message.contains("nope"), "{message}");
    assert!(message.contains("no-auth-emit"), "{message}");
}

#[test]
fn missing_config_file_is_an_error() {
    let args = ServeArgs {
        config: Some("no/such/server.toml".into()),
        ..ServeArgs::default()
    };
    let err = args.to_config().unwrap_err();
    assert!(
        format!("{err:#}").contains("no/such/server.toml"),
        "{err:#}"
    );
}
