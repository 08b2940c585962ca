//! The first pass over a header: every length, count and value that sizes
//! an allocation is checked against the file before the parse allocates it.
use std::fs::File;
use std::io::{BufReader, Read};

use crate::content::{Value, MAX_ALIGNMENT};

/// The most memory the parsed metadata may take. The parse holds each array
/// element as a `Value` of 32 bytes, so an array of bytes costs 32 times
/// its size in the file; the largest real vocabularies (Gemma 3's 262,144
/// tokens, scores and types) take about 30 MB.
pub const MAX_METADATA_MEMORY: u64 = 128 << 20;

/// Walks a GGUF header without allocating from its lengths: each string,
/// array and count must fit in what is left of the file, the memory the
/// parsed metadata will take must stay under `MAX_METADATA_MEMORY`, and the
/// values the parse computes with (`general.alignment`) must be sound.
pub(crate) struct HeaderCheck<'a> {
    pub r: &'a mut BufReader<File>,
    pub pos: u64,
    pub size: u64,
    /// What the parse of the metadata read so far will hold.
    pub memory: u64,
}

impl HeaderCheck<'_> {
    pub fn run(mut self) -> std::result::Result<(), String> {
        let _magic = self.u32()?;
        let version = self.u32()?;
        if !(1..=3).contains(&version) {
            return Err(format!("GGUF version {version} is not supported"));
        }
        let wide = version >= 2;
        let tensors = self.len(wide)?;
        let kvs = self.len(wide)?;
        // The smallest metadata entry takes 13 bytes; a tensor info 24.
        self.fits(kvs, 13, "metadata entries")?;
        self.fits(tensors, 24, "tensors")?;
        for _ in 0..kvs {
            let key = self.key(wide)?;
            let ty = self.u32()?;
            // A map entry: the key's String and the Value.
            self.spend(64 + std::mem::size_of::<Value>() as u64)?;
            if key.as_deref() == Some("general.alignment") && ty <= 5 {
                // The data offset is rounded up to it: 0 would divide by zero.
                let a: i64 = match ty {
                    0 => self.bytes::<1>()?[0] as i64,
                    1 => self.bytes::<1>()?[0] as i8 as i64,
                    2 => u16::from_le_bytes(self.bytes::<2>()?) as i64,
                    3 => i16::from_le_bytes(self.bytes::<2>()?) as i64,
                    4 => self.u32()? as i64,
                    _ => self.u32()? as i32 as i64,
                };
                if a <= 0 || !(a as u64).is_power_of_two() || a as u64 > MAX_ALIGNMENT {
                    return Err(format!("general.alignment {a} is not a power of two up to {MAX_ALIGNMENT}"));
                }
                continue;
            }
            self.value(ty, wide, 0)?;
        }
        for _ in 0..tensors {
            self.string(wide)?;
            // A map entry, its shape and its name's String.
            self.spend(128)?;
            let dims = self.u32()?;
            if dims > 4 {
                return Err(format!("a tensor claims {dims} dimensions (at most 4)"));
            }
            // Element counts are multiplied later: they must not overflow.
            let mut elems: u64 = 1;
            for _ in 0..dims {
                let d = self.len(wide)?;
                elems = elems.checked_mul(d).filter(|&n| n <= 1 << 56).ok_or_else(|| {
                    "a tensor's dimensions multiply to more elements than any file can hold".to_string()
                })?;
            }
            self.skip(4 + 8)?;
        }
        Ok(())
    }

    /// A key: its text when short enough to be one we check, else skipped.
    fn key(&mut self, wide: bool) -> std::result::Result<Option<String>, String> {
        let n = self.len(wide)?;
        if n > self.size - self.pos {
            return Err(format!("a string of {n} bytes is longer than the rest of the file"));
        }
        self.spend(n)?;
        if n > 64 {
            self.skip(n)?;
            return Ok(None);
        }
        let mut b = vec![0u8; n as usize];
        self.r.read_exact(&mut b).map_err(|_| "the header ends early".to_string())?;
        self.pos += n;
        Ok(Some(String::from_utf8_lossy(&b).into_owned()))
    }

    /// Counts memory the parsed header will hold, refusing past the cap.
    fn spend(&mut self, bytes: u64) -> std::result::Result<(), String> {
        self.memory = self.memory.saturating_add(bytes);
        if self.memory > MAX_METADATA_MEMORY {
            return Err(format!(
                "the metadata would take more than {} MiB of memory once read (arrays cost {} bytes an element)",
                MAX_METADATA_MEMORY >> 20,
                std::mem::size_of::<Value>()
            ));
        }
        Ok(())
    }

    fn fits(&self, count: u64, each: u64, what: &str) -> std::result::Result<(), String> {
        match count.checked_mul(each) {
            Some(n) if n <= self.size - self.pos => Ok(()),
            _ => Err(format!("the header declares {count} {what}, more than the file's {} bytes can hold", self.size)),
        }
    }

    fn bytes<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(|_| "the header ends early".to_string())?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        self.bytes::<4>().map(u32::from_le_bytes)
    }

    fn len(&mut self, wide: bool) -> std::result::Result<u64, String> {
        if wide {
            self.bytes::<8>().map(u64::from_le_bytes)
        } else {
            self.u32().map(u64::from)
        }
    }

    fn skip(&mut self, n: u64) -> std::result::Result<(), String> {
        if n > self.size - self.pos {
            return Err("the header ends early".into());
        }
        self.r.seek_relative(n as i64).map_err(|e| e.to_string())?;
        self.pos += n;
        Ok(())
    }

    fn string(&mut self, wide: bool) -> std::result::Result<(), String> {
        let n = self.len(wide)?;
        if n > self.size - self.pos {
            return Err(format!("a string of {n} bytes is longer than the rest of the file"));
        }
        self.spend(n)?;
        self.skip(n)
    }

    fn value(&mut self, ty: u32, wide: bool, depth: u32) -> std::result::Result<(), String> {
        match ty {
            0 | 1 | 7 => self.skip(1),
            2 | 3 => self.skip(2),
            4..=6 => self.skip(4),
            10..=12 => self.skip(8),
            8 => self.string(wide),
            9 => {
                if depth > 1 {
                    return Err("arrays nest too deeply".into());
                }
                let elem = self.u32()?;
                let n = self.len(wide)?;
                let min = match elem {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8 | 10..=12 => 8,
                    9 => 12,
                    t => return Err(format!("unknown metadata type {t}")),
                };
                self.fits(n, min, "array elements")?;
                self.spend(n.saturating_mul(std::mem::size_of::<Value>() as u64))?;
                match elem {
                    8 | 9 => (0..n).try_for_each(|_| self.value(elem, wide, depth + 1)),
                    _ => self.skip(n * min),
                }
            }
            t => Err(format!("unknown metadata type {t}")),
        }
    }
}
