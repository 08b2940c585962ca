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

/// A repo from a search.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RepoSummary {
    pub id: String,
    #[serde(default)]
    pub downloads: u64,
    #[serde(default)]
    pub likes: u64,
}

/// A GGUF file of a repo, as the model-info API lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RepoFile {
    pub file: String,
    pub size: u64,
    pub sha256: String,
    /// From the file name, e.g. `Q4_K_M`; None when it names none.
    pub quantization: Option<String>,
}

#[derive(serde::Deserialize)]
struct ModelInfoJson {
    sha: Option<String>,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(serde::Deserialize)]
struct Sibling {
    rfilename: String,
    size: Option<u64>,
    lfs: Option<Lfs>,
}

#[derive(serde::Deserialize)]
struct Lfs {
    sha256: String,
    size: u64,
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

    /// GGUF repos matching `query`, most downloaded first.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<RepoSummary>> {
        let url = format!("{}/api/models", self.endpoint);
        let req = self.client.get(&url).query(&[
            ("search", query),
            ("filter", "gguf"),
            ("sort", "downloads"),
            ("direction", "-1"),
            ("limit", &limit.to_string()),
        ]);
        let resp = self.auth(req).send().await.map_err(|e| ModelsError::Network(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(ModelsError::Http { url, status: resp.status().as_u16() });
        }
        resp.json().await.map_err(|e| ModelsError::Network(format!("{url}: unexpected answer: {e}")))
    }

    /// The repo's commit and its GGUF files with sizes and LFS sha256.
    pub async fn repo_files(&self, repo: &str) -> Result<(String, Vec<RepoFile>)> {
        let url = format!("{}/api/models/{repo}", self.endpoint);
        let resp = self
            .auth(self.client.get(&url).query(&[("blobs", "true")]))
            .send()
            .await
            .map_err(|e| ModelsError::Network(e.to_string()))?;
        match resp.status() {
            StatusCode::NOT_FOUND => {
                return Err(ModelsError::RepoNotFound { repo: repo.into(), endpoint: self.endpoint.clone() })
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(ModelsError::Unauthorized { repo: repo.into(), status: resp.status().as_u16() })
            }
            s if !s.is_success() => return Err(ModelsError::Http { url, status: s.as_u16() }),
            _ => {}
        }
        let info: ModelInfoJson =
            resp.json().await.map_err(|e| ModelsError::Network(format!("{url}: unexpected answer: {e}")))?;
        let files = info
            .siblings
            .into_iter()
            .filter(|s| s.rfilename.to_ascii_lowercase().ends_with(".gguf"))
            .filter_map(|s| {
                let lfs = s.lfs?;
                Some(RepoFile {
                    quantization: quantization(&s.rfilename),
                    size: s.size.unwrap_or(lfs.size),
                    sha256: lfs.sha256,
                    file: s.rfilename,
                })
            })
            .collect();
        Ok((info.sha.unwrap_or_else(|| "main".into()), files))
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

/// `org/repo`, `https://huggingface.co/org/repo` or `…/org/repo/tree/main`.
pub fn repo_name(arg: &str) -> Result<String> {
    let path = arg.split_once("://").map_or(arg, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).take(2).collect();
    match parts[..] {
        [org, name] if !org.contains(char::is_whitespace) && !name.contains(char::is_whitespace) => {
            Ok(format!("{org}/{name}"))
        }
        _ => Err(ModelsError::BadRepo(arg.to_string())),
    }
}

/// The quantization named in a GGUF file name: `…-Q4_K_M.gguf` → `Q4_K_M`.
pub fn quantization(file: &str) -> Option<String> {
    let stem = file.rsplit('/').next()?.strip_suffix(".gguf").or_else(|| file.strip_suffix(".GGUF"))?;
    stem.rsplit(['-', '.', '_'])
        .scan(String::new(), |acc, part| {
            *acc = if acc.is_empty() { part.to_string() } else { format!("{part}_{acc}") };
            Some(acc.clone())
        })
        .take(3)
        .map(|q| q.to_ascii_uppercase())
        .filter(|q| {
            let q = q.as_str();
            (q.starts_with('Q') || q.starts_with("IQ")) && q[1..].starts_with(|c: char| c.is_ascii_digit() || c == 'Q')
                || matches!(q, "F16" | "BF16" | "F32")
        })
        .last()
}

#[cfg(test)]
mod tests {
    #[test]
    fn quantization_from_file_names() {
        for (f, q) in [
            ("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", Some("Q4_K_M")),
            ("Qwen2.5-Coder-7B-Instruct-Q8_0.gguf", Some("Q8_0")),
            ("model.Q5_K_S.gguf", Some("Q5_K_S")),
            ("gemma-3-270m-f16.gguf", Some("F16")),
            ("tinyllama-IQ4_XS.gguf", Some("IQ4_XS")),
            ("weights.gguf", None),
        ] {
            assert_eq!(super::quantization(f).as_deref(), q, "{f}");
        }
    }

    #[test]
    fn repo_names_from_names_and_urls() {
        for (arg, want) in [
            ("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"),
            (
                "https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/tree/main",
                "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            ),
        ] {
            assert_eq!(super::repo_name(arg).unwrap(), want);
        }
        for bad in ["qwen", "https://huggingface.co/", "a b/c"] {
            assert!(super::repo_name(bad).unwrap_err().to_string().contains("not a Hub repo"), "{bad}");
        }
    }
}
