//! The Hub's file API: `HEAD {endpoint}/{repo}/resolve/{rev}/{file}` says the
//! commit, the LFS sha256 and the size before a byte is downloaded.
use reqwest::header::{HeaderMap, AUTHORIZATION};
use reqwest::StatusCode;

use crate::{names, ModelsError, Result};

/// The most an API answer (a search, a repo's listing) may take: a
/// listing of 100,000 files is ~15 MB; a mirror sending more is refused
/// rather than held in memory.
const MAX_API_ANSWER: usize = 64 << 20;

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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RepoSummary {
    pub id: String,
    #[serde(default)]
    pub downloads: u64,
    #[serde(default)]
    pub likes: u64,
}

/// A GGUF file of a repo, as the model-info API lists it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// The revision asked for (`main`, a tag, a commit): its ref is
    /// recorded under `refs/<revision>`.
    pub revision: String,
    /// 40 lowercase hex digits, checked.
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

    /// The revision is one segment (`refs/pr/1` as `refs%2Fpr%2F1`, as
    /// huggingface_hub quotes it) and the file's segments are escaped, so
    /// the server is asked for exactly the names that were checked.
    pub fn resolve_url(&self, repo: &str, revision: &str, file: &str) -> String {
        let file: Vec<String> = file.split('/').map(names::encode_segment).collect();
        format!("{}/{repo}/resolve/{}/{}", self.endpoint, names::encode_segment(revision), file.join("/"))
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
        let hits: Vec<RepoSummary> = json_bounded(resp, &url).await?;
        // Ids are shown and passed back as repos: only well-formed ones.
        Ok(hits.into_iter().filter(|h| names::repo(&h.id).is_ok()).collect())
    }

    /// The repo's commit and its GGUF files with sizes and LFS sha256.
    /// Names that are not safe relative paths, and checksums that are not
    /// sha256, are left out (and logged): a mirror's listing is untrusted.
    pub async fn repo_files(&self, repo: &str) -> Result<(String, Vec<RepoFile>)> {
        names::repo(repo)?;
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
        let info: ModelInfoJson = json_bounded(resp, &url).await?;
        let mut refused = 0usize;
        let files = info
            .siblings
            .into_iter()
            .filter(|s| s.rfilename.to_ascii_lowercase().ends_with(".gguf"))
            .filter_map(|s| {
                let lfs = s.lfs?;
                let sha256 = lfs.sha256.to_ascii_lowercase();
                if names::relative("a listed file", &s.rfilename).is_err()
                    || names::sha256("a listed checksum", &sha256).is_err()
                {
                    refused += 1;
                    return None;
                }
                Some(RepoFile {
                    quantization: quantization(&s.rfilename),
                    size: s.size.unwrap_or(lfs.size),
                    sha256,
                    file: s.rfilename,
                })
            })
            .collect();
        if refused > 0 {
            tracing::warn!("{url}: {refused} listed file(s) with unsafe names or checksums left out");
        }
        let commit = match info.sha {
            Some(c) => {
                names::commit(&format!("the commit id {url} gave"), &c)?;
                c
            }
            None => "main".into(),
        };
        Ok((commit, files))
    }

    /// What the Hub says of one file, without downloading it.
    /// The repo, revision and file name are checked before the request; the
    /// commit the server names must be a commit id.
    pub async fn file_info(&self, repo: &str, revision: &str, file: &str) -> Result<RemoteFile> {
        names::repo(repo)?;
        names::relative("the revision", revision)?;
        names::relative("the file name", file)?;
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
        let commit = match header(h, "x-repo-commit") {
            Some(c) => c,
            None if names::commit("", revision).is_ok() => revision.to_string(),
            None => {
                return Err(ModelsError::Network(format!(
                    "{url} did not say which commit it serves (no X-Repo-Commit); ask for a commit id with --revision"
                )))
            }
        };
        names::commit(&format!("the commit id {url} gave"), &commit)?;
        Ok(RemoteFile { repo: repo.into(), file: file.into(), revision: revision.into(), commit, sha256, size, url })
    }
}

/// An API answer as JSON, read to at most `MAX_API_ANSWER` bytes.
async fn json_bounded<T: serde::de::DeserializeOwned>(mut resp: reqwest::Response, url: &str) -> Result<T> {
    let too_big = || ModelsError::Network(format!("{url}: the answer is larger than {} MB", MAX_API_ANSWER >> 20));
    if resp.content_length().is_some_and(|n| n > MAX_API_ANSWER as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| ModelsError::Network(e.to_string()))? {
        if body.len() + chunk.len() > MAX_API_ANSWER {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| ModelsError::Network(format!("{url}: unexpected answer: {e}")))
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// `org/repo`, `https://huggingface.co/org/repo` or `…/org/repo/tree/main`.
pub fn repo_name(arg: &str) -> Result<String> {
    let path = arg.split_once("://").map_or(arg, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).take(2).collect();
    match parts[..] {
        [org, name] if names::repo_part(org) && names::repo_part(name) => Ok(format!("{org}/{name}")),
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
        for bad in ["qwen", "https://huggingface.co/", "a b/c", "../..", "a/..", "a\\b/c", "a/b\\..", "a--b/c"] {
            assert!(super::repo_name(bad).unwrap_err().to_string().contains("not a Hub repo"), "{bad}");
        }
    }
}
