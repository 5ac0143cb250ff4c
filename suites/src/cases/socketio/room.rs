//! `socketio.*.room.*`: the reference server's room events beside the echo
//! app (`join`, `leave`, `room-message`, see `reference-server/README.md`),
//! which the room fan-out bench drives. Not part of Socket.IO's test suites'
//! echo app: a target without `rooms = true` gets `unimplemented`.

use std::collections::VecDeque;

use protocols::engineio::EioVersion;
use protocols::socketio::{Data, PacketType};

use crate::broken;
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::socketio::{SioClient, Transport};
use crate::ensure_eq;
use crate::target::SocketioTarget;

case! {
    suite: socketio,
    name: "room.message-reaches-every-member",
    level: Info,
    spec: {
        v3: "socket.io-protocol v4 §2 - EVENT",
        v4: "socket.io-protocol v5 §Sending and receiving data",
    },
    title: "A room-message reaches every member of the room, its sender included, is acknowledged, and reaches no one else",
    run: message_reaches_every_member,
}
async fn message_reaches_every_member(ctx: Ctx, v: EioVersion) -> Outcome {
    let room = fresh_room();
    let mut sender = RoomClient::connect(&ctx, v).await?;
    let mut member = RoomClient::connect(&ctx, v).await?;
    let mut outsider = RoomClient::connect(&ctx, v).await?;
    sender.join(&room).await?;
    member.join(&room).await?;
    let message = room_message(&room, "hello");
    let answer = sender.call("room-message", vec![message.clone()]).await?;
    ensure_eq!(
        answer,
        vec![Data::Bool(true)],
        "room-message's acknowledgement"
    );
    ensure_eq!(
        member.next_message().await?,
        message,
        "what the other member received"
    );
    ensure_eq!(
        sender.next_message().await?,
        message,
        "what the sender, a member, received"
    );
    outsider.quiet("a client outside the room").await
}

case! {
    suite: socketio,
    name: "room.leave-stops-delivery",
    level: Info,
    spec: {
        v3: "socket.io-protocol v4 §2 - EVENT",
        v4: "socket.io-protocol v5 §Sending and receiving data",
    },
    title: "A client that left a room gets none of its room-messages",
    run: leave_stops_delivery,
}
async fn leave_stops_delivery(ctx: Ctx, v: EioVersion) -> Outcome {
    let room = fresh_room();
    let mut sender = RoomClient::connect(&ctx, v).await?;
    let mut leaver = RoomClient::connect(&ctx, v).await?;
    sender.join(&room).await?;
    leaver.join(&room).await?;
    let answer = leaver
        .call("leave", vec![Data::String(room.clone())])
        .await?;
    ensure_eq!(answer, vec![Data::Bool(true)], "leave's acknowledgement");
    let message = room_message(&room, "after the leave");
    sender.call("room-message", vec![message.clone()]).await?;
    // The sender's own copy shows the message went out.
    ensure_eq!(
        sender.next_message().await?,
        message,
        "what the sender received"
    );
    leaver.quiet("the client that left").await
}

case! {
    suite: socketio,
    name: "room.malformed-refused",
    level: Info,
    spec: {
        v3: "socket.io-protocol v4 §2 - EVENT",
        v4: "socket.io-protocol v5 §Sending and receiving data",
    },
    title: "A join without a room name and a room-message without a room are acknowledged with false",
    run: malformed_refused,
}
async fn malformed_refused(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = RoomClient::connect(&ctx, v).await?;
    let answer = client.call("join", vec![Data::Number(7.into())]).await?;
    ensure_eq!(answer, vec![Data::Bool(false)], "join 7's acknowledgement");
    let answer = client
        .call("room-message", vec![Data::String("no room".into())])
        .await?;
    ensure_eq!(
        answer,
        vec![Data::Bool(false)],
        "a room-message of a bare string: its acknowledgement"
    );
    Ok(())
}

/// A room name no other case uses.
fn fresh_room() -> String {
    format!("chatspec-room-{:08x}", fastrand::u32(..))
}

/// A `room-message` argument: `{"room": room, "data": data}`.
fn room_message(room: &str, data: &str) -> Data {
    Data::Object(
        [
            ("room".to_owned(), Data::String(room.to_owned())),
            ("data".to_owned(), Data::String(data.to_owned())),
        ]
        .into(),
    )
}

/// A client of the room events over WebSocket in `/`: calls answered by
/// their ack id, `room-message` events kept in order until read.
struct RoomClient {
    client: SioClient,
    inbox: VecDeque<Data>,
    next_id: u64,
}

impl RoomClient {
    /// Connects to the target, `unimplemented` unless it has the room events.
    async fn connect(ctx: &Ctx, v: EioVersion) -> Result<RoomClient, Failure> {
        if !ctx.targets.get::<SocketioTarget>().is_some_and(|t| t.rooms) {
            return Err(Failure::Unimplemented(
                "the target is not configured with the room events ([socketio] rooms = true)"
                    .into(),
            ));
        }
        Ok(RoomClient {
            client: SioClient::connected(ctx, v, Transport::WebSocket, "/").await?,
            inbox: VecDeque::new(),
            next_id: 1,
        })
    }

    /// Joins `room`, expecting the acknowledgement `true`.
    async fn join(&mut self, room: &str) -> Outcome {
        let answer = self
            .call("join", vec![Data::String(room.to_owned())])
            .await?;
        ensure_eq!(answer, vec![Data::Bool(true)], "join's acknowledgement");
        Ok(())
    }

    /// Emits `event` with an ack id and returns the acknowledgement's
    /// arguments; `room-message` events meanwhile go to the inbox.
    async fn call(&mut self, event: &str, args: Vec<Data>) -> Result<Vec<Data>, Failure> {
        let id = self.next_id;
        self.next_id += 1;
        self.client.emit("/", event, args, Some(id)).await?;
        loop {
            let p = self.client.recv().await?;
            match (p.packet_type, p.data) {
                (PacketType::Ack, Some(Data::Array(args))) if p.id == Some(id) => return Ok(args),
                (PacketType::Event, Some(data)) => self.keep(data)?,
                (kind, data) => {
                    return Err(broken!(
                        "waiting for the acknowledgement of {event}: got {kind:?} {data:?}"
                    ))
                }
            }
        }
    }

    /// The next `room-message` event's argument.
    async fn next_message(&mut self) -> Result<Data, Failure> {
        loop {
            if let Some(m) = self.inbox.pop_front() {
                return Ok(m);
            }
            let p = self.client.recv().await?;
            match (p.packet_type, p.data) {
                (PacketType::Event, Some(data)) => self.keep(data)?,
                (kind, data) => {
                    return Err(broken!("waiting for a room-message: got {kind:?} {data:?}"))
                }
            }
        }
    }

    /// Keeps a `room-message` event's one argument; any other event is an error.
    fn keep(&mut self, data: Data) -> Outcome {
        match data {
            Data::Array(mut items)
                if items.len() == 2 && items[0] == Data::String("room-message".into()) =>
            {
                self.inbox.extend(items.pop());
                Ok(())
            }
            other => Err(broken!("an event other than one room-message: {other:?}")),
        }
    }

    /// Checks that no `room-message` arrived: none in the inbox, and none
    /// before the answer to a probe (`message-with-ack`) sent now.
    async fn quiet(&mut self, who: &str) -> Outcome {
        self.call(
            "message-with-ack",
            vec![Data::String("chatspec probe".into())],
        )
        .await?;
        match self.inbox.front() {
            Some(m) => Err(broken!("{who} received a room-message: {m:?}")),
            None => Ok(()),
        }
    }
}
