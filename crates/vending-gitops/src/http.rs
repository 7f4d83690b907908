//! git's smart HTTP protocol for libgit2, over the AWS SDK's HTTP client (hyper, with rustls on
//! `ring` and the system's trusted roots): what `https://` and `http://` remotes go through.
//!
//! Why by hand: libgit2's own HTTPS needs OpenSSL, which (with libssh2, which needs it too)
//! was more than a third of the hand-off bootstrap; `git2-curl` brings libcurl and OpenSSL;
//! no crate gives libgit2 a rustls transport. The smart protocol itself stays libgit2's: this
//! module only carries its requests, one HTTP exchange per [`Service`]
//! (<https://git-scm.com/docs/http-protocol>), and answers the server's 401 with the
//! configured basic credentials.
//!
//! libgit2 finds transports by URL scheme in a process-wide table, and its factories see only
//! the remote. So the writer opens a [`Session`] (its connector and credentials) on its thread
//! for the time of its git calls, and the factory, which libgit2 calls on that same thread,
//! takes the session from there.

use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_http_client::{Connector, tls};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use git2::{Error, ErrorClass, ErrorCode};
use http_body_util::BodyExt;
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::runtime::Handle;

/// How many redirects the first request of a connection follows (as git does, only there).
const MAX_REDIRECTS: usize = 5;

/// What the remote is asked for, and what it must answer with.
struct Exchange {
    /// Appended to the repository URL.
    path: &'static str,
    /// POST carries the smart protocol's request; GET only lists the references, and is the
    /// one request that follows redirects.
    post: bool,
    /// The request's content type (POST).
    request_type: &'static str,
    /// The content type a smart server answers with: anything else (a dumb server, a login
    /// page) is refused.
    response_type: &'static str,
}

fn exchange(service: Service) -> Exchange {
    match service {
        Service::UploadPackLs => Exchange {
            path: "/info/refs?service=git-upload-pack",
            post: false,
            request_type: "",
            response_type: "application/x-git-upload-pack-advertisement",
        },
        Service::UploadPack => Exchange {
            path: "/git-upload-pack",
            post: true,
            request_type: "application/x-git-upload-pack-request",
            response_type: "application/x-git-upload-pack-result",
        },
        Service::ReceivePackLs => Exchange {
            path: "/info/refs?service=git-receive-pack",
            post: false,
            request_type: "",
            response_type: "application/x-git-receive-pack-advertisement",
        },
        Service::ReceivePack => Exchange {
            path: "/git-receive-pack",
            post: true,
            request_type: "application/x-git-receive-pack-request",
            response_type: "application/x-git-receive-pack-result",
        },
    }
}

/// One writer's HTTP side: the connection pool and the credentials it answers a 401 with.
pub(crate) struct Client {
    connector: Connector,
    /// `Basic ...`, from the configured username and password.
    authorization: Option<String>,
}

impl Client {
    /// A client with the SDK's timeouts for connecting, and a generous one between bytes
    /// (a server may think a while before it answers a push).
    pub(crate) fn new(basic: Option<(&str, &str)>) -> Client {
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(Duration::from_millis(3100))
            .read_timeout(Duration::from_secs(60))
            .build();
        let connector = Connector::builder()
            .connector_settings(settings)
            .sleep_impl(TokioSleep::new())
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build();
        let authorization = basic.map(|(user, password)| {
            let pair = format!("{user}:{password}");
            format!(
                "Basic {}",
                aws_smithy_types::base64::encode(pair.as_bytes())
            )
        });
        Client {
            connector,
            authorization,
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("credentials", &self.authorization.is_some())
            .finish_non_exhaustive()
    }
}

/// A client and the runtime its requests run on, for the git calls of one thread.
#[derive(Clone)]
struct Session {
    client: Arc<Client>,
    runtime: Handle,
}

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
    /// The last failure of a request, kept whole: libgit2 reports a failed read as a network
    /// error, which would turn a refused credential into something worth retrying.
    static FAILURE: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// The failure behind the error libgit2 just returned, when a request of this thread failed.
pub(crate) fn take_failure() -> Option<Error> {
    FAILURE.with(|f| f.borrow_mut().take())
}

/// Runs `work` (libgit2 calls, on a blocking thread of `runtime`) with `client` as the HTTP
/// side of every `http://` and `https://` remote it opens.
pub(crate) fn with_client<T>(
    client: &Arc<Client>,
    runtime: &Handle,
    work: impl FnOnce() -> T,
) -> T {
    struct Restore(Option<Session>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SESSION.with(|s| *s.borrow_mut() = previous);
        }
    }
    let session = Session {
        client: client.clone(),
        runtime: runtime.clone(),
    };
    let _restore = Restore(SESSION.with(|s| s.borrow_mut().replace(session)));
    take_failure();
    work()
}

