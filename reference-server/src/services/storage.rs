//! Durable storage behind a small trait: users, rooms, membership, invites, messages and receipts (ASSA's tables), the other listeners' records, committed in batches by one writer thread.
//!
//! The listeners keep their working state in memory and write through a
//! [`Writer`]: every [`Write`] goes to one thread that takes everything queued,
//! commits it in one transaction (group commit: one fsync per batch, not per
//! message) and then runs each job's completion. A listener that must not
//! acknowledge before the data is on disk (ASSA's `SEND_MESSAGE_RESPONSE`)
//! sends its answer from the completion. At start a listener reads the whole
//! state back with [`Store::load`].
//!
//! ASSA's state has tables of its own; the other listeners keep theirs as
//! [`Record`]s: JSON documents by space and key (`chatpot.member`, the
//! member's token), each replaced whole when it changes.
//!
//! The trait takes batches and hands back a snapshot, nothing SQLite-specific,
//! so a networked store for several nodes can be put behind it later.
//! [`Storage`] is the handle the server opens once and hands to every
//! listener ([`crate::services::Services`]).

pub mod sqlite;

use std::path::PathBuf;
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

pub use sqlite::SqliteStore;

/// A user: the identity a token names, or one made through the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user id (a token's `sub`).
    pub id: u64,
    /// Display name.
    pub nickname: String,
    /// Profile image path, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_image: Option<String>,
}

/// A chat room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// The room id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its description, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether anyone may join (otherwise only the invited).
    pub is_open: bool,
    /// Capacity.
    pub max_participants: u64,
    /// The creator.
    pub host_user_id: u64,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
}

/// A user's membership of a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The room.
    pub room_id: u64,
    /// The user.
    pub user_id: u64,
    /// `host` or `member`.
    pub role: String,
    /// When they joined, Unix milliseconds.
    pub joined_at_ms: i64,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// The server's message id.
    pub id: u64,
    /// The room it was sent to.
    pub room_id: u64,
    /// The sender.
    pub user_id: u64,
    /// Its text (empty for an image without caption).
    pub content: String,
    /// `text` or `image`.
    pub message_type: String,
    /// The image's `file_info`, as JSON text.
    pub file_info: Option<String>,
    /// The message it answers.
    pub reply_to_message_id: Option<u64>,
    /// The sender's own id for it.
    pub client_message_id: Option<String>,
    /// When the server accepted it, Unix milliseconds.
    pub created_at_ms: i64,
}

/// A listener's document: a JSON value under a space and a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What kind of document, prefixed with the listener (`circles.message`).
    pub space: String,
    /// Its key within the space (an id or a token).
    pub key: String,
    /// The document, JSON text.
    pub value: String,
}

impl Record {
    /// The document decoded as a `T`.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, StorageError> {
        serde_json::from_str(&self.value).map_err(|e| StorageError::Corrupt {
            space: self.space.clone(),
            key: self.key.clone(),
            message: e.to_string(),
        })
    }
}

/// One change to the stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Creates or replaces a user.
    User(User),
    /// Creates or replaces a room.
    Room(Room),
    /// Adds a member, or changes their role.
    Member(Member),
    /// Removes a member.
    RemoveMember {
        /// The room.
        room_id: u64,
        /// The user.
        user_id: u64,
    },
    /// Records an invitation.
    Invite {
        /// The room.
        room_id: u64,
        /// The user invited.
        user_id: u64,
    },
    /// Appends a message.
    Message(StoredMessage),
    /// Marks messages as received by a user.
    Receipts {
        /// The user.
        user_id: u64,
        /// The messages.
        message_ids: Vec<u64>,
    },
    /// Creates or replaces a record.
    Put(Record),
    /// Removes a record, if there is one.
    Delete {
        /// Its space.
        space: String,
        /// Its key.
        key: String,
    },
}

impl Write {
    /// Creates or replaces the record `space`/`key` with `value` as JSON.
    pub fn put(
        space: &str,
        key: impl ToString,
        value: &impl Serialize,
    ) -> Result<Write, StorageError> {
        let key = key.to_string();
        let value = serde_json::to_string(value).map_err(|e| StorageError::Corrupt {
            space: space.to_owned(),
            key: key.clone(),
            message: e.to_string(),
        })?;
        Ok(Write::Put(Record {
            space: space.to_owned(),
            key,
            value,
        }))
    }

    /// Removes the record `space`/`key`.
    pub fn delete(space: &str, key: impl ToString) -> Write {
        Write::Delete {
            space: space.to_owned(),
            key: key.to_string(),
        }
    }
}

