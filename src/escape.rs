//! The one escaping rule of every text report, and bounded excerpts: what
//! is read from an input is shown so that it can neither drive the terminal
//! nor start a line of its own. This module imports nothing of promready.

use std::ops::Range;

/// Where escaped text is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    /// Inside a line (a path, a value, a message): every control character
    /// is escaped, line breaks too, so the text stays on its line.
    Inline,
    /// At the start of a line (concise output's paths): as `Inline`, and a
    /// leading `::` is escaped, so no line starts a workflow command.
    LineStart,
    /// A source snippet: line breaks (`\n`, and `\r` before it) are kept
    /// as line breaks; every other control character is escaped.
    Snippet,
}

/// The one escaping rule of every text report (human, concise, GitHub,
/// `fix`): C0 controls (tab excepted; line breaks only in snippets), DEL,
/// C1 controls, ESC, BEL, CR and the bidirectional formatting characters
/// (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) are shown as visible escapes (`\x1b`,
/// `\r`, `\u{85}`), so that nothing read from an input can move the cursor,
/// set a link or a title, or start a line of its own. Text without any of
/// them is returned as is.
pub(crate) fn escape(s: &str, at: Shown) -> std::borrow::Cow<'_, str> {
    escape_mapped(s, at, |_, _| {})
}

