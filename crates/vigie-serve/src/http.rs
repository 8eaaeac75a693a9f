//! The HTTP endpoints: `/metrics` (optionally behind a bearer token), `/healthz`, `/readyz`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::ServeError;
use crate::state::ServeState;

/// Listener settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to bind (127.0.0.1:9464 by default: loopback only).
    pub listen: SocketAddr,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
}

#[derive(Clone)]
struct App {
    state: ServeState,
    token: Option<String>,
}

async fn metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(token) = &app.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "unauthorized\n",
            )
                .into_response();
        }
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

async fn readyz(State(app): State<App>) -> Response {
    if app.state.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "loading\n").into_response()
    }
}

/// Serves until `shutdown` is cancelled.
pub async fn serve_http(
    state: ServeState,
    options: HttpOptions,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(App {
            state,
            token: options.bearer_token.clone(),
        });
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: options.listen.to_string(),
            source,
        })?;
    tracing::info!(address = %options.listen, "serving /metrics, /healthz, /readyz");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(|source| ServeError::Listen {
            address: options.listen.to_string(),
            source,
        })
}
