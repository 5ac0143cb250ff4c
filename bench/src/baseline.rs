//! The loopback baseline: a plain tokio TCP echo that the bench starts
//! itself, so a report shows what the machine and the generator manage with
//! no protocol at all beside what the servers manage.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

/// Binds a free loopback port for the echo.
pub async fn bind() -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Echoes every connection `listener` accepts until the task is dropped:
/// every byte read is written back as it comes.
pub async fn serve(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo(stream));
            }
            // Out of descriptors or a connection reset before it was
            // accepted: the next accept may succeed.
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

async fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.split();
    // The connection ends when the client closes it (or breaks it).
    let _ = tokio::io::copy(&mut read, &mut write).await;
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn what_is_written_comes_back() {
        let (listener, addr) = super::bind().await.unwrap();
        let server = tokio::spawn(super::serve(listener));
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"1 hello\n").await.unwrap();
        let mut back = [0u8; 8];
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"1 hello\n");
        server.abort();
    }
}
