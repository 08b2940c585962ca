//! What each command does, by name and flags. A command is safe only when
//! it is listed here as reading only, used without a flag that makes it
//! write or run something; a command not listed is at least moderate.
use crate::verdict::{Ctx, Judge, Verdict, Write};
use crate::words::{place, Arg, Place, UNKNOWN};
use crate::Risk;

/// Read-only utilities, with the short flags (letters) and long flags
/// that make them write files or run programs.
const READ_ONLY: &[(&str, &str, &[&str])] = &[
    ("ls", "", &[]),
    ("dir", "", &[]),
    ("vdir", "", &[]),
    ("exa", "", &[]),
    ("eza", "", &[]),
    ("lsd", "", &[]),
    ("cat", "", &[]),
    ("tac", "", &[]),
    ("nl", "", &[]),
    ("head", "", &[]),
    ("tail", "", &[]),
    ("wc", "", &[]),
    ("cut", "", &[]),
    ("paste", "", &[]),
    ("join", "", &[]),
    ("comm", "", &[]),
    ("cmp", "", &[]),
    ("diff", "", &[]),
    ("diff3", "", &[]),
    ("colordiff", "", &[]),
    ("sdiff", "o", &["--output"]),
    ("tr", "", &[]),
    ("fold", "", &[]),
    ("fmt", "", &[]),
    ("column", "", &[]),
    ("expand", "", &[]),
    ("unexpand", "", &[]),
    ("rev", "", &[]),
    ("od", "", &[]),
    ("hexdump", "", &[]),
    ("hd", "", &[]),
    ("strings", "", &[]),
    ("file", "C", &["--compile"]),
    ("stat", "", &[]),
    ("du", "", &[]),
    ("df", "", &[]),
    ("sort", "o", &["--output", "--compress-program"]),
    ("grep", "", &[]),
    ("egrep", "", &[]),
    ("fgrep", "", &[]),
    ("zgrep", "", &[]),
    ("zegrep", "", &[]),
    ("zfgrep", "", &[]),
    ("bzgrep", "", &[]),
    ("xzgrep", "", &[]),
    ("rg", "", &["--pre"]),
    ("ag", "", &[]),
    ("ack", "", &["--pager"]),
    ("fd", "xX", &["--exec", "--exec-batch"]),
    ("fdfind", "xX", &["--exec", "--exec-batch"]),
    ("tree", "o", &[]),
    ("locate", "", &[]),
    ("mlocate", "", &[]),
    ("plocate", "", &[]),
    ("which", "", &[]),
    ("whereis", "", &[]),
    ("type", "", &[]),
    ("realpath", "", &[]),
    ("readlink", "", &[]),
    ("basename", "", &[]),
    ("dirname", "", &[]),
    ("pwd", "", &[]),
    ("echo", "", &[]),
    ("printf", "", &[]),
    ("print", "z", &[]),
    ("true", "", &[]),
    ("false", "", &[]),
    ("test", "", &[]),
    ("[", "", &[]),
    (":", "", &[]),
    ("seq", "", &[]),
    ("yes", "", &[]),
    ("sleep", "", &[]),
    ("cal", "", &[]),
    ("ncal", "", &[]),
    ("uname", "", &[]),
    ("whoami", "", &[]),
    ("id", "", &[]),
    ("groups", "", &[]),
    ("who", "", &[]),
    ("w", "", &[]),
    ("last", "", &[]),
    ("lastb", "", &[]),
    ("lastlog", "", &[]),
    ("users", "", &[]),
    ("uptime", "", &[]),
    ("free", "", &[]),
    ("vmstat", "", &[]),
    ("iostat", "", &[]),
    ("mpstat", "", &[]),
    ("nproc", "", &[]),
    ("lscpu", "", &[]),
    ("lsblk", "", &[]),
    ("lsusb", "", &[]),
    ("lspci", "", &[]),
    ("lsmod", "", &[]),
    ("modinfo", "", &[]),
    ("lshw", "", &[]),
    ("getconf", "", &[]),
    ("arch", "", &[]),
    ("ps", "", &[]),
    ("pgrep", "", &[]),
    ("pidof", "", &[]),
    ("top", "", &[]),
    ("htop", "", &[]),
    ("btop", "", &[]),
    ("atop", "w", &[]),
    ("pstree", "", &[]),
    ("lsof", "", &[]),
    ("netstat", "", &[]),
    ("ss", "K", &["--kill"]),
    ("ping", "", &[]),
    ("ping6", "", &[]),
    ("traceroute", "", &[]),
    ("traceroute6", "", &[]),
    ("tracepath", "", &[]),
    ("mtr", "", &[]),
    ("dig", "", &[]),
    ("nslookup", "", &[]),
    ("host", "", &[]),
    ("whois", "", &[]),
    ("drill", "", &[]),
    ("printenv", "", &[]),
    ("locale", "", &[]),
    ("man", "", &[]),
    ("info", "", &[]),
    ("apropos", "", &[]),
    ("whatis", "", &[]),
    ("tldr", "", &[]),
    ("help", "", &[]),
    ("jobs", "", &[]),
    ("dirs", "", &[]),
    ("getent", "", &[]),
    ("md5sum", "", &[]),
    ("sha1sum", "", &[]),
    ("sha224sum", "", &[]),
    ("sha256sum", "", &[]),
    ("sha384sum", "", &[]),
    ("sha512sum", "", &[]),
    ("b2sum", "", &[]),
    ("shasum", "", &[]),
    ("md5", "", &[]),
    ("cksum", "", &[]),
    ("sum", "", &[]),
    ("base64", "o", &["--output"]),
    ("base32", "", &[]),
    ("basenc", "", &[]),
    ("jq", "", &[]),
    ("gojq", "", &[]),
    ("jaq", "", &[]),
    ("yq", "i", &["--inplace"]),
    ("xmllint", "", &["--output"]),
    ("zcat", "", &[]),
    ("gzcat", "", &[]),
    ("bzcat", "", &[]),
    ("xzcat", "", &[]),
    ("zstdcat", "", &[]),
    ("lz4cat", "", &[]),
    ("zless", "", &[]),
    ("zmore", "", &[]),
    ("less", "", &[]),
    ("more", "", &[]),
    ("most", "", &[]),
    ("bat", "", &[]),
    ("batcat", "", &[]),
    ("numfmt", "", &[]),
    ("factor", "", &[]),
    ("expr", "", &[]),
    ("bc", "", &[]),
    ("iconv", "o", &["--output"]),
    ("shuf", "o", &["--output"]),
    ("pr", "", &[]),
    ("ptx", "", &[]),
    ("tsort", "", &[]),
    ("look", "", &[]),
    ("lsattr", "", &[]),
    ("tty", "", &[]),
    ("tput", "", &[]),
    ("clear", "", &[]),
    ("reset", "", &[]),
    ("sw_vers", "", &[]),
    ("system_profiler", "", &[]),
    ("vm_stat", "", &[]),
    ("findmnt", "", &[]),
    ("blkid", "", &[]),
    ("lsns", "", &[]),
    ("lslocks", "", &[]),
    ("lsipc", "", &[]),
    ("lslogins", "", &[]),
    ("nmap", "oiO", &["--script", "--resume", "-oN", "-oX", "-oG", "-oA"]),
    ("read", "", &[]),
    ("wait", "", &[]),
    ("exit", "", &[]),
    ("logout", "", &[]),
    ("return", "", &[]),
    ("break", "", &[]),
    ("continue", "", &[]),
    ("shift", "", &[]),
    ("set", "", &[]),
    ("shopt", "", &[]),
    ("setopt", "", &[]),
    ("unsetopt", "", &[]),
    ("unset", "", &[]),
    ("let", "", &[]),
    ("hash", "", &[]),
    ("times", "", &[]),
    ("complete", "", &[]),
    ("compgen", "", &[]),
    ("caller", "", &[]),
    ("whence", "", &[]),
    ("where", "", &[]),
    ("rehash", "", &[]),
    ("unalias", "", &[]),
    ("true", "", &[]),
    ("pbpaste", "", &[]),
    ("say", "o", &["--output-file"]),
    ("mdfind", "", &[]),
    ("mdls", "", &[]),
    ("ffprobe", "", &[]),
    ("mediainfo", "", &[]),
    ("pdfinfo", "", &[]),
    ("identify", "", &[]),
    ("nm", "", &[]),
    ("objdump", "", &[]),
    ("readelf", "", &[]),
    ("otool", "", &[]),
    ("size", "", &[]),
    ("ldd", "", &[]),
    ("namei", "", &[]),
    ("envsubst", "", &[]),
    ("hostid", "", &[]),
    ("logname", "", &[]),
    ("groups", "", &[]),
    ("finger", "", &[]),
    ("pinky", "", &[]),
    ("dmidecode", "", &[]),
    ("sensors", "", &[]),
    ("acpi", "", &[]),
    ("upower", "", &[]),
    ("inxi", "", &[]),
    ("neofetch", "", &[]),
    ("fastfetch", "", &[]),
    ("screenfetch", "", &[]),
    ("ioreg", "", &[]),
    ("kextstat", "", &[]),
    ("csrutil", "", &[]),
    ("wdiff", "", &[]),
    ("dwdiff", "", &[]),
    ("cksum", "", &[]),
    ("xmlstarlet", "", &["ed", "-L", "--inplace"]),
    ("csvlook", "", &[]),
    ("csvcut", "", &[]),
    ("csvstat", "", &[]),
    ("mlr", "", &["-I", "--from"]),
    ("tokei", "", &[]),
    ("cloc", "", &["--report-file", "--out"]),
    ("scc", "", &[]),
    ("dust", "", &[]),
    ("duf", "", &[]),
    ("ncdu", "", &[]),
    ("procs", "", &[]),
    ("glances", "", &[]),
    ("iotop", "", &[]),
    ("nethogs", "", &[]),
    ("iftop", "", &[]),
    ("bmon", "", &[]),
    ("ifstat", "", &[]),
    ("nload", "", &[]),
    ("timedatectl", "", &[]),
    ("hostnamectl", "", &[]),
    ("localectl", "", &[]),
    ("loginctl", "", &[]),
    ("busctl", "", &[]),
    ("networkctl", "", &[]),
    ("resolvectl", "", &[]),
    ("lsb_release", "", &[]),
    ("chage", "dEImMW", &[]),
    // fish's builtins that only compute or print.
    ("string", "", &[]),
    ("math", "", &[]),
    ("count", "", &[]),
    ("contains", "", &[]),
    ("status", "", &[]),
    ("set_color", "", &[]),
    ("isatty", "", &[]),
    ("random", "", &[]),
    ("path", "", &[]),
    ("argparse", "", &[]),
    ("dirh", "", &[]),
    ("prevd", "", &[]),
    ("nextd", "", &[]),
    ("cdh", "", &[]),
    ("functions", "ec", &["--erase", "--copy"]),
    ("zipinfo", "", &[]),
    ("fish_is_root_user", "", &[]),
    ("emit", "", &[]),
    ("autoload", "", &[]),
    ("zstyle", "", &[]),
    ("compinit", "", &[]),
    ("compdef", "", &[]),
];

