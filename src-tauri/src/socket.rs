//! The app's warm engine for the CLI and the shell widget: the socket of
//! `cmdbar_socket`, answered from the model the app has loaded. A request
//! from there and one from the popup share the engine: the newer cancels
//! the older, as two popup requests do.
use std::sync::Arc;

use cmdbar_socket::{Backend, Ready, Server};
use tauri::{AppHandle, Manager, Runtime};

use crate::state::{lock, AppState, ModelStatus};

struct App<R: Runtime>(AppHandle<R>);

impl<R: Runtime> Backend for App<R> {
    /// The app's current backend: its local model or its server.
    fn engine(&self) -> &dyn cmdbar_engine::Backend {
        &self.0.state::<AppState>().inner().backend
    }

    fn ready(&self) -> Result<Ready, String> {
        let state = self.0.state::<AppState>();
        let Some(info) = lock(&state.model).clone() else {
            return Err(match &*lock(&state.status) {
                ModelStatus::Loading { name, .. } => format!("the app is still loading {name}"),
                ModelStatus::Error { name, message } => format!("the app could not load {name}: {message}"),
                ModelStatus::Missing { .. } => "the app has no model yet".into(),
                ModelStatus::Ready { .. } => "the app has no model loaded".into(),
            });
        };
        let examples = lock(&state.examples).clone();
        Ok(Ready { info, examples })
    }
}

/// Binds the socket and serves on a thread of its own. Another server on
/// it (a `cmdbar serve`) is left alone: the app then answers only its popup.
pub fn start<R: Runtime>(app: AppHandle<R>) {
    let path = cmdbar_socket::socket_path();
    match Server::bind(&path) {
        Ok(server) => {
            tracing::info!("answering the CLI on {}", path.display());
            if let Err(e) = server.spawn(Arc::new(App(app))) {
                tracing::warn!("no thread for the CLI's socket: {e}");
            }
        }
        Err(e) => tracing::warn!("the CLI will load its own model: {e}"),
    }
}
