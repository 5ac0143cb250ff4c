//! The SQLite store: one file in WAL mode with full synchronous commits, or a database in memory for tests.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::{Member, Record, Room, Snapshot, StorageError, Store, StoredMessage, User, Write};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    nickname TEXT NOT NULL,
    profile_image TEXT
);
CREATE TABLE IF NOT EXISTS rooms (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    is_open INTEGER NOT NULL,
    max_participants INTEGER NOT NULL,
    host_user_id INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    room_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    role TEXT NOT NULL,
    joined_at_ms INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE TABLE IF NOT EXISTS invites (
    room_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    content TEXT NOT NULL,
    message_type TEXT NOT NULL,
    file_info TEXT,
    reply_to_message_id INTEGER,
    client_message_id TEXT,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_room ON messages (room_id, id);
CREATE TABLE IF NOT EXISTS receipts (
    user_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE TABLE IF NOT EXISTS records (
    space TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (space, key)
);
";

/// A SQLite database holding the [`Snapshot`] tables.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

fn db(e: rusqlite::Error) -> StorageError {
    StorageError::Database(e.to_string())
}

/// SQLite stores integers as i64; ids beyond i64::MAX are refused, not wrapped.
fn int(v: u64) -> Result<i64, StorageError> {
    i64::try_from(v).map_err(|_| StorageError::Database(format!("id {v} is out of range")))
}

fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path`, in WAL mode.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let conn = Connection::open(path).map_err(db)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::Database(format!(
                "cannot switch {} to WAL mode (got {mode})",
                path.display()
            )));
        }
        Self::prepare(conn)
    }

    /// A database in memory: nothing survives the process.
    pub fn in_memory() -> Result<Self, StorageError> {
        Self::prepare(Connection::open_in_memory().map_err(db)?)
    }

    fn prepare(conn: Connection) -> Result<Self, StorageError> {
        // FULL: a committed transaction survives a crash of the process and of the machine.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(SqliteStore { conn })
    }

    /// The journal mode in force (`wal` for a file, `memory` in memory).
    pub fn journal_mode(&self) -> Result<String, StorageError> {
        self.conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(db)
    }

    fn apply(tx: &rusqlite::Transaction<'_>, write: &Write) -> Result<(), StorageError> {
        match write {
            Write::User(u) => tx
                .execute(
                    "INSERT INTO users (id, nickname, profile_image) VALUES (?1, ?2, ?3)
                     ON CONFLICT(id) DO UPDATE SET nickname = ?2, profile_image = ?3",
                    params![int(u.id)?, u.nickname, u.profile_image],
                )
                .map_err(db)?,
            Write::Room(r) => tx
                .execute(
                    "INSERT OR REPLACE INTO rooms
                     (id, name, description, is_open, max_participants, host_user_id, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        int(r.id)?,
                        r.name,
                        r.description,
                        r.is_open,
                        int(r.max_participants)?,
                        int(r.host_user_id)?,
                        r.created_at_ms
                    ],
                )
                .map_err(db)?,
            Write::Member(m) => tx
                .execute(
                    "INSERT OR REPLACE INTO members (room_id, user_id, role, joined_at_ms)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![int(m.room_id)?, int(m.user_id)?, m.role, m.joined_at_ms],
                )
                .map_err(db)?,
            Write::RemoveMember { room_id, user_id } => tx
                .execute(
                    "DELETE FROM members WHERE room_id = ?1 AND user_id = ?2",
                    params![int(*room_id)?, int(*user_id)?],
                )
                .map_err(db)?,
            Write::Invite { room_id, user_id } => tx
                .execute(
                    "INSERT OR IGNORE INTO invites (room_id, user_id) VALUES (?1, ?2)",
                    params![int(*room_id)?, int(*user_id)?],
                )
                .map_err(db)?,
            Write::Message(m) => tx
                .execute(
                    "INSERT INTO messages (id, room_id, user_id, content, message_type, file_info,
                     reply_to_message_id, client_message_id, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        int(m.id)?,
                        int(m.room_id)?,
                        int(m.user_id)?,
                        m.content,
                        m.message_type,
                        m.file_info,
                        m.reply_to_message_id.map(int).transpose()?,
                        m.client_message_id,
                        m.created_at_ms
                    ],
                )
                .map_err(db)?,
            Write::Receipts {
                user_id,
                message_ids,
            } => {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO receipts (user_id, message_id) VALUES (?1, ?2)",
                    )
                    .map_err(db)?;
                for id in message_ids {
                    stmt.execute(params![int(*user_id)?, int(*id)?])
                        .map_err(db)?;
                }
                0
            }
            Write::Put(r) => tx
                .execute(
                    "INSERT OR REPLACE INTO records (space, key, value) VALUES (?1, ?2, ?3)",
                    params![r.space, r.key, r.value],
                )
                .map_err(db)?,
            Write::Delete { space, key } => tx
                .execute(
                    "DELETE FROM records WHERE space = ?1 AND key = ?2",
                    params![space, key],
                )
                .map_err(db)?,
        };
        Ok(())
    }

    /// The message with id `id`, if stored.
    pub fn message(&self, id: u64) -> Result<Option<StoredMessage>, StorageError> {
        self.conn
            .query_row(
                "SELECT id, room_id, user_id, content, message_type, file_info,
                 reply_to_message_id, client_message_id, created_at_ms FROM messages WHERE id = ?1",
                params![int(id)?],
                message_row,
            )
            .optional()
            .map_err(db)
    }
}

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        id: uint(r.get(0)?),
        room_id: uint(r.get(1)?),
        user_id: uint(r.get(2)?),
        content: r.get(3)?,
        message_type: r.get(4)?,
        file_info: r.get(5)?,
        reply_to_message_id: r.get::<_, Option<i64>>(6)?.map(uint),
        client_message_id: r.get(7)?,
        created_at_ms: r.get(8)?,
    })
}

impl Store for SqliteStore {
    fn load(&mut self) -> Result<Snapshot, StorageError> {
        let c = &self.conn;
        let users = c
            .prepare("SELECT id, nickname, profile_image FROM users ORDER BY id")
            .map_err(db)?
            .query_map([], |r| {
                Ok(User {
                    id: uint(r.get(0)?),
                    nickname: r.get(1)?,
                    profile_image: r.get(2)?,
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        let rooms = c
            .prepare(
                "SELECT id, name, description, is_open, max_participants, host_user_id, created_at_ms
                 FROM rooms ORDER BY id",
            )
            .map_err(db)?
            .query_map([], |r| {
                Ok(Room {
                    id: uint(r.get(0)?),
                    name: r.get(1)?,
                    description: r.get(2)?,
                    is_open: r.get(3)?,
                    max_participants: uint(r.get(4)?),
                    host_user_id: uint(r.get(5)?),
                    created_at_ms: r.get(6)?,
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        let members = c
            .prepare(
                "SELECT room_id, user_id, role, joined_at_ms FROM members
                 ORDER BY room_id, joined_at_ms, user_id",
            )
            .map_err(db)?
            .query_map([], |r| {
                Ok(Member {
                    room_id: uint(r.get(0)?),
                    user_id: uint(r.get(1)?),
                    role: r.get(2)?,
                    joined_at_ms: r.get(3)?,
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        let pairs = |sql: &str| -> Result<Vec<(u64, u64)>, StorageError> {
            c.prepare(sql)
                .map_err(db)?
                .query_map([], |r| Ok((uint(r.get(0)?), uint(r.get(1)?))))
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)
        };
        let invites = pairs("SELECT room_id, user_id FROM invites ORDER BY room_id, user_id")?;
        let receipts =
            pairs("SELECT user_id, message_id FROM receipts ORDER BY user_id, message_id")?;
        let messages = c
            .prepare(
                "SELECT id, room_id, user_id, content, message_type, file_info,
                 reply_to_message_id, client_message_id, created_at_ms FROM messages ORDER BY id",
            )
            .map_err(db)?
            .query_map([], message_row)
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        let records = c
            .prepare("SELECT space, key, value FROM records ORDER BY space, key")
            .map_err(db)?
            .query_map([], |r| {
                Ok(Record {
                    space: r.get(0)?,
                    key: r.get(1)?,
                    value: r.get(2)?,
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        Ok(Snapshot {
            users,
            rooms,
            members,
            invites,
            messages,
            receipts,
            records,
        })
    }

    fn commit(&mut self, batch: &[Write]) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(db)?;
        for write in batch {
            Self::apply(&tx, write)?;
        }
        tx.commit().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64) -> StoredMessage {
        StoredMessage {
            id,
            room_id: 3,
            user_id: 7,
            content: "안녕하세요!".to_owned(),
            message_type: "text".to_owned(),
            file_info: None,
            reply_to_message_id: Some(1),
            client_message_id: Some("c1".to_owned()),
            created_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_committed_batch_is_read_back() {
        let mut store = SqliteStore::in_memory().expect("open");
        let user = User {
            id: 7,
            nickname: "user7".to_owned(),
            profile_image: None,
        };
        let room = Room {
            id: 3,
            name: "r".to_owned(),
            description: Some("d".to_owned()),
            is_open: false,
            max_participants: 50,
            host_user_id: 7,
            created_at_ms: 5,
        };
        let member = Member {
            room_id: 3,
            user_id: 7,
            role: "host".to_owned(),
            joined_at_ms: 5,
        };
        store
            .commit(&[
                Write::User(user.clone()),
                Write::Room(room.clone()),
                Write::Member(member.clone()),
                Write::Invite {
                    room_id: 3,
                    user_id: 9,
                },
                Write::Message(message(1)),
                Write::Receipts {
                    user_id: 9,
                    message_ids: vec![1, 1],
                },
            ])
            .expect("commit");
        let snapshot = store.load().expect("load");
        assert_eq!(snapshot.users, vec![user]);
        assert_eq!(snapshot.rooms, vec![room]);
        assert_eq!(snapshot.members, vec![member]);
        assert_eq!(snapshot.invites, vec![(3, 9)]);
        assert_eq!(snapshot.messages, vec![message(1)]);
        assert_eq!(snapshot.receipts, vec![(9, 1)]);
        store
            .commit(&[Write::RemoveMember {
                room_id: 3,
                user_id: 7,
            }])
            .expect("commit");
        assert!(store.load().expect("load").members.is_empty());
    }

    #[test]
    fn a_record_is_replaced_whole_and_deleted() {
        let mut store = SqliteStore::in_memory().expect("open");
        let put = |value: &str| Write::put("circles.user", 7, &value).expect("encode");
        store
            .commit(&[
                put("a"),
                put("b"),
                Write::put("other", 7, &1).expect("encode"),
            ])
            .expect("commit");
        let snapshot = store.load().expect("load");
        let users: Vec<String> = snapshot
            .records("circles.user")
            .map(|r| r.decode().expect("decode"))
            .collect();
        assert_eq!(users, vec!["b".to_owned()]);
        store
            .commit(&[Write::delete("circles.user", 7)])
            .expect("commit");
        let snapshot = store.load().expect("load");
        assert_eq!(snapshot.records("circles.user").count(), 0);
        assert_eq!(snapshot.records("other").count(), 1);
    }

    #[test]
    fn a_failing_batch_leaves_nothing_behind() {
        let mut store = SqliteStore::in_memory().expect("open");
        // The second insert of id 2 violates the primary key.
        let result = store.commit(&[Write::Message(message(2)), Write::Message(message(2))]);
        assert!(matches!(result, Err(StorageError::Database(_))));
        assert_eq!(store.message(2), Ok(None));
    }

    #[test]
    fn a_file_database_is_in_wal_mode_and_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite3");
        {
            let mut store = SqliteStore::open(&path).expect("open");
            assert_eq!(store.journal_mode().expect("mode"), "wal");
            store.commit(&[Write::Message(message(1))]).expect("commit");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(store.message(1), Ok(Some(message(1))));
    }
}