/// Makes libgit2 reach `http://` and `https://` remotes through this module. Idempotent;
/// every writer calls it before its first remote operation, so the registration (which
/// libgit2 does not synchronize with transport creation) has happened before any of them.
pub(crate) fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            for scheme in ["http", "https"] {
                // SAFETY: libgit2 does not lock its transport table, so registering must not
                // overlap the creation of a transport. This runs once, inside `get_or_init`,
                // and every writer calls `register` (and so waits for it) before it opens a
                // remote; nothing else in the workspace opens remotes.
                #[allow(unsafe_code)]
                unsafe { git2::transport::register(scheme, factory) }.map_err(|e| {
                    format!("registering the {scheme} git transport: {}", e.message())
                })?;
            }
            Ok(())
        })
        .clone()
}

fn factory(remote: &git2::Remote<'_>) -> Result<Transport, Error> {
    let session = SESSION.with(|s| s.borrow().clone()).ok_or_else(|| {
        Error::new(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "HTTP remotes are reached only through a GitRepository writer",
        )
    })?;
    Transport::smart(
        remote,
        true,
        Subtransport {
            session,
            base: Arc::default(),
            authorize: Arc::new(AtomicBool::new(false)),
        },
    )
}

struct Subtransport {
    session: Session,
    /// The repository URL after the redirects of the first request, which every later
    /// request of the connection goes to.
    base: Arc<Mutex<Option<String>>>,
    /// Set once the remote asked for the credentials: later requests carry them at once.
    authorize: Arc<AtomicBool>,
}

impl SmartSubtransport for Subtransport {
    fn action(
        &self,
        url: &str,
        service: Service,
    ) -> Result<Box<dyn SmartSubtransportStream>, Error> {
        let mut base = self
            .base
            .lock()
            .map_err(|_| http_error("the transport's state is poisoned"))?;
        let listing = matches!(service, Service::UploadPackLs | Service::ReceivePackLs);
        if listing || base.is_none() {
            *base = Some(url.trim_end_matches('/').to_owned());
        }
        Ok(Box::new(Stream {
            session: self.session.clone(),
            base: base.clone().unwrap_or_default(),
            moved: self.base.clone(),
            exchange: exchange(service),
            authorize: self.authorize.clone(),
            request: Vec::new(),
            response: None,
            pending: Bytes::new(),
        }))
    }

