//! A counting proxy in front of DynamoDB Local. The functions under benchmark reach DynamoDB
//! only through it, so the requests per operation are counted on the wire, not assumed.

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::http1::read_request;

pub struct CountingProxy {
    address: SocketAddr,
    /// The `X-Amz-Target` operation of each request since the last [`Self::take`].
    seen: Arc<Mutex<Vec<String>>>,
    stopped: Arc<AtomicBool>,
}

impl CountingProxy {
    /// Proxies a free loopback port to `upstream` (an `http://host:port` endpoint).
    pub fn start(upstream: &str) -> Result<Self, String> {
        let authority = upstream
            .strip_prefix("http://")
            .ok_or_else(|| format!("{upstream}: only http:// endpoints can be proxied"))?
            .trim_end_matches('/');
        let upstream = authority
            .to_socket_addrs()
            .map_err(|e| format!("{authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("{authority}: no address"))?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(AtomicBool::new(false));
        let (record, stop) = (seen.clone(), stopped.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(client) = client else { continue };
                let record = record.clone();
                std::thread::spawn(move || {
                    if let Ok(server) = TcpStream::connect(upstream) {
                        relay(client, server, &record);
                    }
                });
            }
        });
        Ok(Self {
            address,
            seen,
            stopped,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The endpoint the functions get as `DYNAMODB_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The operations requested since the last call, in order.
    pub fn take(&self) -> Vec<String> {
        self.seen
            .lock()
            .map(|mut seen| std::mem::take(&mut *seen))
            .unwrap_or_default()
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.address);
    }
}

/// Copies responses back as they come, and requests forward one at a time, noting each.
fn relay(client: TcpStream, server: TcpStream, seen: &Mutex<Vec<String>>) {
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (Ok(mut client_writer), Ok(mut server_reader)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut server_reader, &mut client_writer);
        let _ = client_writer.shutdown(Shutdown::Both);
    });
    let mut server = server;
    let mut reader = BufReader::new(client);
    while let Some(request) = read_request(&mut reader) {
        // `DynamoDB_20120810.UpdateItem` → `UpdateItem`
        let target = request
            .header("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or("(no X-Amz-Target)")
            .to_owned();
        if let Ok(mut seen) = seen.lock() {
            seen.push(target);
        }
        if server.write_all(&request.head).is_err() || server.write_all(&request.body).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}