/// Subcommands of these tools that only show state.
fn read_only_sub(tool: &str, sub: &str, next: Option<&str>) -> bool {
    match tool {
        "timedatectl" | "hostnamectl" | "localectl" => matches!(
            sub,
            "status"
                | "show"
                | "list-timezones"
                | "list-keymaps"
                | "list-locales"
                | "timesync-status"
                | "show-timesync"
        ),
        "loginctl" => {
            sub.starts_with("list")
                || matches!(
                    sub,
                    "show-session" | "show-user" | "session-status" | "user-status" | "show-seat" | "seat-status"
                )
        }
        "networkctl" => matches!(sub, "list" | "status" | "lldp" | "label"),
        "resolvectl" => matches!(sub, "status" | "query" | "statistics" | "dns" | "domain" | "log-level"),
        "busctl" => matches!(sub, "list" | "status" | "tree" | "introspect" | "get-property" | "monitor" | "capture"),
        "csrutil" => matches!(sub, "status" | "authenticated-root") && next.is_none_or(|n| n == "status"),
        _ => true,
    }
}

/// Destructive and writing tools, for commands named by a pattern.
pub(crate) const DANGER_NAMES: &[&str] = &[
    "rm",
    "rmdir",
    "unlink",
    "shred",
    "srm",
    "wipe",
    "dd",
    "mkfs",
    "mke2fs",
    "mkswap",
    "wipefs",
    "fdisk",
    "sfdisk",
    "gdisk",
    "sgdisk",
    "parted",
    "blkdiscard",
    "truncate",
    "chmod",
    "chown",
    "chgrp",
    "mv",
    "cp",
    "tee",
    "kill",
    "pkill",
    "killall",
    "shutdown",
    "reboot",
    "halt",
    "poweroff",
    "crontab",
    "curl",
    "wget",
];

pub(crate) const KNOWN_NAMES: &[&str] =
    &["ls", "cat", "find", "grep", "sed", "awk", "git", "sh", "bash", "python3", "perl"];

pub(crate) fn is_known(name: &str) -> bool {
    READ_ONLY.iter().any(|(n, ..)| *n == name) || DANGER_NAMES.contains(&name) || KNOWN_NAMES.contains(&name)
}

/// Options and operands of a command whose options take no values.
struct Opts<'a> {
    args: &'a [Arg],
}

impl<'a> Opts<'a> {
    fn short(&self, c: char) -> bool {
        self.flags().any(|f| !f.starts_with("--") && f[1..].contains(c))
    }
    fn long(&self, name: &str) -> bool {
        self.flags().any(|f| f == name || (f.starts_with(name) && f[name.len()..].starts_with('=')))
    }
    fn any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.long(n))
    }
    fn flags(&self) -> impl Iterator<Item = &'a str> {
        self.args
            .iter()
            .take_while(|a| a.text != "--")
            .map(|a| a.text.as_str())
            .filter(|t| t.starts_with('-') && t.len() > 1)
    }
    fn operands(&self) -> Vec<&'a Arg> {
        let mut out = vec![];
        let mut rest = false;
        for a in self.args {
            if rest || !a.text.starts_with('-') || a.text == "-" || a.dynamic {
                out.push(a);
            } else if a.text == "--" {
                rest = true;
            }
        }
        out
    }
    fn value(&self, names: &[&str]) -> Option<&'a Arg> {
        for (i, a) in self.args.iter().enumerate() {
            for n in names {
                if a.text == *n {
                    return self.args.get(i + 1);
                }
            }
        }
        None
    }
}

/// Operands, given the options that take the next word as their value.
fn operands_skipping<'a>(args: &'a [Arg], valued: &[&str]) -> Vec<&'a Arg> {
    let mut out = vec![];
    let mut skip = false;
    let mut rest = false;
    for a in args {
        if skip {
            skip = false;
        } else if rest || !a.text.starts_with('-') || a.text == "-" {
            out.push(a);
        } else if a.text == "--" {
            rest = true;
        } else if valued.contains(&a.text.as_str()) {
            skip = true;
        }
    }
    out
}

fn texts(args: &[Arg]) -> Vec<&str> {
    args.iter().map(|a| a.text.as_str()).collect()
}

fn moderate(reason: impl Into<String>) -> Verdict {
    Verdict::new(Risk::Moderate, reason)
}

fn high(reason: impl Into<String>) -> Verdict {
    Verdict::new(Risk::High, reason)
}

fn critical(reason: impl Into<String>) -> Verdict {
    Verdict::new(Risk::Critical, reason)
}

/// Edits the command as written: each whitespace-separated word is passed
/// to `f`, which may replace it (`Some("")` drops it).
fn edit(raw: &str, mut f: impl FnMut(&str) -> Option<String>) -> Option<String> {
    if raw.contains('\n') {
        return None;
    }
    let mut changed = false;
    let mut out = vec![];
    for w in raw.split_whitespace() {
        match f(w) {
            Some(r) => {
                changed = true;
                if !r.is_empty() {
                    out.push(r);
                }
            }
            None => out.push(w.to_string()),
        }
    }
    changed.then(|| out.join(" "))
}