    fn close(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// One request and its response: written to (POST bodies), then read from. The request goes
/// out at the first read.
struct Stream {
    session: Session,
    base: String,
    /// The connection's repository URL, which a redirect of the listing moves.
    moved: Arc<Mutex<Option<String>>>,
    exchange: Exchange,
    authorize: Arc<AtomicBool>,
    request: Vec<u8>,
    response: Option<SdkBody>,
    pending: Bytes,
}

impl Stream {
    fn send(&mut self) -> Result<SdkBody, Error> {
        let client = &self.session.client;
        let body = Bytes::from(std::mem::take(&mut self.request));
        let mut url = format!("{}{}", self.base, self.exchange.path);
        let mut authorize = self.authorize.load(Ordering::Relaxed);
        let mut redirects = 0;
        loop {
            let request = self.request(&url, &body, authorize)?;
            let response: HttpResponse = self
                .session
                .runtime
                .block_on(client.connector.call(request))
                .map_err(|e| {
                    let kind = if e.is_timeout() {
                        "timed out"
                    } else {
                        "failed"
                    };
                    Error::new(
                        ErrorCode::GenericError,
                        ErrorClass::Net,
                        format!(
                            "the request to {} {kind}: {}",
                            redact(&url),
                            vending_domain::error::source_chain(&e)
                        ),
                    )
                })?;
            let status = response.status().as_u16();
            match status {
                200 => {
                    let kind = response.headers().get("content-type").unwrap_or("");
                    if !kind.starts_with(self.exchange.response_type) {
                        return Err(Error::new(
                            ErrorCode::GenericError,
                            ErrorClass::Invalid,
                            format!(
                                "{} answered with '{kind}', not git's smart HTTP protocol",
                                redact(&url)
                            ),
                        ));
                    }
                    self.authorize.store(authorize, Ordering::Relaxed);
                    if redirects > 0
                        && let (Some(base), Ok(mut moved)) =
                            (url.strip_suffix(self.exchange.path), self.moved.lock())
                    {
                        *moved = Some(base.to_owned());
                    }
                    return Ok(response.into_body());
                }
                401 if !authorize => match &client.authorization {
                    Some(_) => authorize = true,
                    None => {
                        return Err(auth_error(
                            "the remote asks for credentials that the config does not provide",
                        ));
                    }
                },
                401 | 403 => return Err(auth_error("the remote refused the credentials")),
                301 | 302 | 303 | 307 | 308 if !self.exchange.post && redirects < MAX_REDIRECTS => {
                    let location = response.headers().get("location").unwrap_or("");
                    let Some(next) = redirect_base(&url, location, self.exchange.path) else {
                        return Err(http_error(&format!(
                            "{} redirected to '{location}', which is not the same service",
                            redact(&url)
                        )));
                    };
                    redirects += 1;
                    url = format!("{next}{}", self.exchange.path);
                }
                404 => {
                    return Err(Error::new(
                        ErrorCode::NotFound,
                        ErrorClass::Invalid,
                        format!("there is no repository at {}", redact(&self.base)),
                    ));
                }
                _ => {
                    let class = if status == 429 || status >= 500 {
                        ErrorClass::Http
                    } else {
                        ErrorClass::Invalid
                    };
                    return Err(Error::new(
                        ErrorCode::GenericError,
                        class,
                        format!("{} answered HTTP {status}", redact(&url)),
                    ));
                }
            }
        }
    }

    fn request(&self, url: &str, body: &Bytes, authorize: bool) -> Result<HttpRequest, Error> {
        let mut request = HttpRequest::new(if self.exchange.post {
            SdkBody::from(body.clone())
        } else {
            SdkBody::empty()
        });
        request
            .set_uri(url)
            .map_err(|e| http_error(&format!("'{}' is not a valid URL: {e}", redact(url))))?;
        let headers = request.headers_mut();
        // Servers that speak smart HTTP only to git clients look for this prefix.
        headers.insert("user-agent", "git/2.0 (tenant-vending)");
        headers.insert("pragma", "no-cache");
        if self.exchange.post {
            request
                .set_method("POST")
                .map_err(|e| http_error(&e.to_string()))?;
            let headers = request.headers_mut();
            headers.insert("content-type", self.exchange.request_type);
            headers.insert("accept", self.exchange.response_type);
            headers.insert("content-length", body.len().to_string());
        }
        if authorize && let Some(value) = &self.session.client.authorization {
            request.headers_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.response.is_none() {
            match self.send() {
                Ok(body) => self.response = Some(body),
                Err(e) => {
                    let text = e.message().to_owned();
                    FAILURE.with(|f| *f.borrow_mut() = Some(e));
                    return Err(io::Error::other(text));
                }
            }
        }
        while self.pending.is_empty() {
            let Some(body) = self.response.as_mut() else {
                return Ok(0);
            };
            match self.session.runtime.block_on(body.frame()) {
                None => return Ok(0),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.pending = data;
                    }
                }
                Some(Err(e)) => {
                    return Err(io::Error::other(format!(
                        "reading the answer of {}: {e}",
                        redact(&self.base)
                    )));
                }
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending.split_to(n));
        Ok(n)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.response.is_some() {
            return Err(io::Error::other(
                "git wrote to an HTTP request already sent",
            ));
        }
        self.request.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The repository URL a redirect of `url` (which ends with `path`) leads to, when the
/// location keeps the same service path (git refuses anything else, and so do we).
fn redirect_base(url: &str, location: &str, path: &str) -> Option<String> {
    let absolute = if location.starts_with("https://") || location.starts_with("http://") {
        location.to_owned()
    } else if location.starts_with('/') {
        let scheme_end = url.find("://")? + 3;
        let host_end = url[scheme_end..]
            .find('/')
            .map_or(url.len(), |i| scheme_end + i);
        format!("{}{location}", &url[..host_end])
    } else {
        return None;
    };
    // An https remote is not sent on to plain http.
    if url.starts_with("https://") && !absolute.starts_with("https://") {
        return None;
    }
    absolute.strip_suffix(path).map(str::to_owned)
}

/// `url` without any `user:password@` in it, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s && !url[s + 3..at].contains('/') => {
            format!("{}{}", &url[..s + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn http_error(message: &str) -> Error {
    Error::new(ErrorCode::GenericError, ErrorClass::Http, message)
}

fn auth_error(message: &str) -> Error {
    Error::new(ErrorCode::Auth, ErrorClass::Http, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_the_service_and_never_leave_https() {
        let path = "/info/refs?service=git-upload-pack";
        let url = format!("https://git.example.com/acme/tenants{path}");
        assert_eq!(
            redirect_base(
                &url,
                &format!("https://git.example.com/acme/tenants.git{path}"),
                path
            ),
            Some("https://git.example.com/acme/tenants.git".into())
        );
        assert_eq!(
            redirect_base(&url, &format!("/other/tenants.git{path}"), path),
            Some("https://git.example.com/other/tenants.git".into())
        );
        assert_eq!(
            redirect_base(&url, &format!("http://git.example.com/x{path}"), path),
            None
        );
        assert_eq!(
            redirect_base(&url, "https://login.example.com/", path),
            None
        );
        assert_eq!(redirect_base(&url, "relative", path), None);
    }

    #[test]
    fn credentials_in_a_url_stay_out_of_messages() {
        assert_eq!(
            redact("https://bot:t0ken@git.example.com/a.git"),
            "https://git.example.com/a.git"
        );
        assert_eq!(
            redact("https://git.example.com/a@b.git"),
            "https://git.example.com/a@b.git"
        );
    }
}
