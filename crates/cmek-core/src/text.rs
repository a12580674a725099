//! Characters a name must not hold because they change how *other* text looks: bidi controls
//! (U+202E turns `rtl\u{202e}gnp.exe` into "rtlexe.png") and invisible characters (a name
//! with U+200B looks like another). Control characters are checked by each name's own rule.

/// The first invisible or text-direction character of `s`: (the character, its 1-based
/// position in characters, its Unicode name).
pub fn hidden_character(s: &str) -> Option<(char, usize, &'static str)> {
    s.chars().enumerate().find_map(|(i, c)| hidden_name(c).map(|n| (c, i + 1, n)))
}

/// The message for [`hidden_character`]'s finding, e.g. "contains U+202E RIGHT-TO-LEFT
/// OVERRIDE at character 4, …".
pub fn hidden_character_message(c: char, position: usize, name: &str) -> String {
    format!(
        "contains U+{:04X} {name} at character {position}: invisible and text-direction characters are not allowed in names (they make one name look like another)",
        c as u32
    )
}

fn hidden_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' => "HANGUL FILLER",
        '\u{17B4}' | '\u{17B5}' => "KHMER INHERENT VOWEL",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}'..='\u{2064}' => "INVISIBLE OPERATOR",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{206A}'..='\u{206F}' => "DEPRECATED FORMAT CHARACTER",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        '\u{FFF9}'..='\u{FFFB}' => "INTERLINEAR ANNOTATION CHARACTER",
        '\u{1D173}'..='\u{1D17A}' => "MUSICAL SYMBOL FORMAT CHARACTER",
        '\u{E0000}'..='\u{E007F}' => "TAG CHARACTER",
        _ => return None,
    })
}

/// `s` with its first letter in upper case: an API message ("resuming the cluster is refused: …")
/// continues a sentence, a timeline entry is one.
pub fn sentence_case(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bidi_and_invisible_characters() {
        assert_eq!(hidden_character("rtl\u{202e}gnp.exe"), Some(('\u{202e}', 4, "RIGHT-TO-LEFT OVERRIDE")));
        assert_eq!(hidden_character("a\u{200b}b").map(|h| h.1), Some(2));
        assert_eq!(hidden_character("\u{feff}x").map(|h| h.2), Some("ZERO WIDTH NO-BREAK SPACE"));
        assert_eq!(hidden_character("Prod — 東京 ❤️ café"), None, "visible text, emoji with FE0F");
        let (c, p, n) = hidden_character("ab\u{2066}").unwrap();
        let m = hidden_character_message(c, p, n);
        assert!(m.starts_with("contains U+2066 LEFT-TO-RIGHT ISOLATE at character 3"), "{m}");
    }
}
