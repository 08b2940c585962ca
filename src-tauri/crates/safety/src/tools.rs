//! Developer and cloud tools: git, containers and clusters, infrastructure,
//! cloud CLIs and package managers. Each has a few read-only subcommands;
//! the rest change something, and the destructive ones are named.
use crate::verdict::{Ctx, Judge, Verdict};
use crate::words::Arg;
use crate::{Dialect, Risk};

fn moderate(r: impl Into<String>) -> Verdict {
    Verdict::new(Risk::Moderate, r)
}
fn high(r: impl Into<String>) -> Verdict {
    Verdict::new(Risk::High, r)
}
fn critical(r: impl Into<String>) -> Verdict {
    Verdict::new(Risk::Critical, r)
}

fn has(args: &[Arg], f: &str) -> bool {
    args.iter().any(|a| a.text == f || a.text.starts_with(&format!("{f}=")))
}

fn short(args: &[Arg], c: char) -> bool {
    args.iter().any(|a| a.text.starts_with('-') && !a.text.starts_with("--") && a.text[1..].contains(c))
}

/// The non-option words: subcommands and their operands.
fn words(args: &[Arg]) -> Vec<&str> {
    args.iter().map(|a| a.text.as_str()).filter(|t| !t.starts_with('-')).collect()
}

/// Replaces one word of the command as written.
fn swap(raw: &str, from: &str, to: &str) -> Option<String> {
    if raw.contains('\n') || !raw.split_whitespace().any(|w| w == from) {
        return None;
    }
    Some(raw.split_whitespace().map(|w| if w == from { to } else { w }).collect::<Vec<_>>().join(" "))
}

fn insert_after(raw: &str, word: &str, add: &str) -> Option<String> {
    swap(raw, word, &format!("{word} {add}"))
}

