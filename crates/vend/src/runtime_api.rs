//! A local Lambda Runtime API: runs a built `bootstrap` as Lambda does (its own process, events
//! handed out on `GET /next`, answers taken on `POST .../response` or `.../error`) and measures
//! its cold start: the time from process start to its first `/next` (init), and how long each
//! invocation takes.
//!
//! Written by hand because no crate serves the Runtime API as a library: `cargo lambda watch`
//! does, but as a whole development server that builds and runs the functions itself, with no
//! way to time a given binary's init or read its memory.

use asl_executor::TaskError;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};

/// What an invocation came back with.
type Answer = Result<Value, TaskError>;

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Value)>,
    waiting: HashMap<String, oneshot::Sender<Answer>>,
    first_next: Option<Instant>,
    init_error: Option<String>,
    invocations: Vec<Duration>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One function: its process and the Runtime API it talks to.
pub struct Bootstrap {
    name: String,
    state: Arc<Mutex<State>>,
    ready: Arc<Notify>,
    /// The process, waited on while an invocation is out: a function that dies (a panic at
    /// init, say) fails its invocation instead of leaving it waiting forever.
    child: tokio::sync::Mutex<tokio::process::Child>,
    pid: Option<u32>,
    started: Instant,
    next_id: Mutex<u64>,
}

/// A function's cold-start figures.
#[derive(Debug, Clone)]
pub struct ColdStart {
    /// The function.
    pub name: String,
    /// Process start to its first `/next`.
    pub init: Option<Duration>,
    /// The first invocation, event handed out to answer received.
    pub first_invocation: Option<Duration>,
    /// How many invocations it served.
    pub invocations: usize,
    /// Peak resident memory (`VmHWM`), in bytes.
    pub peak_rss: Option<u64>,
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some((method, path, body))
}

async fn respond(
    stream: &mut BufReader<TcpStream>,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> bool {
    let mut head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let s = stream.get_mut();
    s.write_all(head.as_bytes()).await.is_ok() && s.write_all(body).await.is_ok()
}

async fn serve(
    stream: TcpStream,
    state: Arc<Mutex<State>>,
    ready: Arc<Notify>,
    function_arn: String,
) {
    let mut stream = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut stream).await {
        let path = path.trim_start_matches("/2018-06-01/runtime/");
        if method == "GET" && path == "invocation/next" {
            let (id, event) = loop {
                let notified = ready.notified();
                {
                    let mut st = lock(&state);
                    st.first_next.get_or_insert_with(Instant::now);
                    if let Some(item) = st.queue.pop_front() {
                        break item;
                    }
                }
                notified.await;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
                + 300_000;
            let headers = [
                ("lambda-runtime-aws-request-id", id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                ("lambda-runtime-invoked-function-arn", function_arn.clone()),
                (
                    "lambda-runtime-trace-id",
                    format!("Root=1-00000000-{id:0>24}"),
                ),
            ];
            if !respond(
                &mut stream,
                "200 OK",
                &headers,
                event.to_string().as_bytes(),
            )
            .await
            {
                return;
            }
        } else if method == "POST" && path == "init/error" {
            lock(&state).init_error = Some(String::from_utf8_lossy(&body).into_owned());
            respond(&mut stream, "202 Accepted", &[], b"{}").await;
        } else if method == "POST" && path.starts_with("invocation/") {
            let mut parts = path.split('/');
            let id = parts.nth(1).unwrap_or_default().to_owned();
            let answer = if parts.next() == Some("response") {
                serde_json::from_slice(&body)
                    .map_err(|e| TaskError::new("Runtime.InvalidResponse", e.to_string()))
            } else {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                Err(TaskError::new(
                    v["errorType"].as_str().unwrap_or("Runtime.Unknown"),
                    v["errorMessage"].as_str().unwrap_or_default(),
                ))
            };
            if let Some(tx) = lock(&state).waiting.remove(&id) {
                let _ = tx.send(answer);
            }
            if !respond(&mut stream, "202 Accepted", &[], b"{}").await {
                return;
            }
        } else {
            respond(&mut stream, "404 Not Found", &[], b"{}").await;
        }
    }
}

impl std::fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrap")
            .field("name", &self.name)
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl Bootstrap {
    /// Starts `binary` with `env` against a fresh Runtime API on a loopback port, and waits
    /// (up to 30 s) until it asks for its first event. Its output goes to `log`.
    pub async fn start(
        name: &str,
        binary: &Path,
        env: &[(String, String)],
        log: &Path,
    ) -> std::io::Result<Bootstrap> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let ready = Arc::new(Notify::new());
        let arn = format!("arn:aws:lambda:eu-west-1:000000000000:function:{name}");
        {
            let (state, ready) = (state.clone(), ready.clone());
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, state.clone(), ready.clone(), arn.clone()));
                }
            });
        }
        let out = std::fs::File::create(log)?;
        let started = Instant::now();
        let child = tokio::process::Command::new(binary)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true)
            .spawn()?;
        let b = Bootstrap {
            name: name.to_owned(),
            state,
            ready,
            pid: child.id(),
            child: tokio::sync::Mutex::new(child),
            started,
            next_id: Mutex::new(0),
        };
        for _ in 0..3000 {
            {
                let st = lock(&b.state);
                if st.first_next.is_some() || st.init_error.is_some() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(b)
    }

    /// Hands `payload` to the function and waits for its answer.
    pub async fn invoke(&self, payload: Value) -> Answer {
        let id = {
            let mut n = self
                .next_id
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *n += 1;
            format!("{:08x}-{}", *n, self.name.len())
        };
        let (tx, rx) = oneshot::channel();
        {
            let mut st = lock(&self.state);
            if let Some(e) = &st.init_error {
                return Err(TaskError::new("Runtime.InitError", e.clone()));
            }
            st.waiting.insert(id.clone(), tx);
            st.queue.push_back((id, payload));
        }
        let started = Instant::now();
        // One consumer per function (Lambda hands a process one event at a time), so a stored
        // permit is never lost between its check of the queue and its wait.
        self.ready.notify_one();
        let exited = async {
            let status = self.child.lock().await.wait().await;
            let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            format!("the function's process ended ({status}) without answering")
        };
        let answer = tokio::select! {
            answer = rx => answer.unwrap_or_else(|_| {
                Err(TaskError::new("Runtime.ExitError", "the function never answered"))
            }),
            cause = exited => Err(TaskError::new("Runtime.ExitError", cause)),
        };
        lock(&self.state).invocations.push(started.elapsed());
        answer
    }

    /// The figures so far.
    pub fn figures(&self) -> ColdStart {
        let st = lock(&self.state);
        let peak_rss = self.pid.and_then(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        });
        ColdStart {
            name: self.name.clone(),
            init: st.first_next.map(|t| t - self.started),
            first_invocation: st.invocations.first().copied(),
            invocations: st.invocations.len(),
            peak_rss,
        }
    }
}
