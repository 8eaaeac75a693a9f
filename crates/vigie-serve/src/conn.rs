//! The accept loop: keeps the HTTP listener bounded under hostile clients.
//!
//! `axum::serve` has neither timeouts nor a connection limit, so a client that opens a socket
//! and trickles its headers (slowloris), or never reads its response, would hold a task, a
//! file descriptor and buffers for ever. Here each connection needs a permit (at most
//! `max_connections` at once: further ones wait unaccepted in the kernel's listen backlog,
//! costing this process nothing), and a watchdog closes a connection whose current phase
//! lasts too long:
//!
//! - idle (waiting for a request, nothing received yet): `idle_timeout`;
//! - head (the first bytes of a request received): `header_timeout`, counted from the first
//!   byte, however slowly the rest trickles in;
//! - request (a handler runs): the handler is cut at `request_timeout` and answered 503.
//!
//! Writing a response counts as idle, so a client that stops reading it is also dropped
//! after `idle_timeout`.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Largest read or write buffer of a connection. A scrape request is a few hundred bytes;
/// hyper answers 431 to a request head that does not fit, and memory per connection stays
/// small whatever a client sends.
const MAX_BUF_SIZE: usize = 64 * 1024;

/// Timeouts and the connection cap of the HTTP listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time a client has to send a whole request head, from its first byte.
    pub header_timeout: Duration,
    /// Time a connection may stay with no request in flight: waiting for the next request
    /// (keep-alive), or writing a response the client does not read.
    pub idle_timeout: Duration,
    /// Time a handler may take; it is then answered 503.
    pub request_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub max_connections: u32,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

impl HttpLimits {
    /// Why these limits cannot work, if they cannot (a zero would refuse every client).
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.max_connections == 0 {
            Some("the connection cap must be at least 1")
        } else if [self.header_timeout, self.idle_timeout, self.request_timeout]
            .contains(&Duration::ZERO)
        {
            Some("timeouts must be longer than zero")
        } else {
            None
        }
    }

    /// The longest a connection can last once told to shut down.
    fn drain_time(&self) -> Duration {
        self.header_timeout
            .max(self.idle_timeout)
            .max(self.request_timeout)
    }
}

/// Where a connection is in its request cycle, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle(Instant),
    Head(Instant),
    Request,
}

impl Phase {
    /// When a connection still in this phase is closed. None while a handler runs: the
    /// handler has its own timeout, after which the phase changes.
    fn deadline(self, limits: &HttpLimits) -> Option<Instant> {
        match self {
            Phase::Idle(since) => since.checked_add(limits.idle_timeout),
            Phase::Head(since) => since.checked_add(limits.header_timeout),
            Phase::Request => None,
        }
    }
}

/// The phase of one connection, updated by its socket and its service, watched by its
/// watchdog (a `watch` channel wakes the watchdog at each change).
#[derive(Clone)]
struct Tracker(watch::Sender<Phase>);

impl Tracker {
    fn new() -> Self {
        Tracker(watch::Sender::new(Phase::Idle(Instant::now())))
    }

    /// Bytes arrived: an idle connection starts a request head (and its timer). In other
    /// phases the bytes belong to the request under way, or are pipelined after it.
    fn bytes_received(&self) {
        self.0.send_if_modified(|phase| match phase {
            Phase::Idle(_) => {
                *phase = Phase::Head(Instant::now());
                true
            }
            Phase::Head(_) | Phase::Request => false,
        });
    }

    fn request_started(&self) {
        self.0.send_replace(Phase::Request);
    }

    fn request_finished(&self) {
        self.0.send_replace(Phase::Idle(Instant::now()));
    }

    /// Resolves when the connection has stayed in one phase past that phase's deadline.
    async fn expired(&self, limits: HttpLimits) {
        let mut phase = self.0.subscribe();
        loop {
            let deadline = phase.borrow_and_update().deadline(&limits);
            let sleep = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => return,
                changed = phase.changed() => {
                    // Unreachable while `self` holds the sender; were it gone, nothing could
                    // ever end the phase.
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// A TCP stream that reports incoming bytes to the connection's tracker.
struct Watched {
    stream: TcpStream,
    tracker: Tracker,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.tracker.bytes_received();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

fn timed_out() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONNECTION, "close")],
        "request timed out\n",
    )
        .into_response()
}

/// The router as a hyper service that marks the request phase and cuts slow handlers.
fn tracked_service(
    router: Router,
    tracker: Tracker,
    request_timeout: Duration,
) -> impl Service<Request<Incoming>, Response = Response, Error = Infallible, Future: Send> {
    let router = TowerToHyperService::new(router);
    service_fn(move |request: Request<Incoming>| {
        tracker.request_started();
        let handler = router.call(request);
        let tracker = tracker.clone();
        async move {
            let response = match tokio::time::timeout(request_timeout, handler).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_elapsed) => timed_out(),
            };
            tracker.request_finished();
            Ok::<_, Infallible>(response)
        }
    })
}