pub(crate) fn git(j: &mut Judge, args: &[Arg], ctx: &Ctx) -> Verdict {
    // Global options before the subcommand.
    let mut i = 0;
    let mut pre = Verdict::safe();
    while i < args.len() {
        let t = args[i].text.as_str();
        match t {
            "-C" | "--git-dir" | "--work-tree" | "--namespace" => i += 2,
            "-c" | "--config-env" => {
                // `-c core.pager=…`, `-c alias.x=!…`: settings that run programs.
                let setting = args.get(i + 1).map(|a| a.text.clone()).unwrap_or_default();
                let (key, value) = setting.split_once('=').unwrap_or((&setting, ""));
                let key = key.to_ascii_lowercase();
                let runs = matches!(
                    key.as_str(),
                    "core.pager"
                        | "core.editor"
                        | "core.sshcommand"
                        | "core.fsmonitor"
                        | "sequence.editor"
                        | "diff.external"
                        | "credential.helper"
                        | "core.hookspath"
                        | "pager.log"
                        | "pager.diff"
                ) || key.starts_with("alias.") && value.starts_with('!')
                    || key.starts_with("pager.");
                let mut v = moderate("runs git with settings given on the command line, which can run other programs");
                if runs && !value.is_empty() {
                    let inner = j.code(value.trim_start_matches('!'), Dialect::Bash, &Default::default());
                    if inner.risk > Risk::Moderate {
                        v = Verdict { reason: format!("sets git's {key} to a command that {}", inner.reason), ..inner };
                    }
                }
                pre = pre.or(v);
                i += 2
            }
            _ if t.starts_with("--exec-path") => {
                pre = moderate("runs git with another helper path");
                i += 1
            }
            _ if t.starts_with('-') => i += 1,
            _ => break,
        }
    }
    let Some(sub) = args.get(i).map(|a| a.text.as_str()) else { return pre };
    let rest = &args[i + 1..];
    let w = words(rest);
    let v = match sub {
        "status" | "log" | "show" | "blame" | "annotate" | "shortlog" | "describe" | "rev-parse" | "rev-list"
        | "ls-files" | "ls-tree" | "ls-remote" | "cat-file" | "grep" | "show-ref" | "show-branch" | "for-each-ref"
        | "name-rev" | "merge-base" | "count-objects" | "whatchanged" | "check-ignore" | "check-attr"
        | "check-ref-format" | "var" | "verify-commit" | "verify-tag" | "fsck" | "diff-tree" | "diff-files"
        | "diff-index" | "range-diff" | "cherry" | "help" | "version" | "--version" | "-v" | "--help" | "diff"
        | "difftool" => {
            if has(rest, "--output") || (sub == "difftool") {
                moderate(format!("writes git's output to a file or runs a diff tool (git {sub})"))
            } else {
                Verdict::safe()
            }
        }
        "branch" => {
            let changes = rest.iter().any(|a| {
                matches!(
                    a.text.as_str(),
                    "-d" | "-D"
                        | "-m"
                        | "-M"
                        | "-c"
                        | "-C"
                        | "--delete"
                        | "--move"
                        | "--copy"
                        | "-f"
                        | "--force"
                        | "-u"
                        | "--set-upstream-to"
                        | "--unset-upstream"
                        | "--edit-description"
                        | "--track"
                        | "--no-track"
                )
            });
            let listing = rest.iter().any(|a| {
                matches!(
                    a.text.as_str(),
                    "-l" | "--list" | "--contains" | "--merged" | "--no-merged" | "--points-at" | "--show-current"
                )
            });
            if short(rest, 'D') || (short(rest, 'd') && short(rest, 'f')) {
                high(format!(
                    "deletes the branch {} even if its commits are not merged anywhere",
                    w.first().unwrap_or(&"")
                ))
                .safer(ctx, swap(&ctx.raw, "-D", "-d"))
            } else if changes {
                moderate("deletes, renames or changes branches")
            } else if w.is_empty() || listing {
                Verdict::safe()
            } else {
                moderate(format!("creates the branch {}", w[0]))
            }
        }
        "tag" => {
            if short(rest, 'd') || has(rest, "--delete") {
                moderate("deletes tags")
            } else if w.is_empty()
                || rest.iter().any(|a| {
                    matches!(a.text.as_str(), "-l" | "--list" | "--contains" | "--points-at" | "-v" | "--verify" | "-n")
                })
            {
                Verdict::safe()
            } else {
                moderate(format!("creates the tag {}", w[0]))
            }
        }
        "remote" => match w.first().copied() {
            None | Some("show" | "get-url") => Verdict::safe(),
            Some(s) => moderate(format!("changes the repository's remotes (git remote {s})")),
        },
        "config" => {
            let read = rest.iter().any(|a| {
                a.text.starts_with("--get")
                    || matches!(a.text.as_str(), "-l" | "--list" | "get" | "list" | "--show-origin" | "--show-scope")
            }) || (w.len() == 1
                && !w[0].contains(' ')
                && !rest.iter().any(|a| {
                    matches!(
                        a.text.as_str(),
                        "--unset"
                            | "--unset-all"
                            | "--add"
                            | "--replace-all"
                            | "--rename-section"
                            | "--remove-section"
                            | "-e"
                            | "--edit"
                    )
                }));
            if read {
                Verdict::safe()
            } else {
                moderate("changes git's configuration")
            }
        }
        "stash" => match w.first().copied() {
            Some("list" | "show") => Verdict::safe(),
            Some("clear") => high("deletes every stashed change for good (git stash clear)")
                .safer(ctx, swap(&ctx.raw, "clear", "list")),
            Some("drop") => moderate("deletes a stashed change (git stash drop)"),
            _ => moderate("stashes or restores uncommitted changes"),
        },
        "worktree" => match w.first().copied() {
            Some("list") => Verdict::safe(),
            Some("remove") if short(rest, 'f') || has(rest, "--force") => {
                high("deletes a worktree with its uncommitted changes")
            }
            _ => moderate("changes the repository's worktrees"),
        },
        "reflog" => match w.first().copied() {
            None | Some("show" | "list" | "exists") => Verdict::safe(),
            Some(s) => high(format!(
                "deletes entries from the reflog, which is how lost commits are recovered (git reflog {s})"
            )),
        },
        "bisect" if matches!(w.first().copied(), Some("log" | "view" | "visualize")) => Verdict::safe(),
        "submodule" => match w.first().copied() {
            None | Some("status" | "summary") => Verdict::safe(),
            Some("foreach") => {
                let code = w[1..].join(" ");
                j.code(&code, Dialect::Bash, &Default::default())
                    .at_least(Risk::Moderate, "runs a command in every submodule")
            }
            _ => moderate("changes the repository's submodules"),
        },
        "push" => {
            let force = rest.iter().any(|a| {
                matches!(
                    a.text.as_str(),
                    "-f" | "--force" | "--force-with-lease" | "--force-if-includes" | "--mirror" | "--prune"
                ) || a.text.starts_with("--force-with-lease=")
            }) || w.iter().skip(1).any(|r| r.starts_with('+'))
                || (short(rest, 'f') && !rest.iter().any(|a| a.text.starts_with("--")));
            let delete = has(rest, "--delete") || short(rest, 'd') || w.iter().skip(1).any(|r| r.starts_with(':'));
            if delete {
                high("deletes branches or tags on the remote (git push --delete)")
            } else if force {
                let lease = rest.iter().any(|a| a.text.starts_with("--force-with-lease"));
                let v = high(if lease {
                    "rewrites history on the remote (force push with lease)"
                } else {
                    "rewrites history on the remote, discarding commits others may have pushed (force push)"
                });
                if lease {
                    v
                } else {
                    let s = swap(&ctx.raw, "--force", "--force-with-lease")
                        .or_else(|| swap(&ctx.raw, "-f", "--force-with-lease"));
                    v.safer(ctx, s)
                }
            } else {
                moderate("publishes commits to the remote (git push)")
            }
        }
        "reset" => {
            if has(rest, "--hard") || has(rest, "--merge") {
                high("discards uncommitted changes for good and moves the branch (git reset --hard)")
                    .safer(ctx, swap(&ctx.raw, "--hard", "--keep"))
            } else {
                moderate("moves the branch or unstages changes (git reset)")
            }
        }
        "clean" => {
            if short(rest, 'n') || has(rest, "--dry-run") {
                Verdict::safe()
            } else if short(rest, 'f') || has(rest, "--force") {
                let ignored = short(rest, 'x') || short(rest, 'X');
                let safer = rest
                    .iter()
                    .find(|a| a.text.starts_with('-') && !a.text.starts_with("--") && a.text.contains('f'))
                    .and_then(|a| swap(&ctx.raw, &a.text, &a.text.replacen('f', "n", 1)))
                    .or_else(|| swap(&ctx.raw, "--force", "--dry-run"));
                high(if ignored {
                    "deletes untracked and ignored files for good, build outputs and local settings included (git clean)"
                } else {
                    "deletes untracked files for good (git clean)"
                })
                .safer(ctx, safer)
            } else {
                moderate("deletes untracked files if git is set to allow it (git clean)")
            }
        }
        "checkout" | "restore" | "switch" => {
            let all = w.iter().any(|p| matches!(*p, "." | ":/" | "*" | "./"));
            let force = short(rest, 'f') || has(rest, "--force") || has(rest, "--discard-changes");
            let staged_only =
                sub == "restore" && has(rest, "--staged") && !has(rest, "--worktree") && !short(rest, 'W');
            if staged_only {
                moderate("unstages changes (git restore --staged)")
            } else if all || force {
                high(format!("discards all uncommitted changes for good (git {sub})"))
                    .safer(ctx, Some("git stash".into()))
            } else if has(rest, "--") || sub == "restore" {
                moderate(format!("discards uncommitted changes to {} (git {sub})", w.last().unwrap_or(&"files")))
            } else {
                moderate(format!("switches to another branch or commit (git {sub})"))
            }
        }
        "filter-branch" | "filter-repo" => high(format!("rewrites the whole history of the repository (git {sub})")),
        "gc" | "prune"
            if rest.iter().any(|a| a.text.starts_with("--prune") && a.text.contains("now")) || sub == "prune" =>
        {
            high("permanently deletes unreachable commits, which can no longer be recovered")
        }
        "update-ref" if short(rest, 'd') => high("deletes a branch or ref directly (git update-ref -d)"),
        "rebase" => moderate("rewrites the branch's history (git rebase)"),
        "commit" if has(rest, "--amend") => moderate("replaces the last commit (git commit --amend)"),
        "archive" | "format-patch" | "bundle" => moderate(format!("writes files from the repository (git {sub})")),
        "clone" | "fetch" | "pull" | "merge" | "cherry-pick" | "revert" | "commit" | "add" | "mv" | "rm" | "init"
        | "am" | "apply" | "notes" | "bisect" | "gc" | "repack" | "lfs" | "sparse-checkout" | "maintenance"
        | "tag-" | "update-index" | "replace" | "switch-" | "stage" | "unstage" | "citool" | "gui" | "instaweb"
        | "mergetool" | "p4" | "svn" | "send-email" | "request-pull" | "rerere" | "restore-" | "update-ref"
        | "symbolic-ref" | "pack-refs" | "write-tree" | "commit-tree" | "hash-object" | "mktag" | "mktree" => {
            moderate(format!("changes the repository (git {sub})"))
        }
        _ => moderate(format!("runs `git {sub}`, which Cmdbar does not know (an alias can run anything)")),
    };
    pre.or(v)
}