/// [`escape`], calling `moved(old, new)` with the byte offsets just past
/// each escaped character in `s` and in the result, so spans can follow.
pub(crate) fn escape_mapped(
    s: &str,
    at: Shown,
    mut moved: impl FnMut(usize, usize),
) -> std::borrow::Cow<'_, str> {
    let leading = at == Shown::LineStart && s.starts_with("::");
    let bytes = s.as_bytes();
    let needs = |i: usize, c: char| match c {
        '\t' => false,
        '\n' => at != Shown::Snippet,
        '\r' => at != Shown::Snippet || bytes.get(i + 1) != Some(&b'\n'),
        // Bidirectional formatting characters reorder what is shown
        // (a path that reads as another one).
        c => {
            c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        }
    };
    if !leading && !s.char_indices().any(|(i, c)| needs(i, c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for (i, c) in s.char_indices() {
        if (leading && i == 0) || needs(i, c) {
            use std::fmt::Write as _;
            let _ = match c {
                '\n' => write!(out, "\\n"),
                '\r' => write!(out, "\\r"),
                c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
                c => write!(out, "\\u{{{:x}}}", c as u32),
            };
            moved(i + c.len_utf8(), out.len());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// JSON text with DEL and the C1 controls written as `\u007f`…`\u009f`:
/// `serde_json` escapes C0 (ESC, BEL, CR, LF among them) but passes these
/// through, and a terminal showing the report could act on them. They can
/// only occur inside strings, where the escape means the same character.
pub(crate) fn json_controls(json: String) -> String {
    // In UTF-8, DEL is the byte 0x7f and U+0080..U+009F are 0xc2 followed
    // by 0x80..0x9f: a byte scan, as reports are mostly ASCII.
    let bytes = json.as_bytes();
    let control = |i: usize| {
        bytes[i] == 0x7f || (bytes[i] == 0xc2 && bytes.get(i + 1).is_some_and(|b| *b <= 0x9f))
    };
    if !(0..bytes.len()).any(control) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) {
            use std::fmt::Write as _;
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// A path on this machine as reports print it: lossy UTF-8, escaped.
pub(crate) fn path(p: &std::path::Path) -> String {
    escape(&p.to_string_lossy(), Shown::Inline).into_owned()
}

/// `s` escaped to one line and cut to at most `max` characters (for
/// messages that quote an input).
pub(crate) fn bounded(s: &str, max: usize) -> String {
    let mut out: String = escape(s, Shown::Inline).chars().take(max + 1).collect();
    if out.chars().count() > max {
        out = out.chars().take(max).collect();
        out.push('…');
    }
    out
}

/// Characters of a line an excerpt keeps around the error.
const EXCERPT_WIDTH: usize = 160;

/// A bounded, escaped excerpt of `text` for an error report about `span`:
/// the line of the error and the lines around it, each cut to 160
/// characters (around the error on its own line) and escaped, with earlier
/// lines left empty so line numbers stay right; and the span in it. Nothing
/// else of the file is kept, whatever it holds (a link to
/// `/proc/self/environ` is one line of every variable).
pub(crate) fn excerpt(text: &str, span: Range<usize>) -> (String, Range<usize>) {
    let start = span.start.min(text.len());
    let mut at = start;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line_no = text[..line_start].matches('\n').count();
    // One line of context on each side, as the renderer shows.
    let before = line_start.checked_sub(1).map(|end| {
        let s = text[..end].rfind('\n').map_or(0, |i| i + 1);
        &text[s..end]
    });
    let after = (line_end < text.len()).then(|| {
        let s = line_end + 1;
        let e = text[s..].find('\n').map_or(text.len(), |i| s + i);
        &text[s..e]
    });
    let cut = |line: &str, from: usize| -> String {
        let mut from = from.min(line.len());
        while !line.is_char_boundary(from) {
            from -= 1;
        }
        let kept: String = line[from..].chars().take(EXCERPT_WIDTH).collect();
        let mut out = String::new();
        if from > 0 {
            out.push('…');
        }
        out.push_str(&escape(&kept, Shown::Inline));
        if from + kept.len() < line.len() {
            out.push('…');
        }
        out
    };
    let mut out = String::new();
    let blank = line_no.saturating_sub(usize::from(before.is_some()));
    // Capped so that a file of newlines costs nothing either.
    out.extend(std::iter::repeat_n('\n', blank.min(1 << 20)));
    if let Some(b) = before {
        out.push_str(&cut(b, 0));
        out.push('\n');
    }
    let line = &text[line_start..line_end];
    let col = at - line_start;
    // Keep the start of the line when the error is near it.
    let from = if col < EXCERPT_WIDTH / 2 {
        0
    } else {
        col - EXCERPT_WIDTH / 4
    };
    let head = cut(&line[..col.max(from)], from);
    let head = head.strip_suffix('…').unwrap_or(&head).to_owned();
    let new_start = out.len() + head.len();
    let whole = cut(line, from);
    out.push_str(&whole);
    let len = escape(&text[at..span.end.clamp(at, line_end)], Shown::Inline).len();
    let new_end = (new_start + len).min(out.len());
    if let Some(a) = after {
        out.push('\n');
        out.push_str(&cut(a, 0));
    }
    (out, new_start.min(new_end)..new_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("etc/kubelet", Shown::Inline), "etc/kubelet");
        assert_eq!(
            escape("a\u{1b}]8;;x\u{7}\rb\nc\td\u{7f}\u{85}", Shown::Inline),
            "a\\x1b]8;;x\\x07\\rb\\nc\td\\x7f\\u{85}"
        );
        assert_eq!(escape("a\r\nb\rc\n", Shown::Snippet), "a\r\nb\\rc\n");
        assert_eq!(escape("::error x", Shown::LineStart), "\\x3a:error x");
        assert_eq!(escape("::error x", Shown::Inline), "::error x");
        assert_eq!(
            escape("etc/\u{202e}lmay.fnoc", Shown::Inline),
            "etc/\\u{202e}lmay.fnoc"
        );
        let mut seen = Vec::new();
        let _ = escape_mapped("a\u{7}b\u{7}", Shown::Inline, |o, n| seen.push((o, n)));
        assert_eq!(seen, [(2, 5), (4, 10)]);
        let json = json_controls(serde_json::to_string("a\u{1b}\u{7f}\u{9b}b").unwrap_or_default());
        assert_eq!(json, r#""a\u001b\u007f\u009bb""#);
        assert_eq!(
            serde_json::from_str::<String>(&json).unwrap_or_default(),
            "a\u{1b}\u{7f}\u{9b}b"
        );
        // Each control alone is found; U+00A0 and other two-byte
        // characters starting 0xc2 are not controls.
        for (c, escaped) in [
            ('\u{7f}', "\\u007f"),
            ('\u{80}', "\\u0080"),
            ('\u{9f}', "\\u009f"),
        ] {
            assert_eq!(
                json_controls(format!("\"x{c}\"")),
                format!("\"x{escaped}\"")
            );
        }
        for s in ["\"\u{a0}\u{bf}é\"", "\"plain\""] {
            assert_eq!(json_controls(s.to_owned()), s);
        }
    }

    #[test]
    fn excerpts_are_bounded_and_keep_line_numbers() {
        let text = "a: 1\nb: 2\nc: \u{1b}[31mbad\nd: 4\ne: 5\n";
        let at = text.find("bad").unwrap_or_default();
        let (ex, span) = excerpt(text, at..at + 3);
        assert_eq!(ex, "\nb: 2\nc: \\x1b[31mbad\nd: 4");
        assert_eq!(&ex[span], "bad");
        let env = format!("A=1\0SECRET={}\0B=2", "x".repeat(100_000));
        let (ex, span) = excerpt(&env, 0..0);
        assert!(ex.len() < 1000, "{}", ex.len());
        assert!(ex.starts_with("A=1\\x00SECRET=xxx"), "{ex}");
        assert_eq!(span, 0..0);
        let at = env.len() - 3;
        let (ex, span) = excerpt(&env, at..at + 3);
        assert!(ex.len() < 1000, "{}", ex.len());
        assert_eq!(&ex[span], "B=2");
    }
}
