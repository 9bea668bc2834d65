//! Reading HTTP/1.1 requests off a socket, for the small servers of `replay-events` and
//! `bench` (the Runtime API, the counting proxy). Their clients (the Lambda runtime, the AWS
//! SDK) send a `Content-Length` with every body; a chunked request ends the connection.

use std::io::BufRead;

pub struct RawRequest {
    /// The request line and headers as received, blank line included.
    pub head: Vec<u8>,
    pub path: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The next request on a keep-alive connection, or `None` when it ends.
pub fn read_request(reader: &mut impl BufRead) -> Option<RawRequest> {
    let mut head = Vec::new();
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.extend_from_slice(line.as_bytes());
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let (request_line, header_lines) = lines.split_first()?;
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    let headers: Vec<(String, String)> = header_lines
        .iter()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let mut request = RawRequest {
        head,
        path,
        headers,
        body: Vec::new(),
    };
    if request.header("transfer-encoding").is_some() {
        return None;
    }
    let length = match request.header("content-length") {
        Some(length) => length.parse().ok()?,
        None => 0,
    };
    request.body = vec![0u8; length];
    reader.read_exact(&mut request.body).ok()?;
    Some(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keep_alive_requests_one_after_another() {
        let wire = b"POST /a HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\ncontent-length: 2\r\n\r\n{}\
                     GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut reader = &wire[..];
        let first = read_request(&mut reader).unwrap();
        assert_eq!(first.path, "/a");
        assert_eq!(
            first.header("x-amz-target"),
            Some("DynamoDB_20120810.GetItem")
        );
        assert_eq!(first.body, b"{}");
        assert!(first.head.ends_with(b"\r\n\r\n"));
        let second = read_request(&mut reader).unwrap();
        assert_eq!((second.path.as_str(), second.body.len()), ("/b", 0));
        assert!(read_request(&mut reader).is_none());
    }

    #[test]
    fn chunked_and_truncated_requests_end_the_connection() {
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
        assert!(read_request(&mut &chunked[..]).is_none());
        let truncated = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}";
        assert!(read_request(&mut &truncated[..]).is_none());
    }
}
