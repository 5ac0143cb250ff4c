//! A raw Socket.IO client over [`EioClient`]: namespaces, events, acks and
//! binary attachments, v4 (on Engine.IO 3) and v5 (on Engine.IO 4). A modern
//! server with Engine.IO 3 enabled speaks Socket.IO v5 packets over it, an
//! old one v4: on Engine.IO 3 the client reads both.

use protocols::engineio::{EioVersion, Packet as EioPacket, PacketData, PacketType as EioType};
use protocols::socketio::{Data, FullPacket, Packet, PacketType, SioVersion};
use serde_json::Value;
use std::collections::VecDeque;

use super::engineio::{EioClient, Endpoint, Options};
use crate::case::{Ctx, Failure};

/// Which transport a session starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling only.
    Polling,
    /// WebSocket from the start.
    WebSocket,
    /// Long-polling, then upgraded to WebSocket.
    Upgraded,
}

/// A Socket.IO client on one Engine.IO session.
pub struct SioClient {
    /// The Engine.IO session underneath.
    pub eio: EioClient,
    pending: Option<(Packet, Vec<Vec<u8>>)>,
    /// Packets read while [`SioClient::connect`] waited for the answer,
    /// handed out by [`SioClient::recv`] before anything new.
    backlog: VecDeque<FullPacket>,
    /// The packets of the namespace being connected that arrived before the
    /// server's answer to the last CONNECT (an event emitted by the
    /// server's connect handler ahead of the CONNECT packet): kept in
    /// [`SioClient::recv`]'s queue too, the way socket.io-client buffers
    /// them, and here for the cases that check the order.
    pub before_answer: Vec<FullPacket>,
}

/// The Socket.IO revisions a client reads on an Engine.IO version.
fn versions(eio: EioVersion) -> &'static [SioVersion] {
    match eio {
        EioVersion::V4 => &[SioVersion::V5],
        EioVersion::V3 => &[SioVersion::V5, SioVersion::V4],
    }
}

