//! systemd unit files (systemd.syntax(7)).
//!
//! Lines ending in a backslash are joined with the next one, the backslash
//! becoming a space; comment lines (`#`, `;`) are skipped, also inside such a
//! continuation. Values are returned raw (still quoted): how a value is split
//! depends on the key ([`words`](super::words)).

use crate::span::FileId;
use crate::text::Cooked;

/// One `Key=Value` assignment.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) section: String,
    pub(crate) key: String,
    /// The value with continuations joined and surrounding space trimmed.
    pub(crate) value: Cooked,
}

/// Parses a unit file or drop-in.
pub(crate) fn parse(file: FileId, text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut section = String::new();
    let mut logical = Cooked::new();
    let mut pending = false;
    let mut pos = 0;
    for raw_line in text.split_inclusive('\n') {
        let start = pos;
        pos += raw_line.len();
        let mut line = raw_line.strip_suffix('\n').unwrap_or(raw_line);
        line = line.strip_suffix('\r').unwrap_or(line);
        let mut line_start = start;
        if let Some(rest) = line.strip_prefix('\u{feff}').filter(|_| start == 0) {
            line = rest;
            line_start += '\u{feff}'.len_utf8();
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with(['#', ';']) {
            continue;
        }
        let continued = ends_in_unescaped_backslash(line);
        let body = if continued {
            &line[..line.len() - 1]
        } else {
            line
        };
        logical.push_cooked(&Cooked::verbatim(
            file,
            text,
            line_start..line_start + body.len(),
        ));
        pending = true;
        if continued {
            let bs = line_start + body.len();
            logical.push(' ', file, bs..bs + 1);
            continue;
        }
        pending = false;
        handle_line(&std::mem::take(&mut logical), &mut section, &mut entries);
    }
    if pending {
        handle_line(&logical, &mut section, &mut entries);
    }
    entries
}

fn handle_line(line: &Cooked, section: &mut String, out: &mut Vec<Entry>) {
    let s = line.as_str();
    let body = s.trim();
    if body.is_empty() {
        return;
    }
    if body.starts_with('[') {
        if let Some(name) = body.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
            name.clone_into(section);
        }
        return;
    }
    let Some(eq) = s.find('=') else { return };
    let key = s[..eq].trim();
    if key.is_empty() {
        return;
    }
    let after = &s[eq + 1..];
    let v_start = eq + 1 + (after.len() - after.trim_start().len());
    let v_end = (eq + 1 + after.trim_end().len()).max(v_start);
    out.push(Entry {
        section: section.clone(),
        key: key.to_owned(),
        value: line.slice(v_start..v_end),
    });
}

fn ends_in_unescaped_backslash(line: &str) -> bool {
    let trailing = line.bytes().rev().take_while(|&b| b == b'\\').count();
    trailing % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(String, String, String)> {
        parse(FileId::TEST, text)
            .into_iter()
            .map(|e| (e.section, e.key, e.value.as_str().to_owned()))
            .collect()
    }

    #[test]
    fn sections_keys_and_trimmed_values() {
        let got = entries(
            "[Unit]\nDescription = kubelet \n\n# c\n; c\n[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $A\n",
        );
        assert_eq!(
            got,
            vec![
                ("Unit".into(), "Description".into(), "kubelet".into()),
                ("Service".into(), "ExecStart".into(), String::new()),
                (
                    "Service".into(),
                    "ExecStart".into(),
                    "/usr/bin/kubelet $A".into()
                ),
            ]
        );
    }

    #[test]
    fn continuations_skip_comment_lines_and_keep_spans() {
        let text = "[Service]\r\nExecStart=/usr/bin/kubelet \\\r\n  # a comment \\\r\n  --a=1 \\\r\n  --b\r\nX=1";
        let e = parse(FileId::TEST, text);
        assert_eq!(e[0].value.as_str(), "/usr/bin/kubelet    --a=1    --b");
        let at = e[0].value.as_str().find("--a=1").unwrap();
        let loc = e[0].value.loc_of(at..at + 5).unwrap();
        assert_eq!(&text[loc.span], "--a=1");
        assert_eq!(e[1].key, "X");
    }

    #[test]
    fn escaped_backslash_does_not_continue() {
        let got = entries("[S]\nA=x\\\\\nB=y\n");
        assert_eq!(got[0].2, "x\\\\");
        assert_eq!(got[1].1, "B");
    }
}