pub(crate) fn docker(j: &mut Judge, name: &str, args: &[Arg], ctx: &Ctx) -> Verdict {
    let w = words(args);
    let (sub, obj) = match w.first().copied() {
        Some(
            o @ ("container" | "image" | "volume" | "network" | "system" | "builder" | "buildx" | "compose" | "context"
            | "plugin" | "secret" | "service" | "stack" | "node" | "swarm" | "config" | "machine" | "manifest"
            | "trust"),
        ) => (w.get(1).copied().unwrap_or(""), o),
        Some(s) => (s, ""),
        None => ("", ""),
    };
    let sub = if name == "docker-compose" { w.first().copied().unwrap_or("") } else { sub };
    let obj = if name == "docker-compose" { "compose" } else { obj };
    let all = args
        .iter()
        .any(|a| a.text == "-a" || a.text == "--all" || a.dynamic || a.text.contains("-aq") || a.text.contains("-qa"));
    match (obj, sub) {
        (
            _,
            "ps" | "ls" | "list" | "images" | "inspect" | "logs" | "version" | "info" | "stats" | "top" | "port"
            | "diff" | "history" | "search" | "df" | "events" | "config" | "show" | "du" | "",
        ) if !(obj == "compose" && sub == "config" && has(args, "--output")) => Verdict::safe(),
        ("volume", "rm" | "remove" | "prune") => {
            high(format!("deletes volumes and the data in them ({name} volume {sub})"))
        }
        ("system" | "builder" | "image" | "container" | "network" | "", "prune") => {
            let v = has(args, "--volumes");
            if v || (obj == "system" && all) {
                high(format!(
                    "deletes all unused containers, images{} ({name} {obj} prune)",
                    if v { " and volumes with their data" } else { "" }
                ))
                .safer(ctx, (obj == "system").then(|| format!("{name} system df")))
            } else {
                high(format!("deletes stopped containers, unused images or networks ({name} {obj} prune)"))
                    .safer(ctx, (obj == "system").then(|| format!("{name} system df")))
            }
        }
        ("compose", "down") if short(args, 'v') || has(args, "--volumes") || has(args, "--rmi") => {
            high("stops the services and deletes their volumes and data (compose down -v)")
        }
        (_, "rm" | "rmi" | "remove") => {
            if all || short(args, 'f') || has(args, "--force") {
                high(format!(
                    "{} ({name} {sub})",
                    if all {
                        "deletes every container or image it lists"
                    } else {
                        "force-deletes containers or images, running ones too"
                    }
                ))
                .safer(ctx, if sub == "rm" { swap(&ctx.raw, "-f", "").map(|s| s.replace("  ", " ")) } else { None })
            } else {
                moderate(format!("deletes containers or images ({name} {sub})"))
            }
        }
        (_, "kill" | "stop" | "down" | "restart" | "pause") => moderate(format!("stops containers ({name} {sub})")),
        (_, "exec" | "run") => {
            // `docker run -v /:/host` and `--privileged` reach the host.
            let host = args.iter().any(|a| {
                a.text == "--privileged"
                    || a.text.starts_with("/:")
                    || a.text.contains("docker.sock")
                    || a.text == "--pid=host"
            });
            let v = if host {
                high(format!("runs a container with access to the whole host ({name} {sub})"))
            } else {
                moderate(format!("runs a command in a container ({name} {sub})"))
            };
            // The command given to exec, judged inside the container:
            // `exec [options] CONTAINER COMMAND…`.
            let tail = args.iter().position(|a| a.text == "--").map(|p| &args[p + 1..]).or_else(|| {
                let start = args.iter().position(|a| a.text == "exec")? + 1;
                let mut k = start;
                while k < args.len() && args[k].text.starts_with('-') {
                    let valued = matches!(
                        args[k].text.as_str(),
                        "-e" | "-u" | "-w" | "--env" | "--user" | "--workdir" | "--env-file"
                    );
                    k += if valued { 2 } else { 1 };
                }
                args.get(k + 1..)
            });
            match tail {
                Some(t) if !t.is_empty() && sub == "exec" => {
                    let text = t.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
                    let inner = j.code(&text, Dialect::Bash, &Default::default());
                    v.or(if inner.risk > Risk::Moderate {
                        Verdict { reason: format!("{} (in the container)", inner.reason), ..inner }
                    } else {
                        Verdict::safe()
                    })
                }
                _ => v,
            }
        }
        _ => moderate(format!(
            "changes containers or images ({name} {})",
            if obj.is_empty() { sub.to_string() } else { format!("{obj} {sub}") }
        )),
    }
}