/// Serves one connection until it ends, stalls past its phase's deadline, or (after a
/// shutdown request) finishes the request under way. The permit is released on return.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: HttpLimits,
    shutdown: CancellationToken,
    _permit: OwnedSemaphorePermit,
) {
    let tracker = Tracker::new();
    let io = TokioIo::new(Watched {
        stream,
        tracker: tracker.clone(),
    });
    let service = tracked_service(router, tracker.clone(), limits.request_timeout);
    // hyper's own header timer would start as soon as a connection waits for a request, so
    // it would also close idle keep-alive connections early; the watchdog times both.
    let connection = http1::Builder::new()
        .header_read_timeout(None)
        .max_buf_size(MAX_BUF_SIZE)
        .serve_connection(io, service);
    let expired = tracker.expired(limits);
    tokio::pin!(connection, expired);
    let mut draining = false;
    loop {
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(e) = ended {
                    debug!(%peer, "connection ended: {e}");
                }
                return;
            }
            () = &mut expired => {
                debug!(%peer, "closing a connection that stalled past its timeout");
                return;
            }
            () = shutdown.cancelled(), if !draining => {
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}

/// Whether an accept error concerns only the connection being accepted (the peer gave up).
fn peer_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}

/// Accepts connections within `limits` until `shutdown` is cancelled, then lets the open
/// ones finish (idle ones close at once), waiting at most as long as the longest timeout.
pub(crate) async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections as usize));
    loop {
        // The permit comes before `accept`: at the cap, new connections stay in the backlog.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(serve_connection(
                    stream,
                    peer,
                    router.clone(),
                    limits,
                    shutdown.clone(),
                    permit,
                ));
            }
            Err(e) if peer_error(&e) => debug!("accept: {e}"),
            Err(e) => {
                // Out of file descriptors, most likely: pause instead of spinning.
                warn!("cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    drop(listener);
    let all = permits.acquire_many(limits.max_connections);
    if tokio::time::timeout(limits.drain_time(), all)
        .await
        .is_err()
    {
        warn!("connections still open at shutdown are dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::task::JoinHandle;

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

    fn limits(header_ms: u64, idle_ms: u64, request_ms: u64, max: u32) -> HttpLimits {
        HttpLimits {
            header_timeout: Duration::from_millis(header_ms),
            idle_timeout: Duration::from_millis(idle_ms),
            request_timeout: Duration::from_millis(request_ms),
            max_connections: max,
        }
    }

    /// A real listener on an ephemeral loopback port, serving `/` ("ok") and `/slow`.
    async fn start(limits: HttpLimits) -> (SocketAddr, CancellationToken, JoinHandle<()>) {
        let router = Router::new().route("/", get(|| async { "ok" })).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve_connections(
            listener,
            router,
            limits,
            shutdown.clone(),
        ));
        (address, shutdown, task)
    }

    /// Reads until the server closes the connection; None if it is still open after `wait`.
    async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
        let mut received = Vec::new();
        let read = async {
            let mut chunk = [0u8; 1024];
            loop {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => received.extend_from_slice(&chunk[..n]),
                }
            }
        };
        tokio::time::timeout(wait, read).await.ok()?;
        Some(received)
    }

    /// Sends one keep-alive request and reads its whole (small) response.
    async fn exchange(stream: &mut TcpStream, wait: Duration) -> Option<String> {
        stream.write_all(REQUEST).await.ok()?;
        response(stream, wait).await
    }

    /// Reads one response to `REQUEST` (body "ok"); None if none comes within `wait`.
    async fn response(stream: &mut TcpStream, wait: Duration) -> Option<String> {
        let mut received = Vec::new();
        let read = async {
            let mut chunk = [0u8; 1024];
            while !received.ends_with(b"\r\n\r\nok") {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&chunk[..n]),
                }
            }
        };
        tokio::time::timeout(wait, read).await.ok()?;
        Some(String::from_utf8_lossy(&received).into_owned())
    }

    #[tokio::test]
    async fn a_client_that_stalls_in_its_request_line_is_disconnected_at_the_header_timeout() {
        let (address, _shutdown, _task) = start(limits(300, 5_000, 5_000, 8)).await;
        let mut client = TcpStream::connect(address).await.expect("connect");
        let start = Instant::now();
        client.write_all(b"GET /metr").await.expect("write");
        let received = closed_within(&mut client, Duration::from_secs(3))
            .await
            .expect("closed by the server");
        let after = start.elapsed();
        assert!(received.is_empty(), "no response to a partial request");
        assert!(
            after >= Duration::from_millis(250) && after < Duration::from_millis(1_500),
            "closed after {after:?}"
        );
    }

    #[tokio::test]
    async fn a_client_trickling_headers_is_disconnected_at_the_header_timeout_despite_progress() {
        let (address, _shutdown, _task) = start(limits(500, 5_000, 5_000, 8)).await;
        let mut client = TcpStream::connect(address).await.expect("connect");
        let start = Instant::now();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n")
            .await
            .expect("write");
        // One header byte every 50 ms: the connection is never silent, yet never finishes.
        let mut buf = [0u8; 64];
        let closed_at = loop {
            tokio::select! {
                read = client.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break start.elapsed(),
                    Ok(n) => panic!("unexpected response: {:?}", String::from_utf8_lossy(&buf[..n])),
                },
                () = tokio::time::sleep(Duration::from_millis(50)) => {
                    if client.write_all(b"x").await.is_err() {
                        break start.elapsed();
                    }
                }
            }
            assert!(start.elapsed() < Duration::from_secs(3), "still open");
        };
        assert!(
            closed_at >= Duration::from_millis(450) && closed_at < Duration::from_millis(1_500),
            "closed after {closed_at:?}"
        );
    }

    #[tokio::test]
    async fn an_idle_connection_outlives_the_header_timeout_and_is_closed_at_the_idle_timeout() {
        let (address, _shutdown, _task) = start(limits(200, 800, 5_000, 8)).await;
        let mut client = TcpStream::connect(address).await.expect("connect");
        // Silent since connecting: well past the header timeout, still open.
        assert!(
            closed_within(&mut client, Duration::from_millis(500))
                .await
                .is_none(),
            "an idle connection is not a slow request head"
        );
        // A request on it is served, and the connection is kept alive...
        let answer = exchange(&mut client, Duration::from_secs(2))
            .await
            .expect("answered");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // ...until it has been idle for the idle timeout.
        let start = Instant::now();
        assert!(
            closed_within(&mut client, Duration::from_secs(3))
                .await
                .is_some(),
            "idle connection closed"
        );
        let after = start.elapsed();
        assert!(
            after >= Duration::from_millis(700) && after < Duration::from_millis(1_800),
            "closed after {after:?}"
        );
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_wait_unserved_until_others_close() {
        let (address, _shutdown, _task) = start(limits(5_000, 10_000, 5_000, 2)).await;
        let wait = Duration::from_secs(2);
        let mut first = TcpStream::connect(address).await.expect("connect");
        let mut second = TcpStream::connect(address).await.expect("connect");
        assert!(exchange(&mut first, wait).await.is_some());
        assert!(exchange(&mut second, wait).await.is_some());
        // Both are kept alive: the cap is reached. Two more connect (the kernel queues
        // them) and send a request, which nobody reads.
        let mut third = TcpStream::connect(address).await.expect("connect");
        third.write_all(REQUEST).await.expect("write");
        let mut fourth = TcpStream::connect(address).await.expect("connect");
        fourth.write_all(REQUEST).await.expect("write");
        let short = Duration::from_millis(300);
        assert!(response(&mut third, short).await.is_none(), "over the cap");
        assert!(response(&mut fourth, short).await.is_none(), "over the cap");
        // One closes: one waiting connection is served, the other still waits.
        drop(first);
        let answer = response(&mut third, wait).await.expect("served");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(response(&mut fourth, short).await.is_none(), "still over");
        drop(second);
        let answer = response(&mut fourth, wait).await.expect("served");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    #[tokio::test]
    async fn a_slow_handler_is_answered_503_at_the_request_timeout() {
        let (address, _shutdown, _task) = start(limits(5_000, 5_000, 300, 8)).await;
        let mut client = TcpStream::connect(address).await.expect("connect");
        let start = Instant::now();
        client
            .write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .expect("write");
        let received = closed_within(&mut client, Duration::from_secs(3))
            .await
            .expect("answered and closed");
        let answer = String::from_utf8_lossy(&received);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(start.elapsed() < Duration::from_millis(1_500));
    }

    #[tokio::test]
    async fn shutdown_stops_accepting_and_closes_idle_connections() {
        let (address, shutdown, task) = start(limits(5_000, 10_000, 5_000, 8)).await;
        let mut client = TcpStream::connect(address).await.expect("connect");
        assert!(
            exchange(&mut client, Duration::from_secs(2))
                .await
                .is_some()
        );
        shutdown.cancel();
        assert!(
            closed_within(&mut client, Duration::from_secs(2))
                .await
                .is_some(),
            "the idle connection is closed"
        );
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("the accept loop returns")
            .expect("no panic");
        assert!(TcpStream::connect(address).await.is_err(), "not listening");
    }

    #[test]
    fn each_phase_has_its_own_deadline_and_zero_limits_are_refused() {
        let l = limits(1_000, 5_000, 3_000, 4);
        let t = Instant::now();
        assert_eq!(
            Phase::Idle(t).deadline(&l),
            Some(t + Duration::from_secs(5))
        );
        assert_eq!(
            Phase::Head(t).deadline(&l),
            Some(t + Duration::from_secs(1))
        );
        assert_eq!(Phase::Request.deadline(&l), None);
        assert_eq!(HttpLimits::default().problem(), None);
        assert!(limits(1_000, 5_000, 3_000, 0).problem().is_some());
        assert!(limits(0, 5_000, 3_000, 4).problem().is_some());
    }
}
