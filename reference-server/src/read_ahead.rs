//! WebSocket read buffers that idle connections do not pay for: the socket read a few KiB at a time, what the caller did not take kept only until it takes it.
//!
//! tungstenite keeps its read buffer (`read_buffer_size` bytes) in every
//! connection for the connection's whole life and zero-fills it before each
//! read, so an idle connection holds, touched, all of it: at 10,000
//! connections a 4 KiB buffer is 40 MiB of resident memory that carries
//! nothing. The listeners give tungstenite a small buffer
//! ([`WS_READ_BUFFER`]) over a [`ReadAhead`] stream, which still reads
//! [`READ_AHEAD`] bytes from the socket per system call (as tungstenite's
//! old 4 KiB buffer did): it reads into a buffer on the stack, hands the
//! caller what fits, and keeps the rest in a heap buffer of exactly that
//! size, freed as soon as the caller has taken it all. An idle connection
//! holds nothing here; a busy one holds what it read and has not parsed
//! yet, at most one read's worth. Writes pass through.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most read from the socket in one system call.
pub const READ_AHEAD: usize = 4 * 1024;

/// The read buffer to give tungstenite over a [`ReadAhead`]: a frame header
/// and a small frame fit, a larger one is taken in steps from memory.
pub const WS_READ_BUFFER: usize = 256;

/// A stream whose reads take up to [`READ_AHEAD`] bytes from the socket
/// and keep what the caller did not take only until it takes it.
#[derive(Debug)]
pub struct ReadAhead<T> {
    inner: T,
    /// Read from `inner` and not handed out yet, from `at`; empty (and
    /// unallocated) once handed out.
    rest: Vec<u8>,
    at: usize,
}

impl<T> ReadAhead<T> {
    pub fn new(inner: T) -> ReadAhead<T> {
        ReadAhead {
            inner,
            rest: Vec::new(),
            at: 0,
        }
    }

    /// Bytes read from the socket that the caller has not taken yet.
    pub fn buffered(&self) -> usize {
        self.rest.len() - self.at
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadAhead<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.buffered() > 0 {
            let n = this.buffered().min(buf.remaining());
            buf.put_slice(&this.rest[this.at..this.at + n]);
            this.at += n;
            if this.buffered() == 0 {
                this.rest = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() >= READ_AHEAD {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let mut scratch = [MaybeUninit::<u8>::uninit(); READ_AHEAD];
        let mut ahead = ReadBuf::uninit(&mut scratch);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut ahead))?;
        let read = ahead.filled();
        let n = read.len().min(buf.remaining());
        buf.put_slice(&read[..n]);
        if n < read.len() {
            this.rest = read[n..].to_vec();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ReadAhead<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_take_one_read_ahead_in_steps_and_the_rest_is_freed() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let sent: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        client.write_all(&sent).await.unwrap();
        drop(client);
        let mut stream = ReadAhead::new(server);
        let mut got = Vec::new();
        let mut step = [0u8; 100];
        loop {
            let n = stream.read(&mut step).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&step[..n]);
            assert!(stream.buffered() < READ_AHEAD, "at most one read kept");
            if stream.buffered() == 0 {
                assert_eq!(stream.rest.capacity(), 0, "handed out: freed");
            }
        }
        assert_eq!(got, sent);
    }

    #[tokio::test]
    async fn a_large_read_goes_to_the_caller_directly() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        client.write_all(&[7u8; 6000]).await.unwrap();
        let mut stream = ReadAhead::new(server);
        let mut big = vec![0u8; 8 * 1024];
        let n = stream.read(&mut big).await.unwrap();
        assert_eq!(n, 6000);
        assert_eq!(stream.buffered(), 0);
        assert!(big[..n].iter().all(|&b| b == 7));
        stream.write_all(b"back").await.unwrap();
        let mut back = [0u8; 4];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
    }
}