/// Decodes a Socket.IO text packet with the first revision that accepts it.
pub fn decode_packet(eio: EioVersion, text: &str) -> Result<Packet, Failure> {
    let mut last = None;
    for v in versions(eio) {
        match Packet::decode(*v, text) {
            Ok(p) => return Ok(p),
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::Broken(format!(
        "the server sent an invalid Socket.IO packet {text:?}: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    )))
}

impl SioClient {
    /// Opens an Engine.IO session of `version` to the context's socketio target.
    pub async fn open(
        ctx: &Ctx,
        version: EioVersion,
        transport: Transport,
    ) -> Result<SioClient, Failure> {
        let endpoint = Endpoint::of(ctx.targets.get::<crate::target::SocketioTarget>(), version)?;
        let eio = match transport {
            Transport::WebSocket => EioClient::websocket(ctx, endpoint, Options::default()).await?,
            Transport::Polling => EioClient::polling(ctx, endpoint, Options::default()).await?,
            Transport::Upgraded => {
                let mut eio = EioClient::polling(ctx, endpoint, Options::default()).await?;
                eio.upgrade().await?;
                eio
            }
        };
        Ok(SioClient {
            eio,
            pending: None,
            backlog: VecDeque::new(),
            before_answer: Vec::new(),
        })
    }

    /// Opens a session and connects to `namespace` with `auth`, expecting
    /// success and skipping the echo app's `auth` event.
    pub async fn connected(
        ctx: &Ctx,
        version: EioVersion,
        transport: Transport,
        namespace: &str,
    ) -> Result<SioClient, Failure> {
        let mut client = SioClient::open(ctx, version, transport).await?;
        let answer = client.connect(namespace, None).await?;
        if answer.packet_type != PacketType::Connect {
            return Err(Failure::Broken(format!(
                "connecting to {namespace} was refused: {answer:?}"
            )));
        }
        client.expect_event(namespace, "auth").await?;
        Ok(client)
    }

    /// The Engine.IO version of the session.
    pub fn version(&self) -> EioVersion {
        self.eio.endpoint.version
    }

    /// Sends a Socket.IO packet (text part, then attachments).
    pub async fn send(&mut self, packet: &FullPacket) -> Result<(), Failure> {
        let (text, attachments) = packet.encode();
        let mut packets = vec![EioPacket::message(text)];
        packets.extend(attachments.into_iter().map(EioPacket::binary));
        self.eio.send_all(&packets).await
    }

    /// Sends a raw Socket.IO text packet (anything, valid or not).
    pub async fn send_text(&mut self, text: &str) -> Result<(), Failure> {
        self.eio.send(EioPacket::message(text)).await
    }

    /// Connects to a namespace and returns the server's answer (CONNECT or
    /// CONNECT_ERROR). On Engine.IO 3 (Socket.IO protocol v4) the server
    /// connects `/` on its own, so for `/` without auth nothing is sent and the
    /// server's CONNECT is awaited. Other packets that arrive meanwhile are
    /// not lost: `recv` hands them out next (and those of `namespace` are in
    /// `before_answer`).
    pub async fn connect(
        &mut self,
        namespace: &str,
        auth: Option<Value>,
    ) -> Result<FullPacket, Failure> {
        let implicit = self.version() == EioVersion::V3 && namespace == "/" && auth.is_none();
        if !implicit {
            let packet = Packet::connect(namespace, auth);
            self.send_text(&packet.encode()).await?;
        }
        self.before_answer.clear();
        let mut skipped = VecDeque::new();
        let answer = loop {
            let p = match self.backlog.pop_front() {
                Some(p) => p,
                None => self.recv_wire().await?,
            };
            if p.namespace == namespace
                && matches!(
                    p.packet_type,
                    PacketType::Connect | PacketType::ConnectError
                )
            {
                break p;
            }
            if p.namespace == namespace {
                self.before_answer.push(p.clone());
            }
            skipped.push_back(p);
        };
        skipped.append(&mut self.backlog);
        self.backlog = skipped;
        Ok(answer)
    }

    /// Emits an event with JSON arguments and an optional ack id.
    pub async fn emit(
        &mut self,
        namespace: &str,
        event: &str,
        args: Vec<Data>,
        ack: Option<u64>,
    ) -> Result<(), Failure> {
        let mut data = vec![Data::String(event.to_owned())];
        data.extend(args);
        let packet = FullPacket {
            packet_type: PacketType::Event,
            namespace: namespace.to_owned(),
            id: ack,
            data: Some(Data::Array(data)),
        };
        self.send(&packet).await
    }

    /// The next Socket.IO packet, attachments in place.
    pub async fn recv(&mut self) -> Result<FullPacket, Failure> {
        match self.backlog.pop_front() {
            Some(p) => Ok(p),
            None => self.recv_wire().await,
        }
    }

    /// The next Socket.IO packet off the wire.
    async fn recv_wire(&mut self) -> Result<FullPacket, Failure> {
        loop {
            let p = self.eio.recv().await?;
            match (p.packet_type, &p.data) {
                (EioType::Message, PacketData::Text(text)) => {
                    if self.pending.is_some() {
                        return Err(Failure::Broken(format!(
                            "a text packet {text:?} arrived while binary attachments were expected"
                        )));
                    }
                    let packet = decode_packet(self.version(), text)?;
                    if packet.attachments == 0 {
                        return packet
                            .reconstruct(&[])
                            .map_err(|e| Failure::Broken(format!("invalid packet {text:?}: {e}")));
                    }
                    self.pending = Some((packet, Vec::new()));
                }
                (EioType::Message, PacketData::Binary(bytes)) => {
                    let Some((packet, mut buffers)) = self.pending.take() else {
                        return Err(Failure::Broken(
                            "a binary attachment arrived with no packet announcing it".into(),
                        ));
                    };
                    buffers.push(bytes.clone());
                    if buffers.len() < packet.attachments {
                        self.pending = Some((packet, buffers));
                        continue;
                    }
                    return packet
                        .reconstruct(&buffers)
                        .map_err(|e| Failure::Broken(format!("invalid binary packet: {e}")));
                }
                (EioType::Close, _) => {
                    return Err(Failure::Broken("the server closed the session".into()))
                }
                // Pongs of the client's own pings, noops: not Socket.IO packets.
                _ => continue,
            }
        }
    }

    /// Waits for the event `name` in `namespace`, skipping other packets; returns its arguments.
    pub async fn expect_event(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<Data>, Failure> {
        loop {
            let p = self.recv().await?;
            if p.namespace != namespace || p.packet_type != PacketType::Event {
                continue;
            }
            match p.data {
                Some(Data::Array(mut items)) if !items.is_empty() => {
                    if items[0] == Data::String(name.to_owned()) {
                        items.remove(0);
                        return Ok(items);
                    }
                    return Err(Failure::Broken(format!(
                        "expected the event {name:?}, got {:?}",
                        items[0]
                    )));
                }
                other => {
                    return Err(Failure::Broken(format!(
                        "an event without a name: {other:?}"
                    )))
                }
            }
        }
    }

    /// Waits for the ack `id` in `namespace`; returns its arguments.
    pub async fn expect_ack(&mut self, namespace: &str, id: u64) -> Result<Vec<Data>, Failure> {
        let p = self.recv().await?;
        if p.packet_type != PacketType::Ack || p.namespace != namespace {
            return Err(Failure::Broken(format!(
                "expected the ack {id} in {namespace}, got {p:?}"
            )));
        }
        if p.id != Some(id) {
            return Err(Failure::Broken(format!(
                "expected the ack id {id}, got {:?}",
                p.id
            )));
        }
        match p.data {
            Some(Data::Array(items)) => Ok(items),
            other => Err(Failure::Broken(format!(
                "an ack whose data is not an array: {other:?}"
            ))),
        }
    }
}
