//! A local AWS Lambda Runtime API (the documented `/2018-06-01/runtime/...`
//! endpoints): the test queues events, the function under test polls
//! `invocation/next` for them and posts its `response` or `error`, which the
//! test reads back. One request per connection (`Connection: close`).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the function answered to one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST .../response`: the answer.
    Response(serde_json::Value),
    /// `POST .../error`: the error document.
    Error(serde_json::Value),
}

#[derive(Default)]
struct State {
    events: VecDeque<(String, String)>,
    outcomes: HashMap<String, Outcome>,
    init_error: Option<String>,
}

/// A running Runtime API.
pub struct RuntimeApi {
    pub port: u16,
    state: Arc<(Mutex<State>, Condvar)>,
    next_id: Mutex<u64>,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &shared);
                });
            }
        });
        RuntimeApi { port, state, next_id: Mutex::new(0) }
    }

    /// `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Queues an event; its request id.
    pub fn invoke(&self, event: &serde_json::Value) -> String {
        let mut n = self.next_id.lock().unwrap();
        *n += 1;
        let id = format!("request-{n}");
        let (lock, cvar) = &*self.state;
        lock.lock().unwrap().events.push_back((id.clone(), event.to_string()));
        cvar.notify_all();
        id
    }

    /// Waits for the outcome of request `id`.
    pub fn outcome(&self, id: &str, timeout: Duration) -> Outcome {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.state;
        let mut state = lock.lock().unwrap();
        loop {
            if let Some(o) = state.outcomes.get(id) {
                return o.clone();
            }
            if let Some(e) = &state.init_error {
                panic!("the function failed to start: {e}");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no answer to {id} within {timeout:?}");
            state = cvar.wait_timeout(state, left).unwrap().0;
        }
    }
}

fn serve(conn: TcpStream, shared: &Arc<(Mutex<State>, Condvar)>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let (lock, cvar) = &**shared;
    let reply = |mut conn: &TcpStream, status: &str, headers: &str, body: &str| {
        write!(
            conn,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
            body.len()
        )
    };
    let base = "/2018-06-01/runtime/";
    let route = path.strip_prefix(base).unwrap_or_default();
    match (method.as_str(), route) {
        ("GET", "invocation/next") => {
            let mut state = lock.lock().unwrap();
            let (id, event) = loop {
                if let Some(e) = state.events.pop_front() {
                    break e;
                }
                state = cvar.wait(state).unwrap();
            };
            drop(state);
            let deadline =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 900_000;
            let headers = format!(
                "Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:tally\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n"
            );
            reply(&conn, "200 OK", &headers, &event)
        }
        ("POST", "init/error") => {
            lock.lock().unwrap().init_error = Some(String::from_utf8_lossy(&body).into_owned());
            cvar.notify_all();
            reply(&conn, "202 Accepted", "", "{}")
        }
        ("POST", r) if r.starts_with("invocation/") => {
            let rest = &r["invocation/".len()..];
            let (id, kind) = rest.rsplit_once('/').unwrap_or((rest, ""));
            let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            let outcome = if kind == "response" { Outcome::Response(value) } else { Outcome::Error(value) };
            lock.lock().unwrap().outcomes.insert(id.to_string(), outcome);
            cvar.notify_all();
            reply(&conn, "202 Accepted", "", "{}")
        }
        _ => reply(&conn, "404 Not Found", "", "{}"),
    }
}