pub(crate) fn kubectl(j: &mut Judge, args: &[Arg], ctx: &Ctx) -> Verdict {
    let w = words(args);
    let sub = w.first().copied().unwrap_or("");
    let everywhere = has(args, "--all") || has(args, "-A") || has(args, "--all-namespaces");
    match sub {
        "" | "get" | "describe" | "logs" | "top" | "explain" | "version" | "cluster-info" | "api-resources"
        | "api-versions" | "events" | "diff" | "wait" | "completion" => Verdict::safe(),
        "rollout" if matches!(w.get(1).copied(), Some("status" | "history")) => Verdict::safe(),
        "config"
            if matches!(
                w.get(1).copied(),
                Some("view" | "get-contexts" | "current-context" | "get-clusters" | "get-users")
            ) =>
        {
            Verdict::safe()
        }
        "auth" if matches!(w.get(1).copied(), Some("can-i" | "whoami")) => Verdict::safe(),
        "delete" => {
            let kind = match w.get(1).copied().unwrap_or("") {
                "ns" | "namespace" | "namespaces" => "namespaces",
                "po" | "pod" => "the pod",
                "deploy" | "deployment" => "the deployment",
                "svc" | "service" => "the service",
                "pvc" => "the volume claim",
                k => k,
            };
            let from_file = short(args, 'f') || has(args, "--filename");
            let dry = args.iter().any(|a| a.text.starts_with("--dry-run"));
            if dry {
                return Verdict::safe();
            }
            let safer = insert_after(&ctx.raw, "delete", "--dry-run=client");
            if matches!(
                kind,
                "namespaces"
                    | "node"
                    | "nodes"
                    | "pv"
                    | "persistentvolume"
                    | "persistentvolumes"
                    | "crd"
                    | "crds"
                    | "customresourcedefinition"
            ) || everywhere
            {
                critical(format!(
                    "deletes {} from the cluster, with everything in them (kubectl delete)",
                    if everywhere { "every matching resource" } else { kind }
                ))
                .safer(ctx, safer)
            } else {
                let what = if from_file || kind.is_empty() { "the resources it names" } else { kind };
                high(format!("deletes {what} from the cluster (kubectl delete)")).safer(ctx, safer)
            }
        }
        "drain" => high("evicts every pod from a node (kubectl drain)"),
        "exec" => {
            let tail = args.iter().position(|a| a.text == "--").map(|p| &args[p + 1..]);
            let v = moderate("runs a command inside a pod (kubectl exec)");
            match tail {
                Some(t) if !t.is_empty() => {
                    let text = t.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
                    let inner = j.code(&text, Dialect::Bash, &Default::default());
                    v.or(if inner.risk > Risk::Moderate {
                        Verdict { reason: format!("{} (in the pod)", inner.reason), ..inner }
                    } else {
                        Verdict::safe()
                    })
                }
                _ => v,
            }
        }
        "scale" if args.iter().any(|a| a.text == "--replicas=0") => {
            high("scales workloads down to zero, stopping them")
        }
        _ => moderate(format!("changes the cluster (kubectl {sub})")),
    }
}

