//! The TCP socket a request came on, as the heartbeat sees it: whether input has arrived there that the server has not read yet.
//!
//! A listener serves its router on [`NoDelay`] with
//! `into_make_service_with_connect_info::<PeerSocket>()`; every request then
//! carries its connection's [`PeerSocket`]. Before a session is closed for
//! a lapsed heartbeat, its task looks at the sockets its input comes on
//! (its WebSocket's, or those of the HTTP connections that carried its
//! latest polling requests): bytes waiting in the kernel's receive buffer
//! may be the answer, arrived in time but not read yet because the server
//! was busy, and they are read first.
//!
//! A `PeerSocket` may outlive its connection (a polling session remembers
//! the sockets of its latest requests): the connection ([`Conn`]) marks it
//! closed before its descriptor is, so a closed one, whose number the
//! system may have reused, is never looked at.

use axum::extract::connect_info::Connected;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::lock;

/// The socket of a connection, a request extension through
/// `axum::extract::ConnectInfo`; cheap to clone, every clone the same socket.
#[derive(Debug, Clone)]
pub struct PeerSocket {
    slot: Arc<Slot>,
}

#[derive(Debug)]
struct Slot {
    #[cfg(unix)]
    fd: std::os::fd::RawFd,
    /// Whether the connection's descriptor is still open: cleared, under
    /// this lock, before it is closed.
    open: Mutex<bool>,
}

impl PeerSocket {
    fn of(stream: &TcpStream) -> PeerSocket {
        PeerSocket {
            slot: Arc::new(Slot {
                #[cfg(unix)]
                fd: std::os::fd::AsRawFd::as_raw_fd(stream),
                open: Mutex::new(true),
            }),
        }
    }

    /// Whether the two are the socket of one connection.
    pub(crate) fn same(&self, other: &PeerSocket) -> bool {
        Arc::ptr_eq(&self.slot, &other.slot)
    }

    /// Whether bytes have arrived on the socket that nobody has read yet
    /// (false once the connection is closed, or when that cannot be told).
    pub(crate) fn has_unread_input(&self) -> bool {
        let open = lock(&self.slot.open);
        if !*open {
            return false;
        }
        #[cfg(unix)]
        {
            // SAFETY: `open` is true and its lock is held: the connection
            // ([`Conn`]) clears it under this lock before its descriptor is
            // closed, so the descriptor stays open while it is borrowed here.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.slot.fd) };
            unread_input(socket2::SockRef::from(&fd))
        }
        #[cfg(not(unix))]
        {
            false
        }
    }
}

/// Whether bytes have arrived on an open, non-blocking (tokio's) socket
/// that nobody has read yet. Peeking leaves them for the reader; an empty
/// buffer is `WouldBlock`, and the end of the stream is no input.
pub(crate) fn unread_input(socket: socket2::SockRef<'_>) -> bool {
    let mut byte = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    matches!(socket.peek(&mut byte), Ok(n) if n > 0)
}

/// A connection accepted by [`NoDelay`]: its stream, which tells its
/// [`PeerSocket`] when it closes. Reads and writes go straight to the stream.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    peer: PeerSocket,
}

impl Conn {
    pub(crate) fn new(stream: TcpStream) -> Conn {
        let peer = PeerSocket::of(&stream);
        Conn { stream, peer }
    }

    /// The connection's socket, as requests carry it.
    pub(crate) fn peer(&self) -> &PeerSocket {
        &self.peer
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Before the stream (a field, dropped after this) closes the descriptor.
        *lock(&self.peer.slot.open) = false;
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A TCP listener whose connections have `TCP_NODELAY` set (a small frame
/// leaves at once instead of waiting on Nagle's algorithm), for a router
/// served with [`PeerSocket`]s.
#[derive(Debug)]
pub struct NoDelay(pub TcpListener);

impl Listener for NoDelay {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        let _ = stream.set_nodelay(true);
        (Conn::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Listener::local_addr(&self.0)
    }
}

impl Connected<IncomingStream<'_, NoDelay>> for PeerSocket {
    fn connect_info(stream: IncomingStream<'_, NoDelay>) -> PeerSocket {
        stream.io().peer().clone()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn unread_input_is_seen_until_it_is_read_and_never_once_the_connection_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut server = Conn::new(server);
        let peer = server.peer().clone();
        assert!(!peer.has_unread_input(), "nothing sent yet");
        client.write_all(b"3").await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while !peer.has_unread_input() {
            assert!(
                std::time::Instant::now() < deadline,
                "the byte never arrived"
            );
            tokio::task::yield_now().await;
        }
        assert!(peer.has_unread_input(), "peeking leaves the byte unread");
        let mut byte = [0u8; 1];
        server.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"3");
        assert!(!peer.has_unread_input(), "read: nothing left");

        // Bytes that wait on a connection that is gone are not looked for:
        // its descriptor is closed, and its number may be another's.
        client.write_all(b"3").await.unwrap();
        while !peer.has_unread_input() {
            assert!(
                std::time::Instant::now() < deadline,
                "the byte never arrived"
            );
            tokio::task::yield_now().await;
        }
        let other = server.peer().clone();
        drop(server);
        assert!(!peer.has_unread_input() && !other.has_unread_input());
        assert!(peer.same(&other));
    }
}
