//! An HTTP/1.1 server on loopback that stands in for an AWS endpoint (EventBridge failing
//! some entries, DynamoDB throttling everything), so that tests see what the SDK does with
//! such answers without any fake of the SDK itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One answer: a status line's code and reason, the content type and the body.
pub struct Reply {
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: String,
}

/// The stand-in: its endpoint URL, and the requests it has answered so far (their count and
/// their bodies).
pub struct StandIn {
    pub endpoint: String,
    pub calls: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl StandIn {
    /// Answers the n-th request (from 0, over every connection, keep-alive included) with
    /// `reply(n)`, until the test's runtime ends.
    pub async fn start(reply: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::answering(Duration::ZERO, move |n, _| reply(n)).await
    }

    /// Answers the n-th request, whose body is `body`, with `reply(n, body)`, each after
    /// `latency` (a network's and a service's time, as AWS takes it).
    pub async fn answering(
        latency: Duration,
        reply: impl Fn(usize, &str) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let calls = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (counter, kept, reply) = (calls.clone(), bodies.clone(), Arc::new(reply));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (counter, kept, reply) = (counter.clone(), kept.clone(), reply.clone());
                tokio::spawn(serve(socket, counter, kept, reply, latency));
            }
        });
        Self {
            endpoint,
            calls,
            bodies,
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The bodies of the requests answered so far, in the order they came.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().expect("bodies").clone()
    }
}

/// Answers each request of one connection once its head and body have arrived.
async fn serve(
    mut socket: TcpStream,
    counter: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
    reply: Arc<impl Fn(usize, &str) -> Reply>,
    latency: Duration,
) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if !read_more(&mut socket, &mut buffer).await {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            if !read_more(&mut socket, &mut buffer).await {
                return;
            }
        }
        let request = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
        buffer.drain(..head_end + length);
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let Reply {
            status,
            content_type,
            body,
        } = reply(n, &request);
        bodies.lock().expect("bodies").push(request);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\nx-amzn-requestid: stand-in\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        if socket.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads what has arrived; false once the connection is closed.
async fn read_more(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    match socket.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            true
        }
    }
}