pub(crate) fn helm(args: &[Arg], ctx: &Ctx) -> Verdict {
    let w = words(args);
    match w.first().copied().unwrap_or("") {
        "" | "list" | "ls" | "status" | "get" | "history" | "show" | "inspect" | "search" | "version" | "template"
        | "lint" | "env" | "help" | "verify" => Verdict::safe(),
        "repo" if matches!(w.get(1).copied(), Some("list" | "ls")) => Verdict::safe(),
        "uninstall" | "delete" | "del" | "un" if !has(args, "--dry-run") => high(format!(
            "uninstalls the release {} and deletes its resources (helm uninstall)",
            w.get(1).unwrap_or(&"")
        ))
        .safer(ctx, Some(format!("{} --dry-run", ctx.raw.trim()))),
        s => moderate(format!("changes releases in the cluster (helm {s})")),
    }
}

pub(crate) fn terraform(args: &[Arg], ctx: &Ctx) -> Verdict {
    let w = words(args);
    let sub = w.first().copied().unwrap_or("");
    let auto = has(args, "-auto-approve") || has(args, "--auto-approve");
    match sub {
        "" | "version" | "validate" | "show" | "output" | "providers" | "graph" => Verdict::safe(),
        "fmt" if has(args, "-check") => Verdict::safe(),
        "plan" => {
            if has(args, "-out") {
                moderate("writes a plan file (terraform plan -out)")
            } else {
                Verdict::safe()
            }
        }
        "state" if matches!(w.get(1).copied(), Some("list" | "show" | "pull")) => Verdict::safe(),
        "destroy" => {
            let v = if auto {
                critical("destroys all the infrastructure this configuration manages, without asking (terraform destroy -auto-approve)")
            } else {
                high("destroys all the infrastructure this configuration manages (terraform destroy)")
            };
            v.safer(
                ctx,
                swap(&ctx.raw, "destroy", "plan -destroy")
                    .map(|s| s.replace(" -auto-approve", "").replace(" --auto-approve", "")),
            )
        }
        "apply" if has(args, "-destroy") => {
            critical("destroys the infrastructure this configuration manages (terraform apply -destroy)")
                .safer(ctx, swap(&ctx.raw, "apply", "plan"))
        }
        "apply" => {
            let v = if auto {
                high("changes real infrastructure without asking (terraform apply -auto-approve)")
            } else {
                moderate("changes real infrastructure after asking (terraform apply)")
            };
            v.safer(ctx, swap(&ctx.raw, "apply", "plan").map(|s| s.replace(" -auto-approve", "")))
        }
        "state" if matches!(w.get(1).copied(), Some("rm" | "mv" | "push" | "replace-provider")) => {
            high("changes what terraform believes exists (terraform state)")
        }
        "workspace" if w.get(1) == Some(&"delete") => high("deletes a terraform workspace and its state"),
        "fmt" => moderate("rewrites the configuration files' formatting (terraform fmt)"),
        s => moderate(format!("changes terraform's state or files (terraform {s})")),
    }
}

pub(crate) fn aws(args: &[Arg], ctx: &Ctx) -> Verdict {
    let w = words(args);
    let service = w.first().copied().unwrap_or("");
    let op = w.get(1).copied().unwrap_or("");
    let recursive = has(args, "--recursive");
    if service == "s3" {
        return match op {
            "ls" | "presign" => Verdict::safe(),
            _ if has(args, "--dryrun") => Verdict::safe(),
            "rm" if recursive => {
                high(format!("deletes every object under {} (aws s3 rm --recursive)", w.get(2).unwrap_or(&"")))
                    .safer(ctx, insert_after(&ctx.raw, "rm", "--dryrun"))
            }
            "rb" if has(args, "--force") => high("deletes a bucket and everything in it (aws s3 rb --force)"),
            "sync" if has(args, "--delete") => {
                high("deletes files at the destination that are not in the source (aws s3 sync --delete)")
                    .safer(ctx, insert_after(&ctx.raw, "sync", "--dryrun"))
            }
            "rm" | "rb" | "mv" => moderate(format!("deletes or moves objects in S3 (aws s3 {op})")),
            _ => moderate(format!("copies files to or from S3 (aws s3 {op})")),
        };
    }
    let read = [
        "describe-",
        "list-",
        "get-",
        "head-",
        "lookup-",
        "search-",
        "batch-get-",
        "scan",
        "query",
        "filter-",
        "validate-",
        "estimate-",
        "simulate-",
        "test-",
    ];
    if matches!(service, "" | "help" | "--version")
        || w.contains(&"help")
        || (service == "sts" && op.starts_with("get-"))
        || (service == "configure" && matches!(op, "list" | "get" | "list-profiles"))
    {
        return Verdict::safe();
    }
    if read.iter().any(|r| op.starts_with(r)) && op != "get-object" && !(op.starts_with("get-") && w.len() > 4) {
        return Verdict::safe();
    }
    if [
        "delete-",
        "remove-",
        "terminate-",
        "purge-",
        "deregister-",
        "destroy-",
        "disable-",
        "revoke-",
        "detach-",
        "cancel-",
        "deactivate-",
    ]
    .iter()
    .any(|r| op.starts_with(r))
        || op == "rb"
    {
        return high(format!("deletes or shuts down cloud resources (aws {service} {op})"));
    }
    moderate(format!("changes cloud resources (aws {service} {op})"))
}