pub(crate) fn command(j: &mut Judge, name: &str, args: &[Arg], ctx: &Ctx) -> Verdict {
    let o = Opts { args };
    let sub = args.iter().find(|a| !a.text.starts_with('-')).map(|a| a.text.as_str());
    match name {
        "rm" | "rmdir" | "unlink" | "del" | "trash" | "trash-put" | "gio" => rm(j, name, args, ctx),
        "find" | "gfind" => find(j, args, ctx),
        "shred" | "srm" | "wipe" => {
            let mut v = high(format!("overwrites files to destroy them for good ({name})"));
            for t in o.operands() {
                if let Place::Disk(d) = place(t, j.cwd.as_ref()) {
                    v = critical(format!("overwrites the disk {d}, destroying everything on it"));
                }
            }
            v
        }
        "truncate" => {
            let mut v = high("cuts files to a size, destroying their contents (truncate)");
            for t in o.operands().into_iter().skip(if o.short('s') { 1 } else { 0 }) {
                v = v.or(j.write_to(t, Write::Overwrite));
            }
            v
        }
        "dd" => dd(j, args),
        n if n.starts_with("mkfs")
            || n.starts_with("newfs")
            || matches!(n, "mke2fs" | "mkdosfs" | "mkntfs" | "mkexfatfs" | "mformat" | "mkfs_apfs") =>
        {
            if args.iter().all(|a| matches!(a.text.as_str(), "-V" | "--version" | "--help" | "-h")) && !args.is_empty()
            {
                return Verdict::safe();
            }
            let target = o.operands().last().map_or("a disk".to_string(), |a| a.text.clone());
            critical(format!("formats {target}, erasing everything on it"))
        }
        "mkswap" => {
            let t = o.operands().last().copied();
            match t.map(|t| place(t, j.cwd.as_ref())) {
                Some(Place::Disk(d)) => critical(format!("formats {d} as swap, erasing everything on it")),
                _ => {
                    high(format!("formats {} as swap, erasing what it holds", t.map_or("a file", |a| a.text.as_str())))
                }
            }
        }
        "wipefs" => {
            if o.short('a') || o.long("--all") || o.short('o') || o.long("--offset") {
                if o.short('n') || o.long("--no-act") {
                    return Verdict::safe();
                }
                critical("wipes the partition table and file system signatures off a disk (wipefs)")
            } else {
                Verdict::safe()
            }
        }
        "fdisk" | "gdisk" | "cfdisk" | "sfdisk" | "sgdisk" | "parted" | "gparted" | "diskpart" => {
            partitions(name, args)
        }
        "blkdiscard" => critical("discards every block on a disk, erasing it (blkdiscard)"),
        "badblocks" if o.short('w') => critical("overwrites a whole disk with test patterns (badblocks -w)"),
        "badblocks" => moderate("scans a disk for bad blocks"),
        "cryptsetup" => match sub {
            Some("luksFormat" | "erase" | "luksErase" | "reencrypt" | "luksKillSlot" | "luksRemoveKey" | "format") => {
                critical("formats or erases an encrypted disk, destroying its data (cryptsetup)")
            }
            Some("status" | "luksDump" | "isLuks" | "luksUUID" | "tcryptDump" | "benchmark") => Verdict::safe(),
            _ => moderate("opens, closes or changes an encrypted disk (cryptsetup)"),
        },
        "diskutil" => diskutil(args),
        "hdparm" => {
            if o.any(&[
                "--security-erase",
                "--security-erase-enhanced",
                "--trim-sector-ranges",
                "--write-sector",
                "--fwdownload",
                "--make-bad-sector",
                "--dco-restore",
            ]) {
                critical("erases or overwrites a disk through its firmware (hdparm)")
            } else if args.iter().all(|a| {
                matches!(a.text.as_str(), "-I" | "-i" | "-t" | "-T" | "-tT" | "-g" | "-C") || !a.text.starts_with('-')
            }) {
                Verdict::safe()
            } else {
                moderate("changes a disk's settings (hdparm)")
            }
        }
        "nvme" => match sub {
            Some("format" | "sanitize" | "delete-ns" | "write-zeroes" | "write" | "fw-download" | "fw-commit") => {
                critical("formats or erases an NVMe disk (nvme)")
            }
            Some(
                "list" | "smart-log" | "id-ctrl" | "id-ns" | "error-log" | "list-ns" | "list-subsys" | "fw-log"
                | "version" | "help",
            ) => Verdict::safe(),
            _ => moderate("changes an NVMe disk's settings"),
        },
        "zpool" => match sub {
            Some("destroy" | "labelclear") => critical("destroys a ZFS pool and all its data"),
            Some("list" | "status" | "get" | "iostat" | "history" | "events") => Verdict::safe(),
            _ => moderate("changes a ZFS pool"),
        },
        "zfs" => match sub {
            Some("destroy") => critical("destroys a ZFS dataset or snapshot and its data"),
            Some("rollback") => high("rolls a ZFS dataset back, losing later changes"),
            Some("list" | "get" | "diff" | "holds" | "userspace" | "groupspace") => Verdict::safe(),
            _ => moderate("changes a ZFS dataset"),
        },
        "lvremove" | "vgremove" | "pvremove" | "lvreduce" => {
            critical(format!("removes or shrinks disk volumes, deleting their data ({name})"))
        }
        "lvs" | "vgs" | "pvs" | "lvdisplay" | "vgdisplay" | "pvdisplay" | "lvscan" | "vgscan" | "pvscan" => {
            Verdict::safe()
        }
        "mdadm" => {
            if o.any(&["--zero-superblock", "--create"]) || o.short('C') {
                critical("creates or wipes a RAID array, erasing its disks (mdadm)")
            } else if o.any(&["--detail", "--examine", "--query"]) || o.short('D') || o.short('E') || o.short('Q') {
                Verdict::safe()
            } else {
                moderate("changes a RAID array (mdadm)")
            }
        }
        "chmod" | "chown" | "chgrp" | "chflags" | "chattr" | "setfacl" | "lchown" => perms(j, name, args, ctx),
        "cp" | "gcp" | "install" | "ln" | "gln" | "ditto" => copy(j, name, args),
        "mv" | "gmv" => mv(j, args),
        "rsync" => rsync(j, args, ctx),
        "scp" | "sftp" => {
            let mut v = moderate(format!("copies files to or from another machine ({name})"));
            let ops = o.operands();
            if ops.last().is_some_and(|d| d.text.contains(':')) {
                for s in &ops[..ops.len() - 1] {
                    if matches!(place(s, j.cwd.as_ref()), Place::Secrets(_) | Place::Startup(_))
                        || s.text.contains("id_rsa")
                        || s.text.contains("id_ed25519")
                    {
                        v = v.or(high(format!(
                            "copies {}, which holds keys or credentials, to another machine",
                            s.text
                        )));
                    }
                }
            }
            if let Some(dest) = o.operands().last() {
                if !dest.text.contains(':') {
                    v = v.or(j.write_to(dest, Write::Copy));
                }
            }
            v
        }
        "rclone" => match sub {
            Some(
                "ls" | "lsd" | "lsl" | "lsf" | "lsjson" | "size" | "about" | "listremotes" | "version" | "tree" | "cat"
                | "md5sum" | "sha1sum" | "hashsum" | "check" | "config",
            ) if sub != Some("config") || args.iter().any(|a| a.text == "show") => Verdict::safe(),
            _ if o.short('n') || o.long("--dry-run") => Verdict::safe(),
            Some("sync" | "purge" | "delete" | "deletefile" | "rmdir" | "rmdirs" | "cleanup" | "dedupe") => {
                high(format!("deletes files on a remote (rclone {})", sub.unwrap_or("")))
                    .safer(ctx, edit(&ctx.raw, |w| (w == "rclone").then(|| "rclone --dry-run".to_string())))
            }
            _ => moderate("copies files to or from a remote (rclone)"),
        },
        "tee" => {
            let mut v = Verdict::safe();
            let append = o.short('a') || o.long("--append");
            for t in o.operands() {
                v = v.or(j.write_to(t, if append { Write::Append } else { Write::Overwrite }));
            }
            v
        }
        "mkdir" | "gmkdir" => {
            let mut v =
                moderate(format!("creates the folder {}", o.operands().first().map_or("", |a| a.text.as_str())));
            for t in o.operands() {
                let w = j.write_to(t, Write::Copy);
                if w.risk > Risk::Moderate {
                    v = v.or(w);
                }
            }
            v
        }
        "touch" | "gtouch" => {
            let mut v = moderate(format!(
                "creates {} or updates its time",
                o.operands().first().map_or("files", |a| a.text.as_str())
            ));
            for t in o.operands() {
                let w = j.write_to(t, Write::Copy);
                if w.risk > Risk::Moderate {
                    v = v.or(w);
                }
            }
            v
        }
        "mkfifo" | "mknod" | "mktemp" | "split" | "csplit" | "patch" | "ar" | "ranlib" | "strip" | "objcopy" => {
            moderate(format!("creates or changes files ({name})"))
        }
        "sed" | "gsed" => sed(j, args),
        "tar" | "gtar" | "bsdtar" => tar(j, args),
        "zip" | "7z" | "7za" | "7zr" | "rar" | "unrar" | "unzip" | "cpio" | "pax" => archive(j, name, args),
        "gzip" | "gunzip" | "bzip2" | "bunzip2" | "xz" | "unxz" | "zstd" | "unzstd" | "lz4" | "lzma" | "unlzma"
        | "compress" | "uncompress" | "pigz" | "brotli" | "lzip" => {
            if o.short('l')
                || o.short('t')
                || o.short('c')
                || o.any(&["--list", "--test", "--stdout", "--to-stdout", "--version", "--help"])
                || (o.operands().is_empty() && ctx.stdin.some)
            {
                Verdict::safe()
            } else {
                let keep = o.short('k') || o.long("--keep");
                moderate(if keep {
                    format!("compresses or expands files ({name}), writing new ones beside them")
                } else {
                    format!("compresses or expands files in place ({name}), replacing the originals")
                })
            }
        }
        // `uniq IN OUT`, `xxd IN OUT`: a second operand is written.
        "uniq" | "guniq" => {
            match operands_skipping(args, &["-f", "-s", "-w", "--skip-fields", "--skip-chars", "--check-chars"]).get(1)
            {
                Some(out) => j.write_to(out, Write::Overwrite),
                None => Verdict::safe(),
            }
        }
        "xxd" => match operands_skipping(
            args,
            &["-l", "-s", "-c", "-g", "-o", "-n", "-len", "-seek", "-cols", "-groupsize", "-offset", "-name"],
        )
        .get(1)
        {
            Some(out) => j.write_to(out, Write::Overwrite),
            None => Verdict::safe(),
        },
        "date" | "gdate" => {
            if o.short('s') || o.long("--set") {
                return moderate("sets the system clock");
            }
            let j_flag = o.short('j');
            let mut skip = false;
            for a in args {
                if skip {
                    skip = false;
                    continue;
                }
                if matches!(a.text.as_str(), "-d" | "--date" | "-r" | "--reference" | "-f" | "--file" | "-v" | "-I") {
                    skip = a.text != "-I";
                    continue;
                }
                if !a.text.starts_with('-') && !a.text.starts_with('+') && !j_flag {
                    return moderate("sets the system clock");
                }
            }
            Verdict::safe()
        }
        "hostname" => {
            if o.operands().is_empty() || o.short('F') {
                if o.short('F') || o.long("--file") {
                    return moderate("renames the machine");
                }
                Verdict::safe()
            } else {
                moderate("renames the machine")
            }
        }
        "cd" | "pushd" | "popd" | "chdir" => {
            let target = o.operands().into_iter().next();
            if name != "popd" {
                j.set_cwd(target);
            } else {
                j.cwd = None;
            }
            Verdict::safe()
        }
        "export" | "declare" | "typeset" | "local" | "readonly" | "integer" | "float" => Verdict::safe(),
        "unset" if args.iter().any(|a| a.text == "HISTFILE") => moderate("turns off your shell history"),
        "set" if j.dialect == crate::Dialect::Fish && (o.short('U') || o.long("--universal")) => {
            moderate("sets a universal variable, which every fish session keeps")
        }
        "funcsave" | "funced" | "fish_add_path" | "fish_config" | "fish_update_completions" => {
            moderate(format!("changes your fish configuration ({name})"))
        }
        "history" => {
            if args.iter().all(|a| a.text.chars().all(|c| c.is_ascii_digit())) {
                Verdict::safe()
            } else {
                moderate("changes or erases your shell history")
            }
        }
        "fc" if o.short('l') => Verdict::safe(),
        "fc" | "r" => moderate("runs commands again from your history"),
        "alias" | "abbr" => alias(j, name, args),
        "trap" => match args.first() {
            Some(code) if !code.text.starts_with('-') && !code.dynamic => {
                let d = j.dialect;
                j.code(&code.text, d, &Default::default())
                    .at_least(Risk::Moderate, "runs code when the shell gets a signal or exits (trap)")
            }
            Some(c) if c.dynamic => high("runs code only known when it runs, when the shell gets a signal (trap)"),
            _ => Verdict::safe(),
        },
        "umask" => {
            if o.operands().is_empty() {
                Verdict::safe()
            } else {
                moderate("changes the default permissions of new files")
            }
        }
        "ulimit" => {
            if o.operands().is_empty() {
                Verdict::safe()
            } else {
                moderate("changes this shell's resource limits")
            }
        }
        "bind" | "bindkey" => {
            let listing = args.iter().all(|a| {
                matches!(a.text.as_str(), "-l" | "-p" | "-P" | "-v" | "-V" | "-s" | "-S" | "-X" | "-L" | "-q")
            });
            if listing || (name == "bindkey" && args.is_empty()) {
                Verdict::safe()
            } else {
                moderate("changes key bindings for this shell")
            }
        }
        "stty" => {
            if args
                .iter()
                .all(|a| matches!(a.text.as_str(), "-a" | "-g" | "--all" | "--save" | "size" | "speed" | "-F"))
            {
                Verdict::safe()
            } else {
                moderate("changes terminal settings")
            }
        }
        "ip" => ip(args),
        "ifconfig" => {
            if o.operands().len() <= 1 {
                Verdict::safe()
            } else {
                moderate("changes network settings (ifconfig)")
            }
        }
        "route" => match sub {
            None | Some("print" | "get" | "show" | "-n") => Verdict::safe(),
            _ if o.short('n') && o.operands().is_empty() => Verdict::safe(),
            _ => moderate("changes the network routes"),
        },
        "arp" => {
            if o.short('d') || o.short('s') {
                moderate("changes the ARP table")
            } else {
                Verdict::safe()
            }
        }
        "sysctl" => {
            if o.short('w') || args.iter().any(|a| a.text.contains('=')) {
                moderate("changes a kernel setting (sysctl)")
            } else {
                Verdict::safe()
            }
        }
        "dmesg" => {
            if o.short('c')
                || o.short('C')
                || o.short('D')
                || o.short('E')
                || o.short('n')
                || o.any(&["--clear", "--read-clear", "--console-off", "--console-on", "--console-level"])
            {
                moderate("clears or changes the kernel log")
            } else {
                Verdict::safe()
            }
        }
        "journalctl" => {
            if o.any(&[
                "--vacuum-size",
                "--vacuum-time",
                "--vacuum-files",
                "--rotate",
                "--flush",
                "--sync",
                "--relinquish-var",
                "--smart-relinquish-var",
                "--setup-keys",
                "--update-catalog",
            ]) {
                moderate("deletes or rotates system logs (journalctl)")
            } else {
                Verdict::safe()
            }
        }
        "mount" => {
            if args.is_empty()
                || args.iter().all(|a| {
                    matches!(a.text.as_str(), "-l" | "-t" | "-v")
                        || !a.text.starts_with('-') && args.len() <= 2 && args.iter().any(|x| x.text == "-t")
                })
            {
                Verdict::safe()
            } else {
                moderate("mounts or remounts a file system")
            }
        }
        "umount" | "eject" | "swapoff" | "swapon" => moderate(format!("changes what is mounted ({name})")),
        "smartctl" => {
            if args.iter().all(|a| {
                !a.text.starts_with('-')
                    || matches!(
                        a.text.as_str(),
                        "-a" | "-i"
                            | "-H"
                            | "-x"
                            | "-A"
                            | "-l"
                            | "-c"
                            | "--all"
                            | "--info"
                            | "--health"
                            | "--xall"
                            | "--scan"
                            | "-j"
                    )
            }) {
                Verdict::safe()
            } else {
                moderate("runs tests on or changes a disk's settings (smartctl)")
            }
        }
        "kill" => kill(args),
        "pkill" | "killall" | "killall5" | "xkill" | "skill" | "slay" => {
            let everyone = name == "killall5"
                || o.operands().iter().any(|a| matches!(a.text.as_str(), "." | ".*" | "-1"))
                || (o.short('u') && o.operands().len() <= 1);
            if everyone {
                high(format!("stops many processes at once ({name})"))
            } else {
                moderate(format!("stops every process named {}", o.operands().last().map_or("…", |a| a.text.as_str())))
            }
        }
        "renice" => moderate("changes the priority of running processes"),
        "shutdown" | "reboot" | "halt" | "poweroff" => {
            if name == "shutdown" && (o.short('c') || o.long("--cancel")) {
                return moderate("cancels a scheduled shutdown");
            }
            high(format!("shuts down or restarts the machine ({name})")).safer(
                ctx,
                (name == "shutdown" && args.iter().any(|a| a.text == "now")).then(|| ctx.raw.replace(" now", " +5")),
            )
        }
        "init" | "telinit" => match sub {
            Some("q" | "Q" | "u" | "U") => moderate("reloads init's configuration"),
            _ => high(format!("changes the machine's run level, which can shut it down or restart it ({name})")),
        },
        "systemctl" => systemctl(args),
        "service" => {
            let action = args.get(1).map(|a| a.text.as_str());
            match (sub, action) {
                (Some("--status-all"), _) | (_, Some("status")) => Verdict::safe(),
                (_, Some("stop")) => high(format!("stops the {} service", sub.unwrap_or(""))),
                _ => moderate("starts, restarts or changes a service"),
            }
        }
        "launchctl" => launchctl(args),
        "crontab" => crontab(args, ctx),
        "at" | "batch" | "atrm" => {
            if o.short('l') {
                Verdict::safe()
            } else {
                moderate("schedules or removes commands to run later")
            }
        }
        "atq" => Verdict::safe(),
        "useradd" | "userdel" | "usermod" | "chpasswd" | "groupadd" | "groupdel" | "groupmod" | "gpasswd"
        | "adduser" | "deluser" | "addgroup" | "delgroup" | "visudo" | "vipw" | "vigr" | "chsh" | "chfn"
        | "sysadminctl" | "newusers" | "pwconv" => {
            high(format!("changes user accounts or who may use administrator rights ({name})"))
        }
        "passwd" => {
            if o.operands().is_empty() && args.iter().all(|a| a.text == "-S" || a.text == "--status") {
                Verdict::safe()
            } else if o.operands().is_empty() {
                moderate("changes your password")
            } else {
                high("changes another account's password or locks it")
            }
        }
        "dscl" => {
            if args.iter().any(|a| matches!(a.text.as_str(), "-read" | "-list" | "-search" | "-readall" | "-readpl")) {
                Verdict::safe()
            } else {
                high("changes user accounts (dscl)")
            }
        }
        "iptables" | "ip6tables" | "nft" | "ufw" | "pfctl" | "firewall-cmd" | "iptables-legacy" | "ebtables" => {
            firewall(name, args)
        }
        "nvram" | "bless" | "fdesetup" | "spctl" | "tmutil" | "kmutil" | "kextload" | "kextunload" | "systemsetup" => {
            let read = args.iter().all(|a| {
                matches!(
                    a.text.as_str(),
                    "-p" | "-x"
                        | "status"
                        | "--status"
                        | "--assess"
                        | "-a"
                        | "-vv"
                        | "-v"
                        | "listbackups"
                        | "latestbackup"
                        | "destinationinfo"
                        | "isexcluded"
                        | "list"
                        | "showloaded"
                        | "-getcomputername"
                        | "-gettimezone"
                ) || !a.text.starts_with('-')
                    && args.len() == 1
                    && matches!(name, "spctl" | "fdesetup")
                    && a.text == "status"
            });
            if read && !args.is_empty() {
                Verdict::safe()
            } else if name == "tmutil"
                && matches!(
                    sub,
                    Some("delete" | "deletelocalsnapshots" | "disable" | "thinlocalsnapshots" | "removedestination")
                )
            {
                high("deletes backups or turns Time Machine off")
            } else {
                high(format!("changes firmware, boot or security settings ({name})"))
            }
        }
        "csrutil" if matches!(sub, Some("disable" | "enable" | "clear" | "netboot")) => {
            high("changes System Integrity Protection (csrutil)")
        }
        "defaults" => match sub {
            Some("read" | "read-type" | "domains" | "find" | "help") => Verdict::safe(),
            Some("export") if args.get(2).is_some_and(|a| a.text == "-") => Verdict::safe(),
            Some("delete") => moderate("deletes app settings (defaults delete)"),
            _ => moderate("changes app or system settings (defaults)"),
        },
        "scutil" | "networksetup" | "pmset" | "softwareupdate" | "mdutil" | "xattr" | "codesign" | "security"
        | "plutil" | "profiles" => mac_tool(name, args),
        "curl" | "wget" | "fetch" | "aria2c" | "http" | "https" | "xh" | "httpie" => download(j, name, args),
        "nc" | "ncat" | "netcat" | "socat" | "telnet" => {
            if o.short('e')
                || o.short('c')
                || args.iter().any(|a| a.text.contains("EXEC:") || a.text.contains("SYSTEM:"))
            {
                high(format!("connects a shell or program to the network ({name})"))
            } else if o.short('l') {
                moderate(format!("listens for network connections ({name})"))
            } else {
                moderate(format!("opens a network connection ({name})"))
            }
        }
        "open" | "xdg-open" | "gio-open" | "start" | "gnome-open" | "kde-open" => moderate(format!(
            "opens {} with its default application",
            o.operands().first().map_or("it", |a| a.text.as_str())
        )),
        "vim" | "vi" | "nvim" | "nano" | "emacs" | "code" | "subl" | "mate" | "gedit" | "kate" | "micro" | "hx"
        | "ed" | "ex" | "pico" | "joe" => moderate(format!(
            "opens an editor that can change {}",
            o.operands().first().map_or("files", |a| a.text.as_str())
        )),
        "pbcopy" | "xclip" | "xsel" | "wl-copy" => {
            if o.short('o') || o.long("--output") {
                Verdict::safe()
            } else {
                moderate("replaces what is on the clipboard")
            }
        }
        "git" => crate::tools::git(j, args, ctx),
        "docker" | "podman" | "nerdctl" | "docker-compose" => crate::tools::docker(j, name, args, ctx),
        "kubectl" | "oc" | "k" | "microk8s.kubectl" => crate::tools::kubectl(j, args, ctx),
        "helm" => crate::tools::helm(args, ctx),
        "terraform" | "tofu" | "terragrunt" => crate::tools::terraform(args, ctx),
        "aws" => crate::tools::aws(args, ctx),
        "gcloud" | "gsutil" => crate::tools::gcloud(name, args, ctx),
        "az" => crate::tools::az(args),
        "gh" | "glab" => crate::tools::gh(args),
        "npm" | "pnpm" | "yarn" | "bun" => crate::tools::npm(name, args),
        "pip" | "pip3" | "pipx" | "uv" | "poetry" | "conda" | "mamba" | "gem" | "bundle" | "cargo" | "go"
        | "rustup" | "brew" | "port" | "snap" | "flatpak" | "nix-env" | "composer" => {
            crate::tools::packages(name, args)
        }
        n if n.starts_with("pip3.") => crate::tools::packages("pip", args),
        "apt" | "apt-get" | "aptitude" | "apt-cache" | "dpkg" | "dpkg-query" | "rpm" | "dnf" | "yum" | "zypper"
        | "pacman" | "yay" | "paru" | "apk" | "emerge" => crate::tools::system_packages(name, args),
        "make" | "gmake" | "cmake" | "ninja" | "meson" | "gradle" | "gradlew" | "mvn" | "ant" | "bazel" | "just"
        | "task" | "rake" | "scons" | "xcodebuild" | "swift" | "dotnet" | "mix" | "sbt" | "lein" | "stack"
        | "cabal" => {
            if args.iter().any(|a| matches!(a.text.as_str(), "--version" | "-v" | "-version" | "--help"))
                && args.len() == 1
            {
                Verdict::safe()
            } else {
                moderate(format!("builds or runs the project with {name}, running its build scripts"))
            }
        }
        "mysql" | "psql" | "sqlite3" | "mongo" | "mongosh" | "redis-cli" | "mariadb" | "clickhouse-client"
        | "cqlsh" => database(name, args),
        "docker-machine" | "vagrant" | "multipass" => match sub {
            Some("destroy" | "rm" | "delete" | "purge") => {
                high(format!("destroys virtual machines and their disks ({name})"))
            }
            Some("status" | "ls" | "list" | "info" | "global-status" | "version") => Verdict::safe(),
            _ => moderate(format!("manages virtual machines ({name})")),
        },
        "heroku" | "flyctl" | "fly" | "vercel" | "netlify" | "firebase" | "doctl" | "linode-cli" | "hcloud"
        | "railway" => {
            let destroy = args.iter().any(|a| {
                let t = a.text.as_str();
                t.contains("destroy") || t.ends_with("delete") || t == "rm" || t == "remove" || t.contains("pg:reset")
            });
            if destroy {
                high(format!("deletes cloud resources ({name})"))
            } else if args
                .iter()
                .any(|a| matches!(a.text.as_str(), "list" | "ls" | "status" | "info" | "logs" | "--version" | "whoami"))
            {
                Verdict::safe()
            } else {
                moderate(format!("changes cloud resources ({name})"))
            }
        }
        "openssl" => openssl(j, args),
        "ssh-keygen" => {
            if args.iter().all(|a| {
                matches!(a.text.as_str(), "-l" | "-f" | "-F" | "-y" | "-E" | "-v" | "-lf" | "-B")
                    || !a.text.starts_with('-')
            }) && (o.short('l') || o.short('F') || o.short('y') || o.short('B'))
            {
                Verdict::safe()
            } else {
                moderate("creates or changes SSH keys or known hosts (ssh-keygen)")
            }
        }
        "ssh-add" => {
            if o.short('l') || o.short('L') {
                Verdict::safe()
            } else {
                moderate("changes the keys your SSH agent holds")
            }
        }
        "ssh-copy-id" => moderate("adds your SSH key to another machine's authorized_keys"),
        "gpg" | "gpg2" => {
            if o.any(&[
                "--list-keys",
                "--list-secret-keys",
                "--fingerprint",
                "--verify",
                "--list-sigs",
                "--list-packets",
                "--version",
                "--check-sigs",
            ]) || o.short('k')
                || o.short('K')
            {
                Verdict::safe()
            } else if o.any(&["--delete-keys", "--delete-secret-keys", "--delete-secret-and-public-key"]) {
                high("deletes keys from your GnuPG keyring")
            } else {
                moderate("signs, encrypts or changes your GnuPG keyring")
            }
        }
        "tmux" | "screen" | "zellij" => match sub {
            Some(
                "ls" | "list-sessions" | "list-windows" | "list-panes" | "list-clients" | "list-keys" | "info"
                | "show-options" | "display-message" | "-ls" | "-list",
            ) => Verdict::safe(),
            _ if o.long("-ls") || o.long("-list") => Verdict::safe(),
            Some("kill-server") => moderate("ends every tmux session and what runs in them"),
            _ => moderate(format!("starts or changes a terminal session ({name})")),
        },
        "exiftool" => {
            if args.iter().any(|a| {
                a.text.contains('=')
                    || a.text.starts_with("-overwrite")
                    || a.text == "-o"
                    || a.text.starts_with("-delete")
            }) {
                moderate("changes image metadata (exiftool)")
            } else {
                Verdict::safe()
            }
        }
        "convert" | "magick" | "ffmpeg" | "sox" | "pandoc" | "pdftotext" | "qpdf" | "gs" | "ghostscript" | "sips"
        | "cwebp" | "optipng" | "jpegoptim" | "mogrify" => moderate(format!("creates or changes media files ({name})")),
        _ if args.len() == 1
            && matches!(args[0].text.as_str(), "--version" | "-V" | "-v" | "-version" | "version")
            && VERSIONED.contains(&name) =>
        {
            Verdict::safe()
        }
        _ => {
            if let Some((_, bad_short, bad_long)) = READ_ONLY.iter().find(|(n, ..)| *n == name) {
                if !read_only_sub(name, sub.unwrap_or(""), args.get(1).map(|a| a.text.as_str())) {
                    return moderate(format!("changes system settings ({name} {})", sub.unwrap_or("")));
                }
                for c in bad_short.chars() {
                    if o.short(c) {
                        return moderate(format!("uses `{name} -{c}`, which writes files or runs programs"));
                    }
                }
                for l in *bad_long {
                    if o.long(l) || (!l.starts_with("--") && args.iter().any(|a| a.text == *l)) {
                        return moderate(format!("uses `{name} {l}`, which writes files or runs programs"));
                    }
                }
                if name == "tree" && o.operands().iter().any(|a| a.text == "-o") {
                    return moderate("writes the tree to a file (tree -o)");
                }
                return Verdict::safe();
            }
            moderate(format!("`{name}` is not a command Cmdbar knows"))
        }
    }
}

