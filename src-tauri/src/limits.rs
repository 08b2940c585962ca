//! Bounds on IPC strings, checked here whatever the UI sends: a page can't
//! make the app store, classify or copy megabytes.
pub const QUERY: usize = 8 * 1024;
pub const COMMAND: usize = 8 * 1024;
pub const PATH: usize = 4096;
pub const NAME: usize = 256;

/// `field`: the argument's name, for the UI to place the error.
pub fn check(what: &str, value: &str, max: usize) -> Result<(), crate::error::IpcError> {
    if value.len() > max {
        let field = match what {
            "request" | "search" => "query",
            "file name" => "file",
            w => w,
        };
        return Err(crate::error::IpcError::invalid(
            field,
            format!("the {what} is too long ({} bytes; at most {max})", value.len()),
        ));
    }
    Ok(())
}
