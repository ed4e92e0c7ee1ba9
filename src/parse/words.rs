//! systemd word splitting (`extract_first_word` in systemd's source).
//!
//! Words are separated by white space; `"…"` and `'…'` quote (and are
//! removed), a backslash escapes the next character, and with C unescaping
//! (`Environment=`, `ExecStart=`) the escapes of systemd.syntax(7) apply.
//! Unbalanced quotes are accepted (systemd's `EXTRACT_RELAX`).

use crate::text::Cooked;

const SEPARATORS: &[char] = &[' ', '\t', '\n', '\r'];

/// How backslashes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escapes {
    /// C-style escapes (`\n`, `\x41`, `\s`, …) as in unit files.
    C,
    /// A backslash makes the next character literal, as when systemd splits
    /// the value of `$VAR` on a command line.
    Literal,
}

/// Splits `s` into words, keeping each character's origin.
pub(crate) fn split(s: &Cooked, escapes: Escapes) -> Vec<Cooked> {
    let text = s.as_str();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && SEPARATORS.contains(&chars[i].1) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut word = Cooked::new();
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let (at, c) = chars[i];
            match (quote, c) {
                (None, c) if SEPARATORS.contains(&c) => break,
                (Some(q), c) if c == q => {
                    quote = None;
                    i += 1;
                }
                (None, '"' | '\'') => {
                    quote = Some(c);
                    i += 1;
                }
                (_, '\\') => {
                    let (ch, used) = match escapes {
                        Escapes::C => unescape(&chars[i + 1..]),
                        Escapes::Literal => (chars.get(i + 1).map(|&(_, c)| c), 1),
                    };
                    let end_idx = (i + 1 + used).min(chars.len());
                    let end = chars.get(end_idx).map_or(text.len(), |&(a, _)| a);
                    match ch {
                        Some(ch) => append(&mut word, s, ch, at..end),
                        None if i + 1 < chars.len() => {
                            // An unknown escape is kept as written.
                            append(&mut word, s, '\\', at..at + 1);
                            let (a, c2) = chars[i + 1];
                            append(&mut word, s, c2, a..a + c2.len_utf8());
                        }
                        None => append(&mut word, s, '\\', at..at + 1),
                    }
                    i = end_idx.max(i + 1);
                }
                (_, c) => {
                    append(&mut word, s, c, at..at + c.len_utf8());
                    i += 1;
                }
            }
        }
        words.push(word);
    }
    words
}

/// Appends `c`, produced by the cooked bytes `range` of `src`.
fn append(word: &mut Cooked, src: &Cooked, c: char, range: std::ops::Range<usize>) {
    if let Some(loc) = src.loc_of(range) {
        word.push(c, loc.file, loc.span);
    }
}

/// Reads one C escape after a backslash; returns the character (None if the
/// escape is unknown) and how many characters it used.
fn unescape(rest: &[(usize, char)]) -> (Option<char>, usize) {
    let Some(&(_, c)) = rest.first() else {
        return (None, 0);
    };
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        's' => Some(' '),
        '\\' | '"' | '\'' | '$' | ' ' => Some(c),
        _ => None,
    };
    if simple.is_some() {
        return (simple, 1);
    }
    let digits = |radix: u32, n: usize| -> Option<char> {
        if rest.len() < n + 1 {
            return None;
        }
        let s: String = rest[1..=n].iter().map(|&(_, c)| c).collect();
        u32::from_str_radix(&s, radix).ok().and_then(char::from_u32)
    };
    match c {
        'x' => digits(16, 2).map_or((None, 1), |ch| (Some(ch), 3)),
        'u' => digits(16, 4).map_or((None, 1), |ch| (Some(ch), 5)),
        'U' => digits(16, 8).map_or((None, 1), |ch| (Some(ch), 9)),
        '0'..='7' => {
            let oct: String = rest.iter().take(3).map(|&(_, c)| c).collect();
            if oct.len() == 3 && oct.chars().all(|c| ('0'..='7').contains(&c)) {
                (
                    u32::from_str_radix(&oct, 8).ok().and_then(char::from_u32),
                    3,
                )
            } else {
                (None, 1)
            }
        }
        _ => (None, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn words(s: &str, e: Escapes) -> Vec<String> {
        let c = Cooked::verbatim(FileId::TEST, s, 0..s.len());
        split(&c, e).iter().map(|w| w.as_str().to_owned()).collect()
    }

    #[test]
    fn quotes_escapes_and_spans() {
        assert_eq!(
            words(r#"ONE='one' "TWO='two two' too" THREE="#, Escapes::C),
            ["ONE=one", "TWO='two two' too", "THREE="]
        );
        assert_eq!(
            words(r"a\sb c\x41 \101 \q", Escapes::C),
            ["a b", "cA", "A", "\\q"]
        );
        assert_eq!(words(r"a\ b 'c d", Escapes::Literal), ["a b", "c d"]);
        let s = r#"X="--a=1 --b""#;
        let c = Cooked::verbatim(FileId::TEST, s, 0..s.len());
        let w = &split(&c, Escapes::C)[0];
        let at = w.as_str().find("--b").unwrap();
        assert_eq!(&s[w.loc_of(at..at + 3).unwrap().span], "--b");
    }
}
