//! Bytes no client library would send, on fresh TCP connections: hand-made HTTP requests and WebSocket frames, for every fuzzer.

use std::time::Duration;

use super::{Broken, Oracle};
use crate::driver::DriverError;
use crate::wire::Link;

/// A masked client WebSocket frame with first byte `b0` (FIN, RSV bits, opcode).
pub fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut out = vec![b0];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Raw bytes on a fresh connection to `addr`: an answer or a close must come
/// within the wait (unless `may_wait`: a truncated request may be waited on;
/// the stream's end follows it at once, so a server that closes on it is
/// not waited out, and one that keeps waiting gets a short look).
pub async fn tcp(
    addr: &str,
    link: &Link,
    bytes: &[u8],
    may_wait: bool,
    wait: Duration,
) -> Result<(), Broken> {
    let mut conn = link
        .open("fuzz tcp")
        .tcp_raw(addr)
        .await
        .map_err(|e| Broken::new(Oracle::FreshClient, e.to_string()))?;
    if conn.send(bytes).await.is_err() || (may_wait && conn.finish().await.is_err()) {
        return Ok(());
    }
    // A truncated request may be waited on: a short look is enough.
    let within = if may_wait {
        wait.min(Duration::from_millis(200))
    } else {
        wait
    };
    match conn.recv(within).await {
        Ok(_) => Ok(()),
        Err(_) if may_wait => Ok(()),
        Err(_) => Err(Broken::new(
            Oracle::Silence,
            format!("no answer and no close within {} ms", wait.as_millis()),
        )),
    }
}

/// A WebSocket handshake by hand to `addr` and `path` (with its query), then
/// `frame`: the server must close the connection within the wait.
pub async fn ws_frame(
    addr: &str,
    path: &str,
    link: &Link,
    frame: &[u8],
    wait: Duration,
) -> Result<(), Broken> {
    let mut conn = link
        .open("fuzz ws")
        .tcp_raw(addr)
        .await
        .map_err(|e| Broken::new(Oracle::FreshClient, e.to_string()))?;
    let handshake = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let refused = |e: DriverError| Broken::new(Oracle::FreshClient, e.to_string());
    conn.send(handshake.as_bytes()).await.map_err(refused)?;
    match conn.recv(wait).await {
        Ok(Some(head)) if head.starts_with(b"HTTP/1.1 101") => {}
        Ok(_) => return Ok(()),
        Err(e) => return Err(Broken::new(Oracle::FreshClient, format!("no 101: {e}"))),
    }
    if conn.send(frame).await.is_err() {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match conn.recv(left).await {
            Ok(None) => return Ok(()),
            // A close frame from the server.
            Ok(Some(bytes)) if bytes.first().is_some_and(|b| b & 0x0f == 0x8) => return Ok(()),
            Ok(Some(_)) => continue,
            Err(_) => {
                return Err(Broken::new(
                    Oracle::Silence,
                    format!(
                        "a broken WebSocket frame left the connection open for {} ms",
                        wait.as_millis()
                    ),
                ))
            }
        }
    }
}

/// The upgrade request's headers every WebSocket request below starts with.
const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

/// The HTTP CVE classes of Node's and hyper's parsers, as `(class, request)`
/// for the request target `target` (path and query): thousands of headers
/// (on a WebSocket upgrade when `upgrade`), or a WebSocket upgrade whose
/// `Sec-WebSocket-Protocol` lists tens of thousands of entries.
pub fn http_cve(gen: &mut super::Gen, target: &str, upgrade: bool) -> (String, Vec<u8>) {
    if gen.below(2) == 0 {
        let mut req = format!("GET {target} HTTP/1.1\r\nHost: fuzz\r\n");
        if upgrade {
            req.push_str(UPGRADE);
        }
        for i in 0..(2000 + gen.below(8000)) {
            req.push_str(&format!("X-Fuzz-{i}: {i}\r\n"));
        }
        req.push_str("\r\n");
        ("cve:thousands-of-headers".into(), req.into_bytes())
    } else {
        let protocols = vec!["chat"; 10_000 + gen.below(20_000)].join(", ");
        let req = format!(
            "GET {target} HTTP/1.1\r\nHost: fuzz\r\n{UPGRADE}Sec-WebSocket-Protocol: {protocols}\r\n\r\n"
        );
        ("cve:long-sec-websocket-protocol".into(), req.into_bytes())
    }
}

/// The WebSocket CVE classes of ws and tungstenite, as `(class, frame)`:
/// RSV bits without an extension, reserved opcodes, invalid UTF-8 in a text
/// frame, a fragmented control frame, an unmasked client frame.
pub fn ws_cve(gen: &mut super::Gen, text: &[u8]) -> (String, Vec<u8>) {
    match gen.below(5) {
        0 => {
            let b0 = 0x80 | (0x10 << gen.below(3)) as u8 | 1;
            ("cve:ws-rsv-bits".into(), masked(b0, text))
        }
        1 => {
            let opcode = *gen.pick(&[3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]);
            ("cve:ws-bad-opcode".into(), masked(0x80 | opcode, text))
        }
        2 => {
            let bad = gen.invalid_utf8(&String::from_utf8_lossy(text));
            ("invalid-utf8".into(), masked(0x81, &bad))
        }
        3 => ("cve:ws-fragmented-ping".into(), masked(0x09, b"ping")),
        _ => {
            let mut frame = vec![0x81, text.len().min(125) as u8];
            frame.extend_from_slice(&text[..text.len().min(125)]);
            ("cve:ws-unmasked".into(), frame)
        }
    }
}
