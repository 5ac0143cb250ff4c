//! `chatspec fuzz` against the embedded reference server: a bounded count per protocol, a fixed seed, no finding.

use std::time::Duration;

use reference_server::services::tokens::{unix_now_secs, Claims, Tokens};
use reference_server::Config;
use suites::fuzz::{FuzzOptions, FuzzTarget};

/// Input classes the reference server is known to fail, with the reason
/// (none: the echo listener on `protocols::session` refuses an oversized
/// WebSocket frame, which socketioxide 0.15.2 took and echoed).
const KNOWN: &[(&str, &str)] = &[];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_reference_server_survives_a_fixed_seed_of_every_fuzzer() {
    let config = Config::embedded();
    let tokens = Tokens::from_config(&config.auth).expect("the embedded secret");
    let minted: Vec<String> = (1..=3)
        .map(|u| {
            tokens
                .mint(&Claims::new(u, unix_now_secs(), 3600))
                .expect("mint")
        })
        .collect();
    let server = reference_server::start(config)
        .await
        .expect("the reference server starts");
    let named = server.addrs.named();
    let addr = |name: &str| named.iter().find(|(n, _)| n == name).expect(name).1;
    for fuzzer in suites::fuzz::FUZZERS {
        let protocol = fuzzer.protocol();
        let url = match protocol {
            protocols::Protocol::Assa => addr("assa").to_string(),
            protocols::Protocol::Socketcluster => {
                format!("ws://{}/socketcluster/", addr("socketcluster"))
            }
            _ => format!("http://{}", addr("echo")),
        };
        let target = FuzzTarget {
            url,
            tokens: minted.clone(),
        };
        let options = FuzzOptions {
            seed: 7,
            count: 40,
            duration: Duration::from_secs(60),
            batch: 20,
            pid: Some(std::process::id()),
            exclude: KNOWN
                .iter()
                .filter(|(p, _)| *p == protocol.id())
                .map(|(_, class)| class.to_string())
                .collect(),
            ..FuzzOptions::default()
        };
        let report = suites::fuzz::run(*fuzzer, &target, &options)
            .await
            .expect("the fuzz run starts");
        assert!(
            report.inputs >= 40,
            "{}: only {} inputs",
            protocol.id(),
            report.inputs
        );
        assert!(
            report.findings.is_empty(),
            "{}: {:#?}",
            protocol.id(),
            report.findings
        );
    }
    server.shutdown().await;
}
