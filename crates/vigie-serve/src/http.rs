//! The HTTP endpoints: `/metrics` (optionally behind a bearer token), `/healthz`, `/readyz`.
//! Connections are accepted within the timeouts and cap of [`HttpLimits`] (see `conn`).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use crate::ServeError;
use crate::conn::{HttpLimits, serve_connections};
use crate::state::ServeState;

/// Listener settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to bind (127.0.0.1:9464 by default: loopback only).
    pub listen: SocketAddr,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// Timeouts and connection cap.
    pub limits: HttpLimits,
}

impl HttpOptions {
    /// Refuses settings that would leave `/metrics` open by mistake or refuse every client.
    pub fn validate(&self) -> Result<(), ServeError> {
        if let Some(token) = &self.bearer_token {
            check_bearer_token(token)?;
        }
        match self.limits.problem() {
            Some(problem) => Err(ServeError::Limits(problem)),
            None => Ok(()),
        }
    }
}

/// Why `token` cannot be a bearer token, if it cannot: it is empty (anyone sending
/// `Bearer ` would pass), or holds whitespace or a control character, which no client can
/// send as one token.
pub fn check_bearer_token(token: &str) -> Result<(), ServeError> {
    if token.is_empty() {
        Err(ServeError::BearerToken("is empty"))
    } else if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(ServeError::BearerToken(
            "contains a space, a line break or a control character",
        ))
    } else {
        Ok(())
    }
}

/// The expected token, kept as its SHA-256 digest. Comparing two fixed-size digests in
/// constant time tells a client nothing about the token's bytes or its length, which a
/// byte-by-byte comparison that stops at the first difference (or at a length mismatch)
/// would, through its timing.
#[derive(Clone)]
struct ExpectedToken([u8; 32]);

impl ExpectedToken {
    fn new(token: &str) -> Self {
        ExpectedToken(Sha256::digest(token.as_bytes()).into())
    }

    fn matches(&self, given: &[u8]) -> bool {
        let given: [u8; 32] = Sha256::digest(given).into();
        self.0.ct_eq(&given).into()
    }
}

/// The credentials of `Authorization: Bearer <token>` (the scheme is case-insensitive).
fn bearer_credentials(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, credentials) = value.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"Bearer") {
        return None;
    }
    credentials.get(1..)
}

#[derive(Clone)]
struct App {
    state: ServeState,
    token: Option<ExpectedToken>,
}

async fn metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(token) = &app.token
        && !bearer_credentials(&headers).is_some_and(|given| token.matches(given))
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "unauthorized\n",
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.state.render(),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 once the start-up refreshes were tried and while every pipeline's metrics refresh
/// works; 503 otherwise, naming the pipelines whose refresh fails (their metrics are stale).
async fn readyz(State(app): State<App>) -> Response {
    if !app.state.ready.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "loading\n").into_response();
    }
    let failing = app.state.failing_refreshes();
    if failing.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        let body = format!("metrics refresh failing: {}\n", failing.join(", "));
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

fn router(state: ServeState, token: Option<&str>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(App {
            state,
            token: token.map(ExpectedToken::new),
        })
}

/// Serves until `shutdown` is cancelled.
pub async fn serve_http(
    state: ServeState,
    options: HttpOptions,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    options.validate()?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: options.listen.to_string(),
            source,
        })?;
    tracing::info!(address = %options.listen, "serving /metrics, /healthz, /readyz");
    let app = router(state, options.bearer_token.as_deref());
    serve_connections(listener, app, options.limits, shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    const TOKEN: &str = "s3cret-Token_for.tests";

    /// The real endpoints, token required, on an ephemeral loopback port.
    async fn start() -> (SocketAddr, CancellationToken) {
        let state = ServeState::new().expect("state");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let shutdown = CancellationToken::new();
        tokio::spawn(serve_connections(
            listener,
            router(state, Some(TOKEN)),
            HttpLimits::default(),
            shutdown.clone(),
        ));
        (address, shutdown)
    }

    /// The status of `GET /metrics` with this Authorization header, over a real connection.
    async fn status(address: SocketAddr, authorization: Option<&str>) -> u16 {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let request = format!("GET /metrics HTTP/1.0\r\nHost: test\r\n{auth}\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = String::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_string(&mut answer),
        )
        .await
        .expect("answered in time")
        .expect("read");
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line")
    }

    #[tokio::test]
    async fn only_the_exact_token_opens_metrics() {
        let (address, _shutdown) = start().await;
        let right = format!("Bearer {TOKEN}");
        assert_eq!(status(address, Some(&right)).await, 200);
        assert_eq!(
            status(address, Some(&format!("bearer {TOKEN}"))).await,
            200,
            "the scheme is case-insensitive"
        );
        let prefix = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
        let longer = format!("Bearer {TOKEN}x");
        let padded = format!("Bearer  {TOKEN}");
        let other_scheme = format!("Basic {TOKEN}");
        for wrong in [
            None,
            Some("Bearer"),
            Some("Bearer "),
            Some("Bearer wrong"),
            Some(prefix.as_str()),
            Some(longer.as_str()),
            Some(padded.as_str()),
            Some(other_scheme.as_str()),
            Some(TOKEN),
        ] {
            assert_eq!(status(address, wrong).await, 401, "{wrong:?}");
        }
    }

    #[test]
    fn the_digest_comparison_accepts_only_the_same_bytes() {
        let expected = ExpectedToken::new("abc");
        assert!(expected.matches(b"abc"));
        for wrong in [&b""[..], b"ab", b"abcd", b"abd", b"ABC", b"abc\0"] {
            assert!(!expected.matches(wrong), "{wrong:?}");
        }
    }

    #[test]
    fn unusable_tokens_and_limits_are_refused() {
        for bad in ["", " ", "two words", "line\nbreak", "tab\t", "nul\0"] {
            assert!(check_bearer_token(bad).is_err(), "{bad:?}");
        }
        assert!(check_bearer_token(TOKEN).is_ok());
        let options = |token: Option<&str>, max_connections| HttpOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            bearer_token: token.map(str::to_string),
            limits: HttpLimits {
                max_connections,
                ..HttpLimits::default()
            },
        };
        assert!(options(None, 256).validate().is_ok());
        assert!(options(Some(TOKEN), 256).validate().is_ok());
        assert!(matches!(
            options(Some(""), 256).validate(),
            Err(ServeError::BearerToken(_))
        ));
        assert!(matches!(
            options(None, 0).validate(),
            Err(ServeError::Limits(_))
        ));
    }
}
