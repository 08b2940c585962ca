//! Server-sent events, as far as the chat API uses them: `data:` lines,
//! an event ending at a blank line, `:` comments and other fields ignored.

/// A line longer than this is not an API event.
const MAX_LINE: usize = 1 << 20;

#[derive(Default)]
pub struct Stream {
    line: Vec<u8>,
    data: Option<String>,
}

impl Stream {
    /// Feeds bytes; each event completed by them goes to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), String> {
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.line_done(line, out)?;
            } else {
                self.line.push(b);
                if self.line.len() > MAX_LINE {
                    return Err("a line of the stream is longer than 1 MiB".into());
                }
            }
        }
        Ok(())
    }

    /// The stream closed: a last event without its blank line still counts.
    pub fn end(&mut self, out: &mut Vec<String>) -> Result<(), String> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(line, out)?;
        }
        out.extend(self.data.take());
        Ok(())
    }

    fn line_done(&mut self, mut line: Vec<u8>, out: &mut Vec<String>) -> Result<(), String> {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let line = String::from_utf8(line).map_err(|_| "the stream is not UTF-8 text".to_string())?;
        if line.is_empty() {
            out.extend(self.data.take());
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(parts: &[&[u8]]) -> Result<Vec<String>, String> {
        let mut s = Stream::default();
        let mut out = vec![];
        for p in parts {
            s.push(p, &mut out)?;
        }
        s.end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn events_split_anywhere_and_joined_lines() {
        let got = events(&[
            b"data: {\"a\"",
            b":1}\r\n\r\n: keep-alive\n\nevent: x\ndata: one\ndata: two\n\nda",
            b"ta: [DONE]",
        ]);
        assert_eq!(got.unwrap(), ["{\"a\":1}", "one\ntwo", "[DONE]"]);
    }

    #[test]
    fn not_utf8_is_an_error() {
        assert!(events(&[b"data: \xff\xfe\n\n"]).is_err());
    }
}