/// Compilers and runtimes whose `--version` only prints.
const VERSIONED: &[&str] = &[
    "rustc",
    "gcc",
    "g++",
    "clang",
    "clang++",
    "cc",
    "c++",
    "javac",
    "java",
    "kotlin",
    "scala",
    "swiftc",
    "tsc",
    "ghc",
    "zig",
    "nim",
    "elixir",
    "erl",
    "dotnet",
    "deno",
    "bun",
    "pnpm",
    "yarn",
    "ld",
    "as",
    "gdb",
    "lldb",
    "valgrind",
    "ffmpeg",
    "convert",
    "magick",
    "vim",
    "nvim",
    "emacs",
    "nano",
    "code",
    "tmux",
    "zsh",
    "bash",
    "fish",
    "sqlite3",
    "psql",
    "mysql",
    "redis-cli",
    "mongosh",
    "nginx",
    "httpd",
    "apachectl",
    "openssl",
    "ssh",
    "rsync",
    "curl",
    "wget",
    "make",
    "cmake",
    "ninja",
    "meson",
    "gradle",
    "mvn",
    "ant",
    "bazel",
    "just",
    "vagrant",
    "ansible",
    "packer",
    "vault",
    "consul",
    "nomad",
    "minikube",
    "kind",
    "k9s",
    "podman",
    "perl",
    "ruby",
    "php",
    "lua",
    "node",
    "python",
    "python3",
];

