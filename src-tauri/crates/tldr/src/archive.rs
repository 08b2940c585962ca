//! Upstream's release archive (`tldr-pages.en.zip`: folders `common/`,
//! `linux/`, `osx/`, … of Markdown pages) read in memory, with bounds, since
//! a mirror may serve anything: nothing is written from it but the
//! examples it yields.
use std::io::Read;

use crate::page::{self, Example, Platform};
use crate::{Result, TldrError};

/// Upstream's archive is ~10 MB; anything over this is not it.
pub const MAX_ARCHIVE: u64 = 64 << 20;
/// The largest page is ~10 KB; a bigger entry is skipped, not read.
const MAX_PAGE: u64 = 256 << 10;
/// Upstream has ~7,000 English pages.
const MAX_ENTRIES: usize = 100_000;
/// Fewer pages than this and the file is not the tldr archive.
const MIN_PAGES: usize = 100;

/// The examples of every page of the platforms Cmdbar uses.
pub fn examples(bytes: Vec<u8>) -> Result<Vec<Example>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| TldrError::NotAnArchive(format!("not a zip archive ({e})")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(TldrError::NotAnArchive(format!("{} entries, more than any tldr archive", zip.len())));
    }
    let (mut out, mut pages) = (vec![], 0usize);
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| TldrError::NotAnArchive(format!("entry {i}: {e}")))?;
        if f.is_dir() || f.size() > MAX_PAGE {
            continue;
        }
        // `common/tar.md`, or `pages/common/tar.md` in the repository's layout.
        let name = f.name().to_string();
        let mut parts = name.rsplit('/');
        let (Some(file), Some(folder)) = (parts.next(), parts.next()) else { continue };
        let Some(platform) = Platform::from_folder(folder) else { continue };
        if !file.ends_with(".md") {
            continue;
        }
        let mut text = String::new();
        // Bounded even if the header lies about the size.
        if (&mut f).take(MAX_PAGE).read_to_string(&mut text).is_err() {
            continue;
        }
        let ex = page::parse(platform, &text);
        if !ex.is_empty() {
            pages += 1;
            out.extend(ex);
        }
    }
    if pages < MIN_PAGES {
        return Err(TldrError::NotAnArchive(format!(
            "only {pages} tldr pages in it (common/, linux/ or osx/ folders of .md pages expected)"
        )));
    }
    Ok(out)
}