/// Everything stored, as read back at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every user.
    pub users: Vec<User>,
    /// Every room.
    pub rooms: Vec<Room>,
    /// Every membership.
    pub members: Vec<Member>,
    /// Every invitation, `(room_id, user_id)`.
    pub invites: Vec<(u64, u64)>,
    /// Every message, in id order.
    pub messages: Vec<StoredMessage>,
    /// Every receipt, `(user_id, message_id)`.
    pub receipts: Vec<(u64, u64)>,
    /// Every record of the other listeners, by space and key.
    pub records: Vec<Record>,
}

impl Snapshot {
    /// The records of `space`, in key order.
    pub fn records<'a>(&'a self, space: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.iter().filter(move |r| r.space == space)
    }
}

/// Why storage failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The data directory cannot be created.
    #[error("cannot create the data directory {path}: {message}")]
    DataDir {
        /// The directory.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// The database refused an operation.
    #[error("database error: {0}")]
    Database(String),
    /// The writer thread is gone.
    #[error("the storage writer has stopped")]
    WriterStopped,
    /// A record cannot be encoded or read back.
    #[error("record {space}/{key}: {message}")]
    Corrupt {
        /// Its space.
        space: String,
        /// Its key.
        key: String,
        /// What serde said.
        message: String,
    },
}

/// A durable store: reads everything back, commits batches atomically.
pub trait Store: Send {
    /// Everything stored.
    fn load(&mut self) -> Result<Snapshot, StorageError>;
    /// Applies `batch` atomically and durably: when this returns `Ok`, every
    /// write survives a crash.
    fn commit(&mut self, batch: &[Write]) -> Result<(), StorageError>;
}

/// Which store to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// A SQLite file in the data directory.
    #[default]
    Sqlite,
    /// SQLite in memory: nothing survives the process (tests).
    Memory,
}

/// `[storage]` in the server's TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Which store.
    pub backend: Backend,
    /// Where the SQLite file lives; created when missing.
    pub data_dir: PathBuf,
    /// At most this many jobs go into one transaction.
    pub batch_max: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: Backend::Sqlite,
            data_dir: PathBuf::from("chatspec-data"),
            batch_max: 512,
        }
    }
}

impl StorageConfig {
    /// In-memory storage, for tests.
    pub fn memory() -> Self {
        StorageConfig {
            backend: Backend::Memory,
            ..StorageConfig::default()
        }
    }

    /// The SQLite file of the [`Backend::Sqlite`] backend.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("chatspec.sqlite3")
    }

    /// Opens the configured store, creating the data directory when missing.
    pub fn open(&self) -> Result<Box<dyn Store>, StorageError> {
        match self.backend {
            Backend::Memory => Ok(Box::new(SqliteStore::in_memory()?)),
            Backend::Sqlite => {
                std::fs::create_dir_all(&self.data_dir).map_err(|e| StorageError::DataDir {
                    path: self.data_dir.display().to_string(),
                    message: e.to_string(),
                })?;
                Ok(Box::new(SqliteStore::open(&self.database_path())?))
            }
        }
    }
}

/// What runs once a job's writes are committed (or failed).
pub type Completion = Box<dyn FnOnce(Result<(), StorageError>) + Send>;

struct Job {
    writes: Vec<Write>,
    done: Option<Completion>,
}

/// The handle to the writer thread. Cloning it is cheap; the thread ends
/// when every handle is dropped, after committing what was queued.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread over `store`, at most `batch_max` jobs per transaction.
    pub fn spawn(mut store: Box<dyn Store>, batch_max: usize) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        let batch_max = batch_max.max(1);
        let spawned = std::thread::Builder::new()
            .name("storage-writer".to_owned())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < batch_max {
                        match rx.try_recv() {
                            Ok(job) => jobs.push(job),
                            Err(_) => break,
                        }
                    }
                    let writes: Vec<Write> =
                        jobs.iter().flat_map(|j| j.writes.iter().cloned()).collect();
                    let result = store.commit(&writes);
                    if let Err(e) = &result {
                        tracing::error!("storage commit of {} writes failed: {e}", writes.len());
                    }
                    for job in jobs {
                        if let Some(done) = job.done {
                            done(result.clone());
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            // Without a thread every submit reports WriterStopped.
            tracing::error!("cannot start the storage writer: {e}");
        }
        Writer { tx }
    }

    /// Queues `writes`; `done` runs on the writer thread once they are committed.
    pub fn submit(&self, writes: Vec<Write>, done: Option<Completion>) {
        if let Err(mpsc::SendError(job)) = self.tx.send(Job { writes, done }) {
            if let Some(done) = job.done {
                done(Err(StorageError::WriterStopped));
            }
        }
    }

    /// Waits until everything queued before this call is committed.
    pub fn flush(&self) -> Result<(), StorageError> {
        let (tx, rx) = mpsc::channel();
        self.submit(
            Vec::new(),
            Some(Box::new(move |r| {
                let _ = tx.send(r);
            })),
        );
        rx.recv().map_err(|_| StorageError::WriterStopped)?
    }
}

