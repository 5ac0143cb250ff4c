//! The TCP socket a request came on, as the heartbeat sees it: whether input has arrived there that the server has not read yet.
//!
//! A listener serves its router with
//! `into_make_service_with_connect_info::<PeerSocket>()`; every request then
//! carries the socket's descriptor. Before a WebSocket session is closed
//! for a lapsed heartbeat, its task looks at the socket: bytes waiting in
//! the kernel's receive buffer may be the pong, arrived in time but not
//! read yet because the server was busy, and they are read first.

use axum::extract::connect_info::Connected;
use std::io;
use std::net::SocketAddr;

use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};

/// The socket of a connection (its descriptor), a request extension
/// through `axum::extract::ConnectInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerSocket {
    #[cfg(unix)]
    fd: std::os::fd::RawFd,
}

impl PeerSocket {
    fn of(stream: &TcpStream) -> PeerSocket {
        PeerSocket {
            #[cfg(unix)]
            fd: std::os::fd::AsRawFd::as_raw_fd(stream),
        }
    }

    /// Whether bytes have arrived on the socket that nobody has read yet
    /// (false when that cannot be told).
    ///
    /// Call it only while the connection is open: the descriptor is the
    /// connection's own, borrowed, and a closed one's number may be reused.
    pub(crate) fn has_unread_input(&self) -> bool {
        #[cfg(unix)]
        {
            use std::mem::MaybeUninit;
            // SAFETY: the caller holds the connection (the WebSocket's write
            // half), so the descriptor stays open while it is borrowed here.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) };
            let socket = socket2::SockRef::from(&fd);
            let mut byte = [MaybeUninit::<u8>::uninit(); 1];
            // The socket is non-blocking (tokio's): an empty buffer is
            // `WouldBlock`; peeking leaves the bytes for the reader.
            matches!(socket.peek(&mut byte), Ok(n) if n > 0)
        }
        #[cfg(not(unix))]
        {
            false
        }
    }
}

impl Connected<IncomingStream<'_, TcpListener>> for PeerSocket {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> PeerSocket {
        PeerSocket::of(stream.io())
    }
}

/// A TCP listener whose connections have `TCP_NODELAY` set (a small frame
/// leaves at once instead of waiting on Nagle's algorithm), for a router
/// served with [`PeerSocket`]s.
#[derive(Debug)]
pub struct NoDelay(pub TcpListener);

impl Listener for NoDelay {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        let _ = stream.set_nodelay(true);
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Listener::local_addr(&self.0)
    }
}

impl Connected<IncomingStream<'_, NoDelay>> for PeerSocket {
    fn connect_info(stream: IncomingStream<'_, NoDelay>) -> PeerSocket {
        PeerSocket::of(stream.io())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn unread_input_is_seen_until_it_is_read_and_peeking_leaves_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let peer = PeerSocket::of(&server);
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
    }
}