pub(crate) fn gcloud(name: &str, args: &[Arg], ctx: &Ctx) -> Verdict {
    let w = words(args);
    if name == "gsutil" {
        let op = w.first().copied().unwrap_or("");
        let recursive = short(args, 'r') || short(args, 'R') || short(args, 'a');
        return match op {
            "ls" | "cat" | "du" | "stat" | "hash" | "version" | "help" | "" => Verdict::safe(),
            "rm" if recursive => high(format!("deletes every object under {} (gsutil rm -r)", w.get(1).unwrap_or(&"")))
                .safer(ctx, swap(&ctx.raw, "rm", "ls")),
            "rb" => high("deletes a storage bucket (gsutil rb)"),
            "rsync" if short(args, 'd') => {
                high("deletes files at the destination that are not in the source (gsutil rsync -d)")
                    .safer(ctx, insert_after(&ctx.raw, "rsync", "-n"))
            }
            _ => moderate(format!("changes cloud storage (gsutil {op})")),
        };
    }
    let verbs: Vec<&str> = w.to_vec();
    if verbs.iter().any(|v| matches!(*v, "delete" | "remove" | "destroy" | "purge")) {
        if verbs.first() == Some(&"projects") {
            return critical("deletes a whole Google Cloud project and everything in it");
        }
        if verbs.contains(&"storage") && verbs.contains(&"rm") {
            return high("deletes cloud storage objects (gcloud storage rm)");
        }
        return high(format!("deletes cloud resources (gcloud {})", verbs.join(" ")));
    }
    if verbs.contains(&"storage") && verbs.contains(&"rm") {
        return if has(args, "--recursive") || short(args, 'r') {
            high("deletes every object under a path (gcloud storage rm -r)")
        } else {
            moderate("deletes cloud storage objects")
        };
    }
    let read = verbs.iter().any(|v| {
        matches!(
            *v,
            "list"
                | "describe"
                | "info"
                | "get-value"
                | "version"
                | "help"
                | "get-iam-policy"
                | "ls"
                | "cat"
                | "print-access-token"
                | "print-identity-token"
                | "get-credentials"
        )
    });
    if verbs.is_empty() || read && !verbs.contains(&"set") {
        return Verdict::safe();
    }
    moderate(format!("changes cloud resources (gcloud {})", verbs.join(" ")))
}

pub(crate) fn az(args: &[Arg]) -> Verdict {
    let w = words(args);
    if w.iter().any(|v| matches!(*v, "delete" | "purge" | "remove") || v.starts_with("delete-")) {
        if w.first() == Some(&"group") {
            return critical("deletes a whole Azure resource group and everything in it");
        }
        return high(format!("deletes cloud resources (az {})", w.join(" ")));
    }
    if w.is_empty()
        || w.iter().any(|v| matches!(*v, "list" | "show" | "version" | "account" | "find" | "get" | "--version"))
            && !w.iter().any(|v| matches!(*v, "set" | "create" | "update"))
    {
        return Verdict::safe();
    }
    moderate(format!("changes cloud resources (az {})", w.join(" ")))
}

pub(crate) fn gh(args: &[Arg]) -> Verdict {
    let w = words(args);
    let (area, op) = (w.first().copied().unwrap_or(""), w.get(1).copied().unwrap_or(""));
    if op == "delete" || (area == "repo" && op == "archive") {
        return high(format!("deletes on GitHub (gh {area} {op})"));
    }
    if area == "api" {
        let method =
            args.windows(2).find(|p| p[0].text == "-X" || p[0].text == "--method").map(|p| p[1].text.to_uppercase());
        return match method.as_deref() {
            Some("DELETE") => high("deletes through the GitHub API"),
            Some("GET") | None
                if !args
                    .iter()
                    .any(|a| matches!(a.text.as_str(), "-f" | "-F" | "--field" | "--raw-field" | "--input")) =>
            {
                Verdict::safe()
            }
            _ => moderate("changes things through the GitHub API"),
        };
    }
    let read = matches!(op, "list" | "view" | "status" | "checks" | "diff" | "watch" | "ls" | "show")
        || matches!(area, "status" | "--version" | "version" | "help" | "search" | "browse")
        || (area == "auth" && op == "status");
    if read || area.is_empty() {
        Verdict::safe()
    } else {
        moderate(format!("changes things on GitHub (gh {area} {op})"))
    }
}

