//! The Hub's file API: `HEAD {endpoint}/{repo}/resolve/{rev}/{file}` says the
//! commit, the LFS sha256 and the size before a byte is downloaded.
use reqwest::header::{HeaderMap, AUTHORIZATION};
use reqwest::StatusCode;

use crate::{ModelsError, Result};

#[derive(Debug, Clone)]
pub struct Hub {
    pub endpoint: String,
    token: Option<String>,
    /// Follows redirects: for the bytes.
    pub(crate) client: reqwest::Client,
    /// Doesn't: the Hub's own answer carries the `X-Linked-*` headers.
    meta: reqwest::Client,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub repo: String,
    pub file: String,
    pub commit: String,
    pub sha256: String,
    pub size: u64,
    pub url: String,
}

impl Hub {
    /// `HF_ENDPOINT` (a mirror) or huggingface.co, and `HF_TOKEN`. Proxies
    /// come from `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`, as reqwest reads them.
    pub fn from_env() -> Self {
        let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".into());
        Self::new(&endpoint, std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()))
    }

    pub fn new(endpoint: &str, token: Option<String>) -> Self {
        let build = |redirects| {
            reqwest::Client::builder()
                .redirect(redirects)
                .connect_timeout(std::time::Duration::from_secs(15))
                .read_timeout(std::time::Duration::from_secs(30))
                .user_agent(concat!("cmdbar/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("a TLS backend is compiled in")
        };
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token,
            client: build(reqwest::redirect::Policy::limited(10)),
            meta: build(reqwest::redirect::Policy::none()),
        }
    }

    pub(crate) fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => r.header(AUTHORIZATION, format!("Bearer {t}")),
            None => r,
        }
    }

    pub fn resolve_url(&self, repo: &str, revision: &str, file: &str) -> String {
        format!("{}/{repo}/resolve/{revision}/{file}", self.endpoint)
    }

    /// What the Hub says of one file, without downloading it.
    pub async fn file_info(&self, repo: &str, revision: &str, file: &str) -> Result<RemoteFile> {
        let url = self.resolve_url(repo, revision, file);
        let resp = self.auth(self.meta.head(&url)).send().await.map_err(|e| ModelsError::Network(e.to_string()))?;
        let status = resp.status();
        let h = resp.headers();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(ModelsError::Unauthorized { repo: repo.into(), status: status.as_u16() })
            }
            StatusCode::NOT_FOUND => {
                return Err(if header(h, "x-error-code").as_deref() == Some("EntryNotFound") {
                    ModelsError::FileNotFound { repo: repo.into(), file: file.into() }
                } else {
                    ModelsError::RepoNotFound { repo: repo.into(), endpoint: self.endpoint.clone() }
                })
            }
            s if !(s.is_success() || s.is_redirection()) => return Err(ModelsError::Http { url, status: s.as_u16() }),
            _ => {}
        }
        let etag = header(h, "x-linked-etag").or_else(|| header(h, "etag")).unwrap_or_default();
        let sha256 = etag.trim_start_matches("W/").trim_matches('"').to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ModelsError::Network(format!("{url} gave no sha256 to check the download against")));
        }
        let size = header(h, "x-linked-size")
            .or_else(|| header(h, "content-length"))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ModelsError::Network(format!("{url} gave no size")))?;
        let commit = header(h, "x-repo-commit").unwrap_or_else(|| revision.to_string());
        Ok(RemoteFile { repo: repo.into(), file: file.into(), commit, sha256, size, url })
    }
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}