/// The server's storage: the writer over the configured store. Opened once
/// and shared by every listener; cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    writer: Writer,
}

/// The commit of one [`Storage::submit`]: await [`Committed::wait`] to know
/// the writes are durable.
#[derive(Debug)]
pub struct Committed(tokio::sync::oneshot::Receiver<Result<(), StorageError>>);

impl Committed {
    /// Resolves once the writes are committed (or failed).
    pub async fn wait(self) -> Result<(), StorageError> {
        self.0.await.map_err(|_| StorageError::WriterStopped)?
    }
}

impl Storage {
    /// Opens the configured store, reads everything back and starts the writer.
    pub fn open(config: &StorageConfig) -> Result<(Storage, Snapshot), StorageError> {
        Storage::over(config.open()?, config.batch_max)
    }

    /// Reads everything back from `store` and starts the writer over it, at
    /// most `batch_max` jobs per transaction (tests give a store of their
    /// own, e.g. one that holds its commits).
    pub fn over(
        mut store: Box<dyn Store>,
        batch_max: usize,
    ) -> Result<(Storage, Snapshot), StorageError> {
        let snapshot = store.load()?;
        let writer = Writer::spawn(store, batch_max);
        Ok((Storage { writer }, snapshot))
    }

    /// The writer thread (for completions that run on it).
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Queues `writes` (in the order of the calls); the returned
    /// [`Committed`] resolves once they are committed. Call it while holding
    /// the lock of the state the writes describe, so that two changes of
    /// one record reach the store in the order they were made.
    /// No writes: resolved at once, without a trip to the writer.
    pub fn submit(&self, writes: Vec<Write>) -> Committed {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if writes.is_empty() {
            let _ = tx.send(Ok(()));
            return Committed(rx);
        }
        self.writer.submit(
            writes,
            Some(Box::new(move |result| {
                // Nobody waiting for the commit is fine: the writes were queued anyway.
                let _ = tx.send(result);
            })),
        );
        Committed(rx)
    }

    /// Waits until everything queued before this call is committed.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn message(id: u64) -> StoredMessage {
        StoredMessage {
            id,
            room_id: 1,
            user_id: 7,
            content: format!("m{id}"),
            message_type: "text".to_owned(),
            file_info: None,
            reply_to_message_id: None,
            client_message_id: None,
            created_at_ms: 0,
        }
    }

    /// Counts commits, to see batching.
    struct Counting(Arc<Mutex<Vec<usize>>>);

    impl Store for Counting {
        fn load(&mut self) -> Result<Snapshot, StorageError> {
            Ok(Snapshot::default())
        }
        fn commit(&mut self, batch: &[Write]) -> Result<(), StorageError> {
            std::thread::sleep(std::time::Duration::from_millis(5));
            self.0.lock().expect("lock").push(batch.len());
            Ok(())
        }
    }

    #[test]
    fn queued_jobs_share_a_transaction() {
        let commits = Arc::new(Mutex::new(Vec::new()));
        let writer = Writer::spawn(Box::new(Counting(commits.clone())), 512);
        for id in 0..200 {
            writer.submit(vec![Write::Message(message(id))], None);
        }
        writer.flush().expect("flush");
        let commits = commits.lock().expect("lock");
        assert_eq!(commits.iter().sum::<usize>(), 200);
        assert!(commits.len() < 200, "one commit per job: {commits:?}");
    }

    #[test]
    fn a_completion_runs_after_its_commit() {
        let writer = Writer::spawn(Box::new(SqliteStore::in_memory().expect("open")), 8);
        let (tx, rx) = mpsc::channel();
        writer.submit(
            vec![Write::Message(message(1))],
            Some(Box::new(move |r| tx.send(r).expect("send"))),
        );
        assert_eq!(rx.recv().expect("completion"), Ok(()));
    }

    #[test]
    fn a_submit_resolves_once_committed_and_a_record_decodes() {
        let (storage, snapshot) = Storage::open(&StorageConfig::memory()).expect("open");
        assert!(snapshot.records.is_empty());
        let committed = storage.submit(vec![
            Write::put("t.a", 1, &serde_json::json!({"x": 1})).expect("encode"),
            Write::put("t.b", "k", &"v").expect("encode"),
            Write::delete("t.a", 1),
        ]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        assert_eq!(runtime.block_on(committed.wait()), Ok(()));
        assert_eq!(runtime.block_on(storage.submit(vec![]).wait()), Ok(()));
        let record = Record {
            space: "t.a".into(),
            key: "1".into(),
            value: "{\"x\":1}".into(),
        };
        assert_eq!(
            record.decode::<serde_json::Value>(),
            Ok(serde_json::json!({"x": 1}))
        );
        let bad = Record {
            value: "{".into(),
            ..record
        };
        assert!(matches!(
            bad.decode::<serde_json::Value>(),
            Err(StorageError::Corrupt { .. })
        ));
    }
}