pub(crate) fn npm(name: &str, args: &[Arg]) -> Verdict {
    let w = words(args);
    let sub = w.first().copied().unwrap_or("");
    match sub {
        "" if args.iter().any(|a| matches!(a.text.as_str(), "-v" | "--version" | "-h" | "--help")) => Verdict::safe(),
        "ls" | "list" | "ll" | "la" | "view" | "info" | "v" | "show" | "outdated" | "version"
            if sub != "version" || w.len() == 1 =>
        {
            Verdict::safe()
        }
        "search" | "whoami" | "root" | "prefix" | "bin" | "doctor" | "help" | "explain" | "why" | "fund" | "ping"
        | "query" | "licenses" => Verdict::safe(),
        "config" | "get" if matches!(w.get(1).copied(), Some("get" | "list" | "ls")) || sub == "get" => Verdict::safe(),
        "audit" if !w.contains(&"fix") => Verdict::safe(),
        "run" | "run-script" | "test" | "t" | "start" | "stop" | "restart" | "exec" | "x" | "dlx" | "create"
        | "init" => moderate(format!("runs the project's scripts or a package's code ({name} {sub})")),
        "publish" | "unpublish" | "deprecate" | "dist-tag" | "owner" | "access" | "token" => {
            moderate(format!("changes what is published on the registry ({name} {sub})"))
        }
        _ => moderate(format!("installs, removes or changes packages ({name} {sub})")),
    }
}

pub(crate) fn packages(name: &str, args: &[Arg]) -> Verdict {
    let w = words(args);
    let sub = w.first().copied().unwrap_or("");
    if w.is_empty()
        && args.iter().any(|a| matches!(a.text.as_str(), "-V" | "--version" | "-v" | "version" | "-h" | "--help"))
    {
        return Verdict::safe();
    }
    let read: &[&str] = match name {
        "pip" | "pip3" => {
            &["list", "show", "freeze", "check", "help", "index", "search", "inspect", "debug", "--version", "config"]
        }
        "pipx" => &["list", "environment", "--version"],
        "uv" => &["--version", "version", "tree", "help"],
        "poetry" => &["show", "check", "env", "--version", "about", "search", "version"],
        "conda" | "mamba" => &["list", "info", "search", "--version"],
        "gem" => &["list", "info", "search", "env", "which", "contents", "query", "specification", "help", "outdated"],
        "bundle" => &["list", "show", "info", "outdated", "check", "version", "platform", "doctor"],
        "cargo" => &[
            "tree",
            "metadata",
            "search",
            "pkgid",
            "locate-project",
            "verify-project",
            "read-manifest",
            "help",
            "version",
            "--version",
            "-V",
            "--list",
            "info",
        ],
        "go" => &["version", "list", "doc", "help"],
        "rustup" => &["show", "which", "--version", "help", "doc"],
        "brew" => &[
            "list",
            "ls",
            "info",
            "search",
            "outdated",
            "config",
            "deps",
            "leaves",
            "doctor",
            "--prefix",
            "--cellar",
            "--repository",
            "--cache",
            "uses",
            "desc",
            "commands",
            "shellenv",
            "--version",
            "home",
            "log",
            "cat",
            "formulae",
            "casks",
            "tap-info",
            "missing",
        ],
        "port" => &[
            "installed",
            "list",
            "info",
            "search",
            "deps",
            "contents",
            "outdated",
            "echo",
            "version",
            "provides",
            "variants",
        ],
        "snap" | "flatpak" => &["list", "info", "find", "search", "version", "remote-ls", "remotes", "connections"],
        "nix-env" => &["-q", "--query"],
        "composer" => &[
            "show",
            "info",
            "search",
            "outdated",
            "licenses",
            "depends",
            "why",
            "why-not",
            "validate",
            "diagnose",
            "--version",
        ],
        _ => &[],
    };
    let listing = |s: &str| read.contains(&s);
    // `brew --prefix`, `cargo --list`: a read-only option alone.
    let first = args.first().map_or("", |a| a.text.as_str());
    if w.is_empty() && listing(first) {
        return Verdict::safe();
    }
    if listing(sub)
        || (name == "go" && sub == "env" && !short(args, 'w') && !has(args, "-u"))
        || (matches!(name, "rustup") && w.len() >= 2 && w[1] == "list")
        || (name == "nix-env" && (short(args, 'q')))
    {
        if name == "pip" && sub == "config" && !matches!(w.get(1).copied(), Some("list" | "get" | "debug")) {
            return moderate("changes pip's configuration");
        }
        return Verdict::safe();
    }
    if name == "cargo" && (sub == "install" || sub == "uninstall")
        || matches!(
            sub,
            "install"
                | "uninstall"
                | "remove"
                | "add"
                | "upgrade"
                | "update"
                | "reinstall"
                | "i"
                | "rm"
                | "sync"
                | "purge"
        )
    {
        return moderate(format!("installs, removes or updates software ({name} {sub})"));
    }
    moderate(format!("builds, runs or changes things with {name} {sub}"))
}