/// Deleting: how much goes depends on where, and whether it recurses.
fn rm(j: &mut Judge, name: &str, args: &[Arg], ctx: &Ctx) -> Verdict {
    let o = Opts { args };
    if name == "gio" && args.first().is_none_or(|a| a.text != "trash" && a.text != "remove") {
        return moderate("runs gio, which changes files");
    }
    let trash = matches!(name, "trash" | "trash-put") || (name == "gio" && args[0].text == "trash");
    let recursive = o.short('r') || o.short('R') || o.long("--recursive") || name == "del";
    let mut targets = o.operands();
    if name == "gio" {
        targets.remove(0);
    }
    let preserve_off = o.long("--no-preserve-root");
    let first = targets.first().map_or("files".to_string(), |a| a.text.clone());
    if trash {
        return moderate(format!("moves {first} to the trash"));
    }
    let mut v = moderate(format!("deletes {first}"));
    let mut everything = false;
    for t in &targets {
        let p = place(t, j.cwd.as_ref());
        let shown = &t.text;
        let w = match &p {
            Place::Root => {
                everything = true;
                if recursive || t.glob {
                    critical("deletes everything on the machine (/)")
                } else {
                    moderate(format!("deletes {shown}"))
                }
            }
            Place::AllHomes | Place::Home => {
                everything = true;
                if recursive {
                    critical(format!("deletes {} and everything in it", p.describe(shown)))
                } else if t.glob {
                    high(format!("deletes every file in {}", p.describe(shown)))
                } else {
                    moderate(format!("deletes {shown}"))
                }
            }
            Place::SystemTop(d) => {
                if recursive && p.is_everything() {
                    everything = true;
                    critical(format!("deletes the system folder {d} and everything in it"))
                } else {
                    high(format!("deletes system files in {d}"))
                }
            }
            Place::System(f) if t.glob => {
                let dir = f.rsplit_once('/').map_or(f.as_str(), |(d, _)| d);
                high(format!("deletes system files in {dir}"))
            }
            Place::System(f) if recursive => high(format!("deletes the system folder {f} and everything in it")),
            Place::System(f) | Place::Device(f) | Place::Disk(f) => high(format!("deletes the system file {f}")),
            Place::Startup(f) | Place::Secrets(f) => {
                high(format!("deletes {f}, which holds your login settings or keys"))
            }
            Place::Here if recursive => high(format!("deletes {} and all subfolders", p.describe(shown))),
            Place::Here if t.glob || shown == "." => high("deletes every file in the current folder"),
            Place::Unknown if shown.starts_with("each ") => {
                if recursive {
                    high(format!("deletes {shown} and everything in it"))
                } else {
                    moderate(format!("deletes {shown}"))
                }
            }
            Place::Unknown
                if recursive && t.shape.starts_with(UNKNOWN) && t.shape[UNKNOWN.len_utf8()..].starts_with('/') =>
            {
                high(format!("deletes {shown} and everything in it; if that variable is empty, this starts at /"))
            }
            Place::Unknown if recursive => {
                high(format!("deletes a folder only known when it runs ({shown}) and everything in it"))
            }
            _ if recursive => high(format!("deletes {shown} and everything in it")),
            // `dir/*`: every file of a folder at once, as `rm *` is here.
            _ if t.glob && (shown.ends_with("/*") || shown.ends_with("/.*") || shown.ends_with("/*\"")) => {
                high(format!("deletes every file in {}", shown.trim_end_matches(['*', '"']).trim_end_matches('.')))
            }
            _ => moderate(format!("deletes {shown}")),
        };
        v = v.or(w);
    }
    if preserve_off && recursive {
        v = v.or(critical("deletes everything on the machine (--no-preserve-root)"));
    }
    if targets.is_empty() && ctx.stdin.some {
        v = moderate("deletes the files named in its input");
    }
    if v.risk >= Risk::High && !everything {
        // rm -rI asks once before deleting many files or recursing.
        let mut added = false;
        let mut seen_rm = false;
        let safer = edit(&ctx.raw, |w| {
            if !seen_rm {
                seen_rm = w.rsplit('/').next() == Some(name);
                return None;
            }
            if w == "--force" || w == "--interactive=never" {
                return Some(String::new());
            }
            if w.starts_with('-') && !w.starts_with("--") && w.len() > 1 && w[1..].chars().all(|c| "rRfvdi".contains(c))
            {
                let mut letters: String = w[1..].chars().filter(|c| *c != 'f' && *c != 'i').collect();
                if !added {
                    letters.push('I');
                    added = true;
                }
                return Some(if letters.is_empty() { String::new() } else { format!("-{letters}") });
            }
            None
        });
        let safer = match safer {
            Some(s) if added => Some(s),
            _ => edit(&ctx.raw, |w| {
                (w.rsplit('/').next() == Some(name) && !added).then(|| {
                    added = true;
                    format!("{w} -I")
                })
            }),
        };
        v = v.safer(ctx, safer);
    }
    v
}

const FIND_TESTS: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-size",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-newer",
    "-newermt",
    "-empty",
    "-user",
    "-group",
    "-perm",
    "-links",
    "-lname",
    "-inum",
    "-samefile",
    "-nouser",
    "-nogroup",
    "-used",
];

fn find(j: &mut Judge, args: &[Arg], ctx: &Ctx) -> Verdict {
    let roots: Vec<&Arg> = args
        .iter()
        .take_while(|a| {
            !a.text.starts_with('-') && a.text != "(" && a.text != "!" || a.dynamic && !a.text.starts_with('-')
        })
        .collect();
    let expr = &args[roots.len()..];
    let filtered = expr.iter().any(|a| FIND_TESTS.contains(&a.text.as_str()));
    let root = roots.first().copied().cloned().unwrap_or_else(|| Arg::plain("."));
    let root_place = place(&root, j.cwd.as_ref());
    let broad = root_place.is_everything();
    let under = match root_place {
        crate::words::Place::Root => "/, the whole machine".to_string(),
        ref p if broad => p.describe(&root.text),
        _ => root.text.clone(),
    };
    // Deleting what it finds: by its tests, or everything under the root.
    let deletion = |rec: bool| -> Verdict {
        let all = if rec { " and everything in them" } else { "" };
        match (broad, filtered) {
            (true, false) => critical(format!("deletes everything under {under}")),
            (true, true) => high(format!("deletes the files that match its tests anywhere under {under}{all}")),
            (false, true) if rec => high(format!("deletes the files and folders it finds that match its tests{all}")),
            (false, true) => moderate("deletes the files it finds that match its tests"),
            (false, false) => high(format!("deletes everything under {under}")),
        }
    };
    let mut v = Verdict::safe();
    let mut i = 0;
    while i < expr.len() {
        let t = expr[i].text.as_str();
        match t {
            "-delete" => {
                let d = deletion(false);
                let d = if d.risk >= Risk::High {
                    d.safer(ctx, edit(&ctx.raw, |w| (w == "-delete").then(|| "-print".to_string())))
                } else {
                    d
                };
                v = v.or(d);
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let end =
                    expr[i + 1..].iter().position(|a| a.text == ";" || a.text == "+").map_or(expr.len(), |e| i + 1 + e);
                let inner: Vec<Arg> = expr[i + 1..end]
                    .iter()
                    .map(|a| if a.text.contains("{}") { Arg::unknown("each file it finds") } else { a.clone() })
                    .collect();
                if !inner.is_empty() {
                    let base = inner[0].text.rsplit('/').next().unwrap_or("").to_string();
                    let mut c = ctx.clone();
                    c.wrappers += 1;
                    c.stdin = Default::default();
                    let mut w = j.simple(&inner, &c);
                    let deletes = matches!(base.as_str(), "rm" | "shred" | "unlink" | "rmdir" | "srm");
                    if deletes {
                        let rec = inner.iter().any(|a| {
                            a.text == "--recursive"
                                || a.text.starts_with('-')
                                    && !a.text.starts_with("--")
                                    && (a.text.contains('r') || a.text.contains('R'))
                        });
                        let d = deletion(rec);
                        if d.risk >= w.risk {
                            w = d;
                        }
                        if w.risk >= Risk::High {
                            // Preview: the same search, printing instead.
                            let mut skipping = false;
                            let safer = edit(&ctx.raw, |x| {
                                if x == t {
                                    skipping = true;
                                    return Some("-print".into());
                                }
                                if skipping {
                                    if matches!(x, ";" | "\\;" | "';'" | "\";\"" | "+") {
                                        skipping = false;
                                    }
                                    return Some(String::new());
                                }
                                None
                            });
                            w = w.safer(ctx, safer);
                        }
                    }
                    if t.starts_with("-ok") && w.risk > Risk::Moderate {
                        // It asks before each file.
                        w = Verdict { risk: Risk::Moderate, ..w };
                    }
                    v = v.or(w);
                }
                i = end;
            }
            "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                if let Some(f) = expr.get(i + 1) {
                    v = v.or(j.write_to(f, Write::Overwrite));
                }
            }
            _ => {}
        }
        i += 1;
    }
    v
}

fn dd(j: &mut Judge, args: &[Arg]) -> Verdict {
    let of = args.iter().find_map(|a| a.text.strip_prefix("of=").map(|p| (p, a)));
    match of {
        Some((path, a)) => {
            let target = Arg { text: path.into(), shape: a.shape.trim_start_matches("of=").to_string(), ..a.clone() };
            match place(&target, j.cwd.as_ref()) {
                Place::Disk(d) => critical(format!("writes raw data onto the disk {d}, destroying what is on it")),
                Place::Harmless => moderate("copies raw data (dd)"),
                _ => j.write_to(&target, Write::Overwrite).at_least(Risk::Moderate, format!("overwrites {path}")),
            }
        }
        None => moderate("copies raw data (dd)"),
    }
}

