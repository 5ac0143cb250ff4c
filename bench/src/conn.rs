//! One connection of the generator, whatever its protocol: a TCP socket
//! split in two halves (a pending write never keeps it from reading), a read
//! buffer cut in place by the wire's [`Splitter`], a write buffer of whole
//! frames, the WebSocket upgrade and each protocol's handshake, and the
//! setup's waits (answering heartbeats and counting deliveries meanwhile).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::dialect::{ConnError, Dialect, Got};
use crate::scenario::{wall_micros, Shared};
use crate::stats::micros;
use crate::wire::{self, Frame, Out, Splitter, Wire, WsUrl};

/// How much room a read gets: one read takes every answer a wake-up finds.
const READ_CHUNK: usize = 64 * 1024;

/// One open connection.
pub(crate) struct Conn {
    pub(crate) read: OwnedReadHalf,
    pub(crate) write: OwnedWriteHalf,
    pub(crate) rbuf: Vec<u8>,
    split: Splitter,
    pub(crate) out: Out,
    /// How much of `out.buf` is written.
    pub(crate) woff: usize,
}

impl Conn {
    /// Connects to the target of `shared`'s dialect as client `global` and
    /// completes the protocol's handshake (the WebSocket upgrade first when
    /// the protocol rides on WebSocket).
    pub(crate) async fn open(
        shared: &Shared,
        local: usize,
        global: usize,
    ) -> Result<Conn, ConnError> {
        let dialect = &shared.dialect;
        let wait = shared.plan.wait;
        let wire = dialect.wire();
        let ws = match wire {
            Wire::WebSocket => {
                Some(WsUrl::parse(dialect.url()).map_err(|e| ConnError::new("connect-failed", e))?)
            }
            _ => None,
        };
        let addr = match (&ws, dialect) {
            (Some(url), _) => url.addr.as_str(),
            (None, Dialect::Tcp(t)) => t.addr(),
            (None, _) => dialect.url(),
        };
        let stream = tokio::time::timeout(wait, TcpStream::connect(addr))
            .await
            .map_err(|_| ConnError::new("connect-timeout", "no connection within the wait"))?
            .map_err(|e| ConnError::new("connect-failed", e))?;
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let mut conn = Conn {
            read,
            write,
            rbuf: Vec::with_capacity(READ_CHUNK),
            split: Splitter::new(wire),
            out: Out::new(
                wire,
                (global as u32).wrapping_mul(0x9E37_79B9) ^ wall_micros() as u32,
            ),
            woff: 0,
        };
        let handshake = async {
            if let Some(url) = &ws {
                conn.upgrade(url, global).await?;
            }
            match dialect {
                Dialect::Tcp(_) => Ok(()),
                _ => conn.handshake(shared, local).await,
            }
        };
        tokio::time::timeout(wait, handshake).await.map_err(|_| {
            ConnError::new("handshake-timeout", "no handshake answer within the wait")
        })??;
        Ok(conn)
    }