/// Packages whose removal leaves a system that cannot boot, log in or
/// install anything.
const ESSENTIAL: &[&str] = &[
    "libc6",
    "libc-bin",
    "glibc",
    "systemd",
    "bash",
    "coreutils",
    "dpkg",
    "apt",
    "sudo",
    "init",
    "udev",
    "login",
    "passwd",
    "util-linux",
    "base-files",
    "base",
    "linux",
    "kernel",
    "grub",
    "grub2",
    "grub-pc",
    "grub-efi",
    "python3",
    "openssh-server",
    "libstdc++6",
    "dnf",
    "yum",
    "rpm",
    "pacman",
    "linux-firmware",
    "systemd-sysv",
    "zlib1g",
    "libsystemd0",
];

pub(crate) fn system_packages(name: &str, args: &[Arg]) -> Verdict {
    let w = words(args);
    let sub = w.first().copied().unwrap_or("");
    let flags: Vec<&str> = args.iter().map(|a| a.text.as_str()).filter(|t| t.starts_with('-')).collect();
    let read = match name {
        "apt-cache" | "dpkg-query" => true,
        "apt" | "apt-get" | "aptitude" => matches!(
            sub,
            "list"
                | "show"
                | "search"
                | "policy"
                | "depends"
                | "rdepends"
                | "madison"
                | "changelog"
                | "showsrc"
                | "check"
                | "why"
                | "why-not"
                | "-v"
                | "--version"
                | "help"
                | ""
        ),
        "dpkg" => flags.iter().any(|f| {
            matches!(
                *f,
                "-l" | "-L"
                    | "-s"
                    | "-S"
                    | "-p"
                    | "-c"
                    | "-I"
                    | "--list"
                    | "--listfiles"
                    | "--status"
                    | "--search"
                    | "--print-avail"
                    | "--get-selections"
                    | "--print-architecture"
                    | "--contents"
                    | "--info"
                    | "--compare-versions"
                    | "--version"
                    | "--audit"
                    | "-C"
                    | "--print-foreign-architectures"
            )
        }),
        "rpm" => {
            flags.iter().any(|f| {
                f.starts_with("-q")
                    || *f == "--query"
                    || *f == "-V"
                    || *f == "--verify"
                    || *f == "--version"
                    || *f == "--eval"
                    || *f == "-E"
            }) && !flags
                .iter()
                .any(|f| matches!(*f, "-e" | "--erase" | "-i" | "-U" | "-F" | "--install" | "--upgrade" | "--freshen"))
        }
        "dnf" | "yum" | "zypper" => {
            matches!(
                sub,
                "list"
                    | "info"
                    | "search"
                    | "repolist"
                    | "provides"
                    | "whatprovides"
                    | "deplist"
                    | "check-update"
                    | "updateinfo"
                    | "repoquery"
                    | "se"
                    | "if"
                    | "lr"
                    | "repos"
                    | "packages"
                    | "pa"
                    | "patches"
                    | "--version"
                    | "help"
            ) || (sub == "history" && w.get(1).is_none_or(|s| matches!(*s, "list" | "info")))
        }
        "pacman" | "yay" | "paru" => {
            flags.iter().any(|f| {
                f.starts_with("-Q")
                    || f.starts_with("-Ss")
                    || f.starts_with("-Si")
                    || f.starts_with("-Sl")
                    || f.starts_with("-Sg")
                    || f.starts_with("-F")
                    || f.starts_with("-T")
                    || *f == "-V"
                    || *f == "--version"
            }) && !flags.iter().any(|f| {
                f.starts_with("-R") || f.starts_with("-U") || *f == "-S" || f.starts_with("-Sy") || f.starts_with("-Su")
            })
        }
        "apk" => matches!(sub, "info" | "search" | "list" | "policy" | "stats" | "version" | "dot"),
        "emerge" => flags.iter().any(|f| matches!(*f, "-s" | "--search" | "-p" | "--pretend" | "--info")),
        _ => false,
    };
    if read {
        return Verdict::safe();
    }
    let removes = matches!(sub, "remove" | "purge" | "autoremove" | "erase" | "rm" | "del" | "uninstall")
        || flags
            .iter()
            .any(|f| matches!(*f, "-r" | "-P" | "--remove" | "--purge" | "-e" | "--erase") || f.starts_with("-R"));
    if removes {
        // A kernel, libc, the init system, or a bare `*`.
        let essential =
            w.iter().any(|p| {
                let p = p.trim_end_matches('*');
                ESSENTIAL.contains(&p) || p.starts_with("linux-image")
            }) || args.iter().any(|a| a.text.trim_matches(['*', '\'', '"']).is_empty() && a.text.contains('*'));
        if essential {
            return high(format!("removes packages the system needs to boot or run ({name} {sub})"));
        }
        return moderate(format!("removes software ({name} {sub})"));
    }
    moderate(format!("installs or updates software ({name} {sub})"))
}