fn partitions(name: &str, args: &[Arg]) -> Verdict {
    let o = Opts { args };
    let lists = match name {
        "fdisk" | "gdisk" | "cfdisk" => o.short('l') || o.long("--list"),
        "sfdisk" => {
            o.short('l')
                || o.short('d')
                || o.short('J')
                || o.short('s')
                || o.short('V')
                || o.any(&["--list", "--dump", "--json", "--show-size", "--verify", "--list-free"])
        }
        "sgdisk" => {
            args.iter().all(|a| {
                matches!(
                    a.text.as_str(),
                    "-p" | "--print"
                        | "-i"
                        | "--info"
                        | "-v"
                        | "--verify"
                        | "-O"
                        | "--print-mbr"
                        | "-L"
                        | "--list-types"
                ) || !a.text.starts_with('-')
            }) && args.iter().any(|a| a.text.starts_with('-'))
        }
        "parted" => {
            o.short('l')
                || o.long("--list")
                || (args.iter().any(|a| a.text == "print")
                    && !args.iter().any(|a| {
                        matches!(
                            a.text.as_str(),
                            "mklabel" | "mkpart" | "rm" | "resizepart" | "mkfs" | "name" | "set" | "toggle" | "rescue"
                        )
                    }))
        }
        _ => false,
    };
    if lists {
        return Verdict::safe();
    }
    let disk = args.iter().find(|a| a.text.starts_with("/dev/")).map_or("a disk", |a| a.text.as_str());
    if name == "parted"
        && !args.iter().any(|a| {
            matches!(
                a.text.as_str(),
                "mklabel" | "mkpart" | "rm" | "resizepart" | "mkfs" | "name" | "set" | "toggle" | "rescue"
            )
        })
        && !args.iter().any(|a| a.text == "-s" || a.text == "--script")
    {
        return high(format!("opens the partition editor on {disk}, where a slip erases it"));
    }
    critical(format!("repartitions {disk}, which can erase everything on it ({name})"))
}

fn diskutil(args: &[Arg]) -> Verdict {
    let t = texts(args);
    let sub = t.first().copied().unwrap_or("");
    let apfs = t.get(1).copied().unwrap_or("");
    match sub {
        "eraseDisk" | "eraseVolume" | "partitionDisk" | "zeroDisk" | "randomDisk" | "secureErase" | "reformat"
        | "eraseCD" | "splitPartition" | "mergePartitions" | "resizeVolume" => {
            critical(format!("erases or repartitions a disk (diskutil {sub})"))
        }
        "apfs" | "ap" if apfs.starts_with("delete") || apfs.starts_with("erase") || apfs == "resizeContainer" => {
            critical(format!("deletes an APFS volume or container and its data (diskutil apfs {apfs})"))
        }
        "list" | "info" | "activity" | "listFilesystems" | "verifyVolume" | "verifyDisk" => Verdict::safe(),
        "apfs" | "ap" | "cs" | "coreStorage" | "appleRAID" if apfs.starts_with("list") => Verdict::safe(),
        _ => moderate(format!("changes a disk or volume (diskutil {sub})")),
    }
}

fn perms(j: &mut Judge, name: &str, args: &[Arg], ctx: &Ctx) -> Verdict {
    let o = Opts { args };
    let recursive = o.short('R') || o.long("--recursive") || (name == "setfacl" && o.short('R'));
    // `chmod -x f`, `chmod -w f`: a mode, not an option.
    let is_mode =
        |t: &str| name == "chmod" && t.len() > 1 && t.starts_with('-') && t[1..].chars().all(|c| "rwxXst".contains(c));
    let mut ops = o.operands();
    if let Some(m) = args.iter().find(|a| is_mode(&a.text)) {
        ops.insert(0, m);
    }
    let reference = o.flags().any(|f| f.starts_with("--reference"));
    let (mode, targets) = if reference || matches!(name, "chattr" | "setfacl") && ops.len() <= 1 {
        (None, ops.clone())
    } else {
        (ops.first().copied(), ops.iter().skip(1).copied().collect())
    };
    let mode_text = mode.map_or("", |m| m.text.as_str());
    let what = match name {
        "chmod" => "permissions",
        "chattr" | "chflags" => "attributes",
        "setfacl" => "access rules",
        _ => "ownership",
    };
    let mut v = moderate(format!("changes the {what} of {}", targets.first().map_or("files", |a| a.text.as_str())));
    for t in &targets {
        let p = place(t, j.cwd.as_ref());
        let w = match &p {
            _ if p.is_everything() && recursive => {
                critical(format!("changes the {what} of {} and everything in it", p.describe(&t.text)))
            }
            _ if p.is_everything() || p.is_system() => {
                high(format!("changes the {what} of the system folder or file {}", t.text))
            }
            Place::Startup(f) | Place::Secrets(f) if name != "chmod" || loosens(mode_text) => {
                high(format!("changes the {what} of {f}, which guards your logins and keys"))
            }
            Place::Here if recursive => moderate(format!("changes the {what} of everything here")),
            _ => Verdict::safe(),
        };
        v = v.or(w);
    }
    if name == "chmod" {
        let m = mode_text;
        let world = m.ends_with("777")
            || m.ends_with("666")
            || m.contains("o+w")
            || m.contains("a+w")
            || m.contains("a+rwx")
            || m.contains("o+rwx")
            || m.contains("ugo+rwx")
            || m.contains("o=rwx");
        let setuid = m.contains("+s")
            || m.contains("u+s")
            || m.contains("g+s")
            || (m.len() == 4 && m.starts_with(['2', '4', '6']) && m.chars().all(|c| c.is_digit(8)));
        if world {
            let fix = if m.ends_with("666") {
                m.replace("666", "644")
            } else {
                m.replace("777", "755").replace("a+rwx", "u+rwx,go+rx").replace("o+w", "o-w").replace("a+w", "u+w")
            };
            v = v.or(high(format!(
                "makes {} writable by every user",
                targets.first().map_or("files", |a| a.text.as_str())
            ))
            .safer(ctx, edit(&ctx.raw, |w| (w == m).then(|| fix.clone()))));
        } else if setuid {
            v = v.or(high(format!(
                "makes {} run with its owner's rights (setuid)",
                targets.first().map_or("a program", |a| a.text.as_str())
            )));
        }
    }
    v
}

/// A mode that lets the group or others write (`664`, `g+w`, `o+rwx`).
fn loosens(mode: &str) -> bool {
    if mode.chars().all(|c| c.is_digit(8)) && !mode.is_empty() {
        let d: Vec<u32> = mode.chars().rev().take(2).filter_map(|c| c.to_digit(8)).collect();
        return d.iter().any(|x| x & 2 != 0);
    }
    mode.contains("+w") && !mode.starts_with("u+")
        || mode.contains("o+")
        || mode.contains("g+")
        || mode.contains("a+")
        || mode.contains("=")
}

fn copy(j: &mut Judge, name: &str, args: &[Arg]) -> Verdict {
    let o = Opts { args };
    let ops = o.operands();
    let dest = o.value(&["-t", "--target-directory"]).or(ops.last().copied());
    let verb = if name.ends_with("ln") { "creates a link" } else { "copies files" };
    let Some(dest) = dest else { return moderate(verb) };
    if ops.len() < 2 && o.value(&["-t", "--target-directory"]).is_none() && !name.ends_with("ln") {
        return moderate(verb);
    }
    let w = j.write_to(dest, Write::Copy);
    if w.risk > Risk::Moderate {
        return w;
    }
    moderate(format!("{verb}, replacing any at {} with the same name", dest.text))
}

fn mv(j: &mut Judge, args: &[Arg]) -> Verdict {
    let o = Opts { args };
    let ops = o.operands();
    let Some((dest, sources)) = ops.split_last() else { return moderate("moves files") };
    let mut v = moderate(format!("moves or renames files, replacing any at {}", dest.text));
    if dest.text == "/dev/null" {
        return high("moves files onto /dev/null, destroying them");
    }
    for s in sources {
        let p = place(s, j.cwd.as_ref());
        if p.is_everything() {
            v = v.or(critical(format!("moves {} away, which breaks the system or loses a home", p.describe(&s.text))));
        } else if p.is_system() {
            v = v.or(high(format!("moves the system file {}", s.text)));
        } else if matches!(p, Place::Startup(_) | Place::Secrets(_)) {
            v = v.or(high(format!("moves {}, which holds your login settings or keys", s.text)));
        }
    }
    let w = j.write_to(dest, Write::Copy);
    if w.risk > Risk::Moderate {
        v = v.or(w);
    }
    v
}

fn rsync(j: &mut Judge, args: &[Arg], ctx: &Ctx) -> Verdict {
    let o = Opts { args };
    if o.short('n') || o.long("--dry-run") || o.long("--list-only") {
        return Verdict::safe();
    }
    let ops = o.operands();
    let dest = ops.last().copied();
    let mut v = moderate(format!("copies files to {}", dest.map_or("another folder", |a| a.text.as_str())));
    let deletes = o.flags().any(|f| f.starts_with("--delete") || f == "--del");
    let safer = edit(&ctx.raw, |w| (w == "rsync").then(|| "rsync --dry-run".to_string()));
    if let Some(d) = dest {
        let remote = d.text.contains(':') && !d.text.starts_with('/');
        if !remote {
            let w = j.write_to(d, Write::Copy);
            if w.risk > Risk::Moderate {
                v = v.or(w);
            }
        }
        if deletes {
            let p = place(d, j.cwd.as_ref());
            v = v.or(if p.is_everything() {
                critical(format!("deletes everything in {} that is not in the source", p.describe(&d.text)))
            } else {
                high(format!("deletes files in {} that are not in the source", d.text))
            }
            .safer(ctx, safer.clone()));
        }
    }
    if o.long("--remove-source-files") {
        v = v.or(high("deletes the source files after copying them").safer(ctx, safer));
    }
    v
}

fn sed(j: &mut Judge, args: &[Arg]) -> Verdict {
    let o = Opts { args };
    let in_place = o.flags().any(|f| {
        f.starts_with("--in-place")
            || (!f.starts_with("--")
                && (f[1..].starts_with('i') || f[1..].contains('i') && !f.contains('e') || f.starts_with("-I")))
    });
    let mut scripts: Vec<&Arg> = vec![];
    let mut files: Vec<&Arg> = vec![];
    let mut i = 0;
    let mut from_file = false;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "-e" || t == "--expression" {
            if let Some(s) = args.get(i + 1) {
                scripts.push(s);
            }
            i += 2;
            continue;
        }
        if t == "-f" || t == "--file" || t.starts_with("--file=") {
            from_file = true;
        }
        if t.starts_with('-') && t.len() > 1 {
            if matches!(t, "-l" | "--line-length") {
                i += 1;
            }
            i += 1;
            continue;
        }
        if scripts.is_empty() && !from_file {
            scripts.push(&args[i]);
        } else {
            files.push(&args[i]);
        }
        i += 1;
    }
    let mut v = Verdict::safe();
    if from_file {
        v = moderate("runs a sed program from a file Cmdbar cannot see into");
    }
    for s in scripts {
        if s.dynamic {
            v = v.or(moderate("runs a sed program that is only known when it runs"));
            continue;
        }
        match sed_script(&s.text) {
            Ok(()) => {}
            Err(why) => v = v.or(moderate(why)),
        }
    }
    if in_place {
        v = v.or(moderate(format!("edits {} in place", files.first().map_or("files", |a| a.text.as_str()))));
        for f in files {
            let w = j.write_to(f, Write::Overwrite);
            if w.risk > Risk::Moderate {
                v = v.or(w);
            }
        }
    }
    v
}

