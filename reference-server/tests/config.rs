//! Configuration: defaults, TOML, command line overrides, and the errors of each.

use clap::Parser;
use reference_server::{
    Config, ConfigError, EchoFault, Fault, ListenerName, PortOverride, Profile, ServeArgs,
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
            ("socketcluster-v2", 8001),
            ("socketcluster-limits", 8002),
            ("assa", 12345),
            ("assa-limits", 12346),
            ("echo", 3000),
            ("admin", 12380),
        ]
    );
    // The suites' extra instances are off unless enabled.
    let off = [
        ListenerName::SocketclusterV2,
        ListenerName::SocketclusterLimits,
        ListenerName::AssaLimits,
    ];
    assert!(ListenerName::ALL
        .iter()
        .all(|&n| config.listeners.get(n).enabled != off.contains(&n)));
    assert_eq!(config.echo.profile, Profile::test());
    assert!(config.faults.is_empty());
}

#[test]
fn embedded_uses_free_ports() {
    let config = Config::embedded();
    assert!(config.bind.is_loopback());
    assert!(ListenerName::ALL
        .iter()
        .all(|&n| config.listeners.get(n).port == 0 && config.listeners.get(n).enabled));
    // The transport suite checks the echo app's heartbeat at the test
    // profile's timings; the chat apps' suites do not check theirs.
    assert_eq!(config.echo.profile, Profile::test());
    for profile in [
        config.chatpot.profile,
        config.circles.profile,
        config.sockets.profile,
    ] {
        assert_eq!(profile, Profile::test_patient());
        assert_eq!(profile.ping_interval_ms, Profile::test().ping_interval_ms);
    }
}

#[test]
fn embedded_names_its_secrets() {
    // Named, so that CHATSPEC_JWT_SECRET and CHATSPEC_ADMIN_SECRET (read
    // only when none is named) cannot change them under the embedded targets.
    let config = Config::embedded();
    assert_eq!(
        config.auth.secret.as_deref(),
        Some(reference_server::services::tokens::DEV_SECRET)
    );
    assert_eq!(
        config.admin.secret.as_deref(),
        Some(reference_server::services::admin::DEV_ADMIN_SECRET)
    );
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
        faults = ["echo:no-auth-emit", "echo:wrong-ack"]
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
    assert_eq!(
        config.faults,
        [
            Fault::Echo(EchoFault::NoAuthEmit),
            Fault::Echo(EchoFault::WrongAck)
        ]
    );
    assert_eq!(config.listeners.get(ListenerName::Echo).port, 0);
    assert!(config.listeners.get(ListenerName::Echo).enabled);
    assert!(!config.listeners.get(ListenerName::Assa).enabled);
    assert_eq!(config.listeners.get(ListenerName::Chatpot).port, 4001);
    assert_eq!(config.echo.profile.ping_interval_ms, 25000);
    assert_eq!(config.echo.profile.ping_timeout_ms, 200);
}

/// The message of the parse error `text` gets.
fn toml_error(text: &str) -> String {
    match Config::from_toml(text) {
        Err(ConfigError::Parse(message)) => message,
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn toml_unknown_fault_lists_the_known_ones() {
    let message = toml_error(r#"faults = ["no-such-fault"]"#);
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
    for fault in Fault::all() {
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
        "faults = [\"echo:no-ack\"]\n[listeners.echo]\nport = 3100\n",
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
        "--port",
        "assa-limits=2",
        "--fault",
        "echo:wrong-ack",
        "--fault",
        "echo:no-ack",
    ])
    .unwrap();
    let config = cli.serve.to_config().unwrap();
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(config.bind.to_string(), "::1");
    assert_eq!(config.listeners.get(ListenerName::Echo).port, 0);
    assert_eq!(config.listeners.get(ListenerName::Assa).port, 1);
    // A port given enables its listener, even one that is off by default.
    let limits = config.listeners.get(ListenerName::AssaLimits);
    assert!(!ListenerName::AssaLimits.enabled_by_default());
    assert_eq!((limits.port, limits.enabled), (2, true));
    assert_eq!(
        config.faults,
        [
            Fault::Echo(EchoFault::NoAck),
            Fault::Echo(EchoFault::WrongAck)
        ]
    );
}

fn fault_parse_error(name: &str) -> String {
    match Cli::try_parse_from(["serve", "--fault", name]) {
        Ok(_) => panic!("accepted the fault {name:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn serve_args_unknown_fault_is_a_usage_error_listing_the_known_ones() {
    let message = fault_parse_error("nope");
    assert!(message.contains("nope"), "{message}");
    assert!(message.contains(&Fault::known_names()), "{message}");
    assert!(message.contains("echo:no-auth-emit"), "{message}");
}

#[test]
fn serve_args_fault_without_its_listener_is_unknown() {
    // The names before faults were named per listener.
    let message = fault_parse_error("no-ack");
    assert!(message.contains(r#"unknown fault "no-ack""#), "{message}");
    assert!(message.contains("echo:no-ack"), "{message}");
}

#[test]
fn serve_args_fault_of_another_listener_is_unknown() {
    let message = fault_parse_error("chatpot:no-ack");
    assert!(
        message.contains(r#"unknown fault "chatpot:no-ack""#),
        "{message}"
    );
    assert!(message.contains("echo:no-ack"), "{message}");
}

#[test]
fn serve_args_fault_parses() {
    let cli = Cli::try_parse_from(["serve", "--fault", "echo:slow-ping"]).unwrap();
    assert_eq!(cli.serve.faults, [Fault::Echo(EchoFault::SlowPing)]);
}

#[test]
fn toml_unknown_listener_lists_the_known_ones() {
    let message = toml_error("[listeners.irc]\nport = 6667\n");
    assert!(message.contains("irc"), "{message}");
    assert!(message.contains(&ListenerName::known_names()), "{message}");
}

#[test]
fn toml_listener_table_needs_its_port() {
    let message = toml_error("[listeners.echo]\nenabled = false\n");
    assert!(message.contains("port"), "{message}");
}

#[test]
fn toml_round_trips() {
    let mut config = Config::default();
    config.listeners.get_mut(ListenerName::Sockets).enabled = false;
    config.listeners.get_mut(ListenerName::Echo).port = 0;
    config.faults = vec![Fault::Echo(EchoFault::NoAck)];
    let text = toml::to_string(&config).unwrap();
    assert!(text.contains("[listeners.sockets]"), "{text}");
    assert!(text.contains(r#"faults = ["echo:no-ack"]"#), "{text}");
    assert_eq!(Config::from_toml(&text), Ok(config));
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
