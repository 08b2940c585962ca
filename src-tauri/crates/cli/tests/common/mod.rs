//! What the CLI's test files share: `cmdbar serve` as a child process.
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `cmdbar serve` for `model` on `socket`, its settings and tldr pages
/// under `home`; returned once it says it answers, killed when dropped
/// (passed or not).
pub struct Serve(pub Child);

impl Serve {
    pub fn start(socket: &Path, model: &Path, home: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cmdbar"))
            .arg("serve")
            .arg("--model")
            .arg(model)
            .env("CMDBAR_SOCKET", socket)
            .env("CMDBAR_CONFIG_DIR", home.join("config"))
            .env("CMDBAR_TLDR_DIR", home.join("tldr"))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("answers on") {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "cmdbar serve ended: {line}");
        }
        // Its later notes go nowhere rather than fill a pipe.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Serve(child)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