    /// The WebSocket upgrade (no extensions: frames are never compressed).
    async fn upgrade(&mut self, url: &WsUrl<'_>, global: usize) -> Result<(), ConnError> {
        let seed = wall_micros() ^ (global as u64).rotate_left(32);
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..].copy_from_slice(
            &seed
                .rotate_left(17)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .to_le_bytes(),
        );
        let (request, accept) = wire::upgrade_request(url, key);
        self.write
            .write_all(&request)
            .await
            .map_err(|e| ConnError::new("connect-failed", e))?;
        loop {
            if let Some(len) = wire::upgrade_response(&self.rbuf, &accept)
                .map_err(|e| ConnError::new("handshake-refused", e))?
            {
                self.rbuf.drain(..len);
                return Ok(());
            }
            if self.rbuf.len() > 16 * 1024 {
                return Err(ConnError::new(
                    "handshake-refused",
                    "an upgrade answer over 16 KiB",
                ));
            }
            if !self.read_some().await {
                return Err(ConnError::new(
                    "closed-by-server",
                    "closed during the upgrade",
                ));
            }
        }
    }

    /// Socket.IO's open and CONNECT, SocketCluster's `#handshake`.
    async fn handshake(&mut self, shared: &Shared, local: usize) -> Result<(), ConnError> {
        let dialect = &shared.dialect;
        dialect.hello(&mut self.out);
        loop {
            let step = self
                .until(shared, local, "the handshake", |f| {
                    dialect.handshake_step(f)
                })
                .await?;
            match step {
                Ok(true) => return Ok(()),
                Ok(false) => dialect.after_open(&mut self.out),
                Err(refused) => return Err(ConnError::new("handshake-refused", refused)),
            }
        }
    }

    /// Reads once (growing the buffer when little room is left); false when the connection ended.
    pub(crate) async fn read_some(&mut self) -> bool {
        self.make_room();
        matches!(self.read.read_buf(&mut self.rbuf).await, Ok(n) if n > 0)
    }

    /// Makes sure the next read has room for a burst.
    pub(crate) fn make_room(&mut self) {
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            self.rbuf.reserve(READ_CHUNK);
        }
    }

    /// Writes what is buffered and empties the buffer.
    pub(crate) async fn flush(&mut self) -> Result<(), ConnError> {
        let result = self.write.write_all(&self.out.buf[self.woff..]).await;
        self.out.buf.clear();
        self.woff = 0;
        result.map_err(|e| ConnError::new("closed-by-server", e))
    }

    /// The next whole frame read.
    pub(crate) fn next_frame(&mut self) -> Result<Option<Frame>, ConnError> {
        self.split
            .next(&self.rbuf)
            .map_err(|kind| ConnError::new(kind, "the stream broke"))
    }

    /// Drops the frames handled from the read buffer.
    pub(crate) fn compact(&mut self) {
        self.split.compact(&mut self.rbuf);
    }

    /// Writes what is buffered, then waits (until the plan's wait ends) for
    /// a message `accept` takes, answering heartbeats and counting
    /// deliveries meanwhile; `what` names it in the timeout's error.
    pub(crate) async fn until<T>(
        &mut self,
        shared: &Shared,
        local: usize,
        what: &str,
        mut accept: impl FnMut(&[u8]) -> Option<T>,
    ) -> Result<T, ConnError> {
        let deadline = Instant::now() + shared.plan.wait;
        loop {
            let mut late = Vec::new();
            let mut found = None;
            while let Some(frame) = self.next_frame()? {
                if let Frame::Message(range) = &frame {
                    found = accept(&self.rbuf[range.clone()]);
                    if found.is_some() {
                        break;
                    }
                }
                self.handle(shared, frame, &mut late)?;
            }
            self.compact();
            shared.recorder.delivered(local, &late);
            if !self.out.buf.is_empty() {
                self.flush().await?;
            }
            if let Some(found) = found {
                return Ok(found);
            }
            match tokio::time::timeout_at(deadline, self.read_some()).await {
                Err(_) => {
                    return Err(ConnError::new(
                        "setup-timeout",
                        format!("no answer to {what} within the wait"),
                    ))
                }
                Ok(false) => {
                    return Err(ConnError::new(
                        "closed-by-server",
                        format!("closed before answering {what}"),
                    ))
                }
                Ok(true) => {}
            }
        }
    }

    /// Handles one frame: heartbeats answered into the write buffer,
    /// deliveries' latencies pushed to `late`; a request's answer or
    /// refusal ([`Got::Answer`], [`Got::Refused`]) is handed back.
    pub(crate) fn handle(
        &mut self,
        shared: &Shared,
        frame: Frame,
        late: &mut Vec<u64>,
    ) -> Result<Option<Got>, ConnError> {
        let dialect = &shared.dialect;
        match frame {
            Frame::Message(range) => {
                let text = &self.rbuf[range];
                match dialect.classify(text) {
                    answer @ Got::Answer(_) => return Ok(Some(answer)),
                    Got::Delivery(sent_us) => late.push(since(sent_us)),
                    Got::Ping => dialect.pong(&mut self.out, text),
                    refused @ Got::Refused(_) => {
                        shared.recorder.error("send-refused");
                        return Ok(Some(refused));
                    }
                    Got::ServerError => shared.recorder.error("server-error"),
                    Got::Closing => {
                        return Err(ConnError::new(
                            "closed-by-server",
                            "the server ended the session",
                        ))
                    }
                    Got::Other => {}
                }
            }
            Frame::Ping(range) => self.out.pong(&self.rbuf[range]),
            Frame::Close => return Err(ConnError::new("closed-by-server", "a close frame")),
        }
        Ok(None)
    }

    /// Says goodbye (a WebSocket close frame) and shuts the socket down, within `wait`.
    pub(crate) async fn close(mut self, wait: Duration) {
        self.out.close();
        let bye = async {
            let _ = self.flush().await;
            let _ = self.write.shutdown().await;
        };
        let _ = tokio::time::timeout(wait, bye).await;
    }
}

/// The latency of a delivery stamped `sent_us` (microseconds after the Unix epoch).
pub(crate) fn since(sent_us: u64) -> u64 {
    micros(Duration::from_micros(wall_micros().saturating_sub(sent_us)))
}
