//! A fault-injecting HTTP proxy in front of the emulator: it forwards each
//! request (one per connection) and, as its policy says, answers DynamoDB
//! scans with throttling or server errors, refuses S3 uploads, or calls a
//! hook after a number of scans (to stop the emulator mid-scan).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the proxy does to requests.
#[derive(Default)]
pub struct Policy {
    /// Fail this many scans out of every three (0..=2) with 400 throttling / 500.
    pub throttle_scans: u64,
    /// Refuse every S3 PUT with 403 AccessDenied.
    pub refuse_puts: bool,
    /// After this many successful scans, call `hook` (once).
    pub after_scans: Option<(u64, Box<dyn FnOnce() + Send>)>,
}

/// A running proxy.
pub struct Proxy {
    pub port: u16,
    pub scans: Arc<AtomicU64>,
    /// S3 `UploadPart` requests forwarded.
    pub upload_parts: Arc<AtomicU64>,
    pub injected: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: u16, policy: Policy) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let scans = Arc::new(AtomicU64::new(0));
        let upload_parts = Arc::new(AtomicU64::new(0));
        let injected = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let policy = Arc::new(Mutex::new(policy));
        let (s, i, st, u) = (scans.clone(), injected.clone(), stop.clone(), upload_parts.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (policy, s, i, u) = (policy.clone(), s.clone(), i.clone(), u.clone());
                std::thread::spawn(move || {
                    let _ = handle(conn, upstream, &policy, &s, &i, &u);
                });
            }
        });
        Proxy { port, scans, upload_parts, injected, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One request: what it is (`POST DynamoDB_20120810.Scan`), its head (with
/// `Connection: close`) and its raw body.
type Request = (String, Vec<u8>, Vec<u8>);

/// Reads one request.
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    let mut first = String::new();
    let (mut length, mut chunked) = (0usize, false);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if first.is_empty() {
            first = line.clone();
            head.extend_from_slice(line.as_bytes());
            continue;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        if lower.starts_with("connection:") {
            continue;
        }
        headers.push(line.clone());
        head.extend_from_slice(line.as_bytes());
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            body.extend_from_slice(size_line.as_bytes());
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    let mut t = String::new();
                    reader.read_line(&mut t)?;
                    body.extend_from_slice(t.as_bytes());
                    if t == "\r\n" || t.is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    let target = headers.iter().find_map(|h| {
        let lower = h.to_ascii_lowercase();
        lower.starts_with("x-amz-target:").then(|| h.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    let mut line = first.split_whitespace();
    let (method, path) = (line.next().unwrap_or(""), line.next().unwrap_or(""));
    let kind = format!("{method} {path} {}", target.unwrap_or_default());
    Ok(Some((kind, head, body)))
}

fn respond(mut conn: TcpStream, status: &str, content_type: &str, body: &str) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn handle(
    conn: TcpStream,
    upstream: u16,
    policy: &Mutex<Policy>,
    scans: &AtomicU64,
    injected: &AtomicU64,
    upload_parts: &AtomicU64,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let Some((kind, head, body)) = read_request(&mut reader)? else { return Ok(()) };
    let is_scan = kind.ends_with("DynamoDB_20120810.Scan");
    let is_put = kind.starts_with("PUT ") && !kind.contains("DynamoDB");
    {
        let mut p = policy.lock().unwrap();
        if is_scan && p.throttle_scans > 0 {
            let n = injected.load(Ordering::SeqCst) + scans.load(Ordering::SeqCst);
            if n % 3 < p.throttle_scans {
                injected.fetch_add(1, Ordering::SeqCst);
                return if n % 2 == 0 {
                    respond(
                        conn,
                        "400 Bad Request",
                        "application/x-amz-json-1.0",
                        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
                    )
                } else {
                    respond(
                        conn,
                        "500 Internal Server Error",
                        "application/x-amz-json-1.0",
                        r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#,
                    )
                };
            }
        }
        if is_put && p.refuse_puts {
            injected.fetch_add(1, Ordering::SeqCst);
            return respond(
                conn,
                "403 Forbidden",
                "application/xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            );
        }
        if is_scan {
            let done = scans.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some((after, _)) = &p.after_scans {
                if done > *after {
                    if let Some((_, hook)) = p.after_scans.take() {
                        hook();
                    }
                }
            }
        }
    }
    if is_put && kind.contains("partNumber=") {
        upload_parts.fetch_add(1, Ordering::SeqCst);
    }
    let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
        // The emulator is gone: drop the connection, as a dead host would.
        return Ok(());
    };
    up.write_all(&head)?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let mut conn = conn;
    conn.write_all(&response)
}
