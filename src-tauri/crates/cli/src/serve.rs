//! `cmdbar serve`: what the app does for the CLI, without the app: the
//! model stays loaded and answers `cmdbar` and the shell widget over the
//! socket, so each request skips the load.
use std::sync::Arc;

use cmdbar_engine::{Engine, ModelInfo};
use cmdbar_socket::{Backend, Ready, Server};
use cmdbar_suggest::examples::Examples;

use crate::load::{start, ModelArgs};

struct Loaded {
    engine: Engine,
    info: ModelInfo,
    examples: Option<Arc<Examples>>,
}

impl Backend for Loaded {
    fn engine(&self) -> &dyn cmdbar_engine::Backend {
        &self.engine
    }
    fn ready(&self) -> Result<Ready, String> {
        Ok(Ready { info: self.info.clone(), examples: self.examples.clone() })
    }
}

pub fn run(model: &ModelArgs) -> anyhow::Result<()> {
    let path = cmdbar_socket::socket_path();
    // Bind first: a second server fails at once, before a load.
    let server = Server::bind(&path)?;
    let (engine, info) = start(model)?;
    let ctx = cmdbar_suggest::Context::detect();
    let examples = Examples::load(&ctx).map(Arc::new);
    drop(cmdbar_suggest::warm_up(&engine, &ctx));
    eprintln!("cmdbar: {} answers on {} (Ctrl+C stops)", info.name, path.display());
    server.serve(Arc::new(Loaded { engine, info, examples }));
    Ok(())
}