/// Whether a sed program only prints: no `w`, `W`, `e` commands and no `w`
/// or `e` flags on `s`. What it cannot read is not called safe.
pub(crate) fn sed_script(s: &str) -> Result<(), &'static str> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let n = c.len();
    let skip_ws = |i: &mut usize| {
        while *i < n && (c[*i].is_whitespace() || c[*i] == ';') {
            *i += 1;
        }
    };
    // Reads a delimited part (`/re/`), handling escapes; returns past it.
    let delimited = |i: &mut usize, d: char| -> bool {
        while *i < n {
            if c[*i] == '\\' {
                *i += 2;
                continue;
            }
            if c[*i] == d {
                *i += 1;
                return true;
            }
            if c[*i] == '\n' && d != '\n' {
                return false;
            }
            *i += 1;
        }
        false
    };
    let mut guard = 0;
    while i < n {
        guard += 1;
        if guard > 10_000 {
            return Err("runs a sed program Cmdbar cannot read");
        }
        skip_ws(&mut i);
        if i >= n {
            break;
        }
        // Addresses: numbers, `$`, `/re/`, `\cREc`, ranges, steps.
        for _ in 0..2 {
            if i < n && (c[i].is_ascii_digit() || c[i] == '$') {
                while i < n && (c[i].is_ascii_digit() || c[i] == '$' || c[i] == '~' || c[i] == '+') {
                    i += 1;
                }
            } else if i < n && c[i] == '/' {
                i += 1;
                if !delimited(&mut i, '/') {
                    return Err("runs a sed program Cmdbar cannot read");
                }
                while i < n && matches!(c[i], 'I' | 'M') {
                    i += 1;
                }
            } else if i + 1 < n && c[i] == '\\' {
                let d = c[i + 1];
                i += 2;
                if !delimited(&mut i, d) {
                    return Err("runs a sed program Cmdbar cannot read");
                }
            }
            if i < n && c[i] == ',' {
                i += 1;
                continue;
            }
            break;
        }
        while i < n && (c[i] == ' ' || c[i] == '!') {
            i += 1;
        }
        if i >= n {
            break;
        }
        let cmd = c[i];
        i += 1;
        match cmd {
            '{' | '}' | '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'n' | 'N' | 'p' | 'P' | 'x' | 'z' | 'F' => {}
            'l' | 'q' | 'Q' | 'L' => {
                while i < n && (c[i].is_ascii_digit() || c[i] == ' ') {
                    i += 1;
                }
            }
            '#' | ':' | 'b' | 't' | 'T' | 'a' | 'i' | 'c' | 'r' | 'R' | 'v' => {
                // To the end of the line (labels and file names: also `;`).
                let stop_semi = matches!(cmd, ':' | 'b' | 't' | 'T' | 'v');
                while i < n && c[i] != '\n' && !(stop_semi && (c[i] == ';' || c[i] == '}')) {
                    if c[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            'w' | 'W' => return Err("writes files from its sed program (w)"),
            'e' => return Err("runs commands from its sed program (e)"),
            's' | 'y' => {
                let Some(&d) = c.get(i) else { return Err("runs a sed program Cmdbar cannot read") };
                if d == '\n' || d == '\\' {
                    return Err("runs a sed program Cmdbar cannot read");
                }
                i += 1;
                if !delimited(&mut i, d) || !delimited(&mut i, d) {
                    return Err("runs a sed program Cmdbar cannot read");
                }
                if cmd == 's' {
                    while i < n && !matches!(c[i], ';' | '\n' | '}' | ' ') {
                        match c[i] {
                            'w' | 'W' => return Err("writes files from its sed program (s///w)"),
                            'e' => return Err("runs commands from its sed program (s///e)"),
                            'g' | 'p' | 'i' | 'I' | 'm' | 'M' => {}
                            d if d.is_ascii_digit() => {}
                            _ => return Err("runs a sed program Cmdbar cannot read"),
                        }
                        i += 1;
                    }
                }
            }
            _ => return Err("runs a sed program Cmdbar cannot read"),
        }
    }
    Ok(())
}

fn tar(j: &mut Judge, args: &[Arg]) -> Verdict {
    let first = args.first().map_or("", |a| a.text.as_str());
    // Old style: `tar czf x.tgz dir`, letters without a dash.
    let letters: String = if !first.starts_with('-') { first.to_string() } else { String::new() };
    let o = Opts { args };
    let has = |c: char| letters.contains(c) || o.short(c);
    if o.any(&[
        "--to-command",
        "--checkpoint-action",
        "--info-script",
        "--new-volume-script",
        "--rsh-command",
        "--use-compress-program",
    ]) || o.short('I') && !has('t')
    {
        return moderate("runs another program from tar");
    }
    // `-f x`, `-czf x`, `czf x`: the archive is the word after the cluster.
    let cluster = args.iter().position(|a| {
        let t = a.text.as_str();
        (t.starts_with('-') && !t.starts_with("--") && t.ends_with('f'))
            || (!t.starts_with('-') && t == letters && t.ends_with('f'))
    });
    let file = cluster.and_then(|i| args.get(i + 1)).or_else(|| o.value(&["--file"]));
    if has('t') || o.long("--list") {
        return Verdict::safe();
    }
    if has('x') || o.any(&["--extract", "--get"]) {
        let dir = o.value(&["-C", "--directory"]);
        let mut v = moderate("extracts files here, replacing any with the same names");
        if let Some(d) = dir {
            let p = place(d, j.cwd.as_ref());
            if p.is_everything() || p.is_system() {
                v = high(format!("extracts files into {}, replacing what is there", p.describe(&d.text)));
            } else {
                v = moderate(format!("extracts files into {}, replacing any with the same names", d.text));
            }
        }
        return v;
    }
    // An archive written to standard output only reads the files.
    if file.is_some_and(|f| f.text == "-") && !o.long("--remove-files") {
        return Verdict::safe();
    }
    let mut v = moderate(format!("creates the archive {}", file.map_or("", |a| a.text.as_str())));
    if let Some(f) = file {
        if f.text != "-" {
            let w = j.write_to(f, Write::Overwrite);
            if w.risk > Risk::Moderate {
                v = w;
            }
        }
    }
    if o.long("--remove-files") {
        v = v.or(high("deletes the files after putting them in the archive"));
    }
    v
}

fn archive(j: &mut Judge, name: &str, args: &[Arg]) -> Verdict {
    let o = Opts { args };
    let sub = args.first().map_or("", |a| a.text.as_str());
    let lists = match name {
        "unzip" => o.short('l') || o.short('t') || o.short('Z') || o.short('p') || o.short('c') || o.short('v'),
        "7z" | "7za" | "7zr" | "rar" | "unrar" => matches!(sub, "l" | "t" | "lt" | "lb" | "vt" | "h"),
        "cpio" => o.short('t'),
        "zip" => o.short('T') && o.operands().len() <= 1 || o.long("--show-files") || o.flags().any(|f| f == "-sf"),
        _ => false,
    };
    if lists {
        return Verdict::safe();
    }
    if name == "unzip" {
        if let Some(d) = o.value(&["-d"]) {
            let p = place(d, j.cwd.as_ref());
            if p.is_everything() || p.is_system() {
                return high(format!("extracts files into {}, replacing what is there", p.describe(&d.text)));
            }
        }
        return moderate("extracts files, replacing any with the same names");
    }
    if name == "zip" && (o.short('m') || o.long("--move")) {
        return high("moves files into the archive, deleting the originals (zip -m)");
    }
    moderate(format!("creates or extracts an archive ({name})"))
}

fn kill(args: &[Arg]) -> Verdict {
    let o = Opts { args };
    if o.short('l') || o.short('L') || o.long("--list") || args.first().is_some_and(|a| a.text == "-0") {
        return Verdict::safe();
    }
    // `kill -9 -1` signals every process; pid 1 is init/launchd.
    let pids: Vec<&str> = args
        .iter()
        .skip_while(|a| a.text.starts_with('-') && a.text != "-1" || a.text == "-s" || a.text == "-n")
        .map(|a| a.text.as_str())
        .collect();
    let last_signal_free: Vec<&str> = pids.iter().copied().filter(|p| !p.starts_with('-') || *p == "-1").collect();
    if last_signal_free.iter().any(|p| *p == "-1" || *p == "1") || args.iter().skip(1).any(|a| a.text == "-1") {
        return critical("kills every process, or the system's first process (kill -1 / kill 1)");
    }
    moderate(format!("stops the process {}", last_signal_free.first().copied().unwrap_or("…")))
}

fn ip(args: &[Arg]) -> Verdict {
    let words: Vec<&str> = args.iter().map(|a| a.text.as_str()).filter(|t| !t.starts_with('-')).collect();
    // Options with values: `-n ns`, `-f inet`.
    let action = words.get(1).copied();
    match (words.first().copied(), action) {
        (None, _) => Verdict::safe(),
        (Some("netns"), Some("exec")) => moderate("runs a command in another network namespace"),
        (_, None | Some("show" | "list" | "ls" | "lst" | "get" | "help" | "sh" | "s" | "l")) => Verdict::safe(),
        (_, Some(a))
            if !matches!(
                a,
                "add"
                    | "del"
                    | "delete"
                    | "set"
                    | "change"
                    | "replace"
                    | "flush"
                    | "append"
                    | "prepend"
                    | "a"
                    | "d"
                    | "exec"
                    | "attach"
                    | "detach"
                    | "save"
                    | "restore"
                    | "up"
                    | "down"
            ) =>
        {
            Verdict::safe()
        }
        _ => moderate("changes network settings (ip)"),
    }
}

fn systemctl(args: &[Arg]) -> Verdict {
    let sub = args.iter().find(|a| !a.text.starts_with('-')).map_or("", |a| a.text.as_str());
    let unit = args.iter().filter(|a| !a.text.starts_with('-')).nth(1).map_or("", |a| a.text.as_str());
    match sub {
        "" | "status" | "list-units" | "list-unit-files" | "list-timers" | "list-sockets" | "list-dependencies"
        | "list-jobs" | "list-machines" | "list-automounts" | "list-paths" | "is-active" | "is-enabled"
        | "is-failed" | "is-system-running" | "show" | "cat" | "get-default" | "help" | "show-environment"
        | "--version" => Verdict::safe(),
        "poweroff"
        | "reboot"
        | "halt"
        | "kexec"
        | "suspend"
        | "hibernate"
        | "hybrid-sleep"
        | "suspend-then-hibernate"
        | "rescue"
        | "emergency"
        | "isolate"
        | "default"
        | "soft-reboot"
        | "exit"
        | "switch-root" => high(format!("shuts down, restarts or suspends the machine (systemctl {sub})")),
        "stop" | "disable" | "mask" | "kill" | "freeze" => {
            high(format!("stops or disables the service {unit} (systemctl {sub})"))
        }
        _ => moderate(format!("starts, restarts or changes the service {unit} (systemctl {sub})")),
    }
}

fn launchctl(args: &[Arg]) -> Verdict {
    let sub = args.first().map_or("", |a| a.text.as_str());
    match sub {
        "list" | "print" | "print-disabled" | "print-cache" | "blame" | "dumpstate" | "version" | "help"
        | "managerpid" | "manageruid" | "managername" | "error" | "procinfo" | "hostinfo" | "examine"
        | "dumpjpcategory" | "getenv" => Verdict::safe(),
        "load" | "bootstrap" | "enable" | "submit" | "asuser" => {
            high(format!("installs a service that starts at every login or boot (launchctl {sub})"))
        }
        "unload" | "bootout" | "disable" | "remove" | "stop" | "kill" => {
            high(format!("stops or removes a service (launchctl {sub})"))
        }
        "reboot" | "halt" => high("restarts or halts the machine (launchctl reboot)"),
        _ => moderate(format!("changes a service (launchctl {sub})")),
    }
}

fn crontab(args: &[Arg], ctx: &Ctx) -> Verdict {
    let o = Opts { args };
    if o.short('l') {
        return Verdict::safe();
    }
    if o.short('r') {
        return high("removes all your scheduled jobs (crontab -r)").safer(ctx, Some("crontab -l".into()));
    }
    if o.short('e') {
        return moderate("opens your scheduled jobs in an editor");
    }
    let source = o.operands().first().map_or("its input".to_string(), |a| {
        if a.text == "-" {
            "its input".into()
        } else {
            a.text.clone()
        }
    });
    high(format!("replaces all your scheduled jobs with {source}; they will run unattended"))
}

fn firewall(name: &str, args: &[Arg]) -> Verdict {
    let t = texts(args);
    let lists = match name {
        "nft" => t.first().is_some_and(|s| *s == "list"),
        "ufw" => t.first().is_some_and(|s| matches!(*s, "status" | "show" | "app")),
        "pfctl" => {
            t.iter().all(|s| s.starts_with("-s") || *s == "-v" || *s == "-a" || !s.starts_with('-'))
                && t.iter().any(|s| s.starts_with("-s"))
        }
        "firewall-cmd" => t.iter().all(|s| {
            s.starts_with("--list")
                || s.starts_with("--get")
                || s.starts_with("--query")
                || *s == "--state"
                || s.starts_with("--zone")
        }),
        _ => {
            t.iter().any(|s| {
                matches!(*s, "-L" | "-S" | "--list" | "--list-rules" | "-nL" | "-Ln" | "-nvL" | "-vnL" | "-vL")
            }) && !t.iter().any(|s| matches!(*s, "-F" | "-X" | "-D" | "-A" | "-I" | "-P"))
        }
    };
    if lists {
        return Verdict::safe();
    }
    let opens = t.iter().any(|s| matches!(*s, "-F" | "--flush" | "-X" | "disable" | "-d" | "flush" | "reset"))
        || t.windows(2).any(|w| w[0] == "-P" && w.len() > 1) && t.contains(&"ACCEPT");
    if opens {
        high(format!("turns off or clears the firewall's rules ({name})"))
    } else {
        moderate(format!("changes the firewall ({name})"))
    }
}

fn mac_tool(name: &str, args: &[Arg]) -> Verdict {
    let t = texts(args);
    let first = t.first().copied().unwrap_or("");
    let read = match name {
        "scutil" => first == "--get" || first == "--dns" || first == "--proxy" || first == "--nwi" || first == "-r",
        "networksetup" => {
            first.starts_with("-get") || first.starts_with("-list") || first == "-version" || first == "-help"
        }
        "pmset" => first == "-g",
        "softwareupdate" => matches!(first, "-l" | "--list" | "--history" | "--list-full-installers"),
        "mdutil" => first == "-s" || first == "-sa",
        "xattr" => !t.iter().any(|s| matches!(*s, "-d" | "-c" | "-w" | "-rd" | "-cr" | "-rc" | "-dr")),
        "codesign" => {
            t.iter().any(|s| matches!(*s, "-d" | "-v" | "--verify" | "--display" | "-dv" | "-dvv" | "-dvvv" | "-vvv"))
        }
        "security" => {
            first.starts_with("find-certificate")
                || matches!(
                    first,
                    "list-keychains"
                        | "show-keychain-info"
                        | "default-keychain"
                        | "login-keychain"
                        | "verify-cert"
                        | "cms"
                        | "list-smartcards"
                )
        }
        "plutil" => {
            matches!(first, "-p" | "-lint" | "-help") || (first == "-convert" && t.contains(&"-o") && t.contains(&"-"))
        }
        "profiles" => matches!(first, "list" | "show" | "status" | "-P" | "-L"),
        _ => false,
    };
    if read {
        Verdict::safe()
    } else if name == "security"
        && (first.starts_with("delete") || first == "dump-keychain" || first.ends_with("-password"))
    {
        high(format!("reads or removes secrets from your keychain (security {first})"))
    } else {
        moderate(format!("changes system settings ({name} {first})"))
    }
}

fn download(j: &mut Judge, name: &str, args: &[Arg]) -> Verdict {
    let o = Opts { args };
    let url = args
        .iter()
        .find(|a| a.text.contains("://"))
        .map(|a| a.text.clone())
        .or_else(|| o.operands().last().map(|a| a.text.clone()))
        .unwrap_or_default();
    let host = url.split("://").nth(1).unwrap_or(&url).split('/').next().unwrap_or("").to_string();
    let mut v = Verdict::safe();
    // Uploads: `-d @file`, `-F x=@file`, `-T file`, `--post-file`.
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        let value = |k: usize| args.get(k).map(|a| a.text.as_str()).unwrap_or("");
        let sent = match t {
            "-d" | "--data" | "--data-binary" | "--data-raw" | "--data-urlencode" | "-F" | "--form" | "--json" => {
                value(i + 1).split_once('@').map(|(_, f)| f.to_string()).or(Some(String::new()))
            }
            "-T" | "--upload-file" | "--post-file" | "--body-file" => Some(value(i + 1).to_string()),
            _ => None,
        };
        if let Some(f) = sent {
            let secret = !f.is_empty() && {
                let p = place(
                    &crate::words::Arg { shape: f.replacen('~', &crate::words::HOME.to_string(), 1), ..Arg::plain(&f) },
                    j.cwd.as_ref(),
                );
                matches!(p, Place::Secrets(_) | Place::System(_) | Place::Startup(_))
                    || f.contains(".ssh")
                    || f.contains("id_rsa")
                    || f.contains("id_ed25519")
            };
            v = v.or(if secret {
                high(format!("sends {f}, which holds keys or system secrets, to {host}"))
            } else if f.is_empty() || f == "-" {
                moderate(format!("sends data to {host}"))
            } else {
                moderate(format!("sends the file {f} to {host}"))
            });
        }
    }
    let out =
        o.value(&["-o", "--output"])
            .or_else(|| if name == "wget" { o.value(&["-O", "--output-document"]) } else { None });
    match out {
        Some(f) if f.text != "-" && f.text != "/dev/stdout" => {
            j.note_download(&f.text);
            let w = j.write_to(f, Write::Overwrite);
            v = v.or(if w.risk > Risk::Moderate { w } else { moderate(format!("downloads {url} into {}", f.text)) });
        }
        Some(_) => {}
        None => {
            let remote_name = name == "wget" || (name == "curl" && (o.short('O') || o.long("--remote-name")));
            if remote_name {
                if let Some(base) = url.rsplit('/').next().filter(|b| !b.is_empty()) {
                    j.note_download(base);
                    v = v.or(moderate(format!("downloads {url} into this folder")));
                }
            }
        }
    }
    v.or(moderate(format!("contacts {} over the network", if host.is_empty() { "a server" } else { &host })))
}

fn alias(j: &mut Judge, name: &str, args: &[Arg]) -> Verdict {
    let defs: Vec<&Arg> = args.iter().filter(|a| !a.text.starts_with('-')).collect();
    if name == "abbr"
        && (defs.is_empty() || args.iter().any(|a| matches!(a.text.as_str(), "-l" | "--list" | "-s" | "--show")))
    {
        return Verdict::safe();
    }
    let mut v = Verdict::safe();
    // `alias ls='rm -rf'`; fish's abbr: `abbr -a ls 'rm -rf'`.
    let pairs: Vec<(String, String, bool)> = if name == "abbr" {
        defs.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0].text.clone(), c[1].text.clone(), c[1].dynamic)).collect()
    } else {
        defs.iter()
            .filter_map(|a| a.text.split_once('=').map(|(k, val)| (k.to_string(), val.to_string(), a.dynamic)))
            .collect()
    };
    for (k, val, dynamic) in pairs {
        let inner = if dynamic {
            high(format!("defines `{k}` as code only known when it runs"))
        } else {
            let d = j.dialect;
            j.code(&val, d, &Default::default())
        };
        let known = is_known(&k) || is_builtin(&k);
        let w = if known {
            high(format!("redefines `{k}` for this shell: typing {k} will run `{val}`"))
        } else {
            moderate(format!("defines the alias {k}"))
        };
        v = v.or(w).or(if inner.risk > Risk::Moderate {
            Verdict { reason: format!("defines `{k}` as a command that {}", inner.reason), ..inner }
        } else {
            Verdict::safe()
        });
    }
    v
}

fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "cd" | "sudo"
            | "git"
            | "ssh"
            | "exit"
            | "clear"
            | "mv"
            | "cp"
            | "vim"
            | "python"
            | "python3"
            | "pip"
            | "npm"
            | "curl"
            | "wget"
            | "man"
            | "less"
            | "which"
            | "echo"
            | "source"
            | "exec"
            | "eval"
            | "kill"
            | "export"
            | "history"
            | "alias"
            | "unalias"
            | "command"
            | "builtin"
            | "doas"
            | "su"
            | "top"
            | "ps"
            | "tar"
            | "make"
            | "docker"
            | "kubectl"
    )
}

fn database(name: &str, args: &[Arg]) -> Verdict {
    let sql = args.iter().map(|a| a.text.to_uppercase()).collect::<Vec<_>>().join(" ");
    let destroys = [
        "DROP DATABASE",
        "DROP TABLE",
        "DROP SCHEMA",
        "TRUNCATE",
        "FLUSHALL",
        "FLUSHDB",
        "DROPDATABASE",
        "DROP USER",
        "DROP OWNED",
    ]
    .iter()
    .any(|k| sql.contains(k))
        || (sql.contains("DELETE FROM") && !sql.contains("WHERE"));
    if destroys {
        high(format!("deletes a database, a table or all its rows ({name})"))
    } else if sql.contains(".SHELL") || sql.contains(".SYSTEM") || sql.contains("\\!") {
        high(format!("runs shell commands from {name}"))
    } else {
        moderate(format!("runs database commands ({name})"))
    }
}

fn openssl(j: &mut Judge, args: &[Arg]) -> Verdict {
    let o = Opts { args };
    let sub = args.first().map_or("", |a| a.text.as_str());
    if let Some(out) = o.value(&["-out"]) {
        return j.write_to(out, Write::Overwrite);
    }
    match sub {
        "version" | "x509" | "dgst" | "list" | "ciphers" | "verify" | "asn1parse" | "crl" | "req" | "rsa" | "ec"
        | "pkey" | "speed" | "help" | "sha256" | "sha1" | "md5" | "rand" | "prime" | "errstr" | "base64" | "enc"
            if !(sub == "req" && o.short('n') && o.long("-new")) =>
        {
            Verdict::safe()
        }
        "s_client" => moderate("opens a network connection (openssl s_client)"),
        _ => moderate(format!("runs openssl {sub}, which can write keys or files")),
    }
}

#[cfg(test)]
mod tests {
    use super::sed_script;

    #[test]
    fn sed_programs() {
        for ok in [
            "s/a/b/g",
            "1d",
            "/x/d;s/q/r/2",
            "-n 5p",
            "$!N;P;D",
            "s#/a#/b#",
            "y/abc/xyz/",
            "/^#/!p",
            "s/\\r$//",
            "1,5p",
            "s/x/y/;s/z/w/gI",
        ] {
            let s = ok.trim_start_matches("-n ");
            assert!(sed_script(s).is_ok(), "{ok}");
        }
        for bad in ["s/a/b/w out", "w out", "1e date", "s/x/rm -rf ~/e", "s/a/b/;w /etc/passwd", "s/a/b"] {
            assert!(sed_script(bad).is_err(), "{bad}");
        }
    }
}
