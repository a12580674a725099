//! The one table scripts/bench prints: aligned, and a Markdown table as it is (so it can be pasted
//! into docs/performance.md).

pub enum Row {
    Section(String),
    Data(Data),
}

#[derive(Default)]
pub struct Data {
    pub measure: String,
    pub console: String,
    pub limit: String,
    pub react: String,
    pub vs_limit: String,
    pub vs_react: String,
    pub target: String,
    /// `Some(true)` met, `Some(false)` missed, `None` no target on this row.
    pub met: Option<bool>,
}

pub const HEADER: [&str; 8] =
    ["measure", "console", "limit", "React", "console ÷ limit", "console ÷ React", "target", "met"];

pub fn render(rows: &[Row]) -> String {
    let cells = |d: &Data| -> [String; 8] {
        let met = match d.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        [
            d.measure.clone(),
            d.console.clone(),
            d.limit.clone(),
            d.react.clone(),
            d.vs_limit.clone(),
            d.vs_react.clone(),
            d.target.clone(),
            met.to_owned(),
        ]
    };
    let mut lines: Vec<[String; 8]> = vec![HEADER.map(str::to_owned)];
    for r in rows {
        lines.push(match r {
            Row::Section(s) => {
                let mut l: [String; 8] = Default::default();
                l[0] = format!("**{s}**");
                l
            }
            Row::Data(d) => cells(d),
        });
    }
    let width = |i: usize| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..8).map(width).collect();
    let mut out = String::new();
    for (n, l) in lines.iter().enumerate() {
        out.push('|');
        for (i, c) in l.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            // Text columns left, figures right.
            if i == 0 || i >= 6 {
                out.push_str(&format!(" {c}{} |", " ".repeat(pad)));
            } else {
                out.push_str(&format!(" {}{c} |", " ".repeat(pad)));
            }
        }
        out.push('\n');
        if n == 0 {
            out.push('|');
            for (i, w) in widths.iter().enumerate() {
                if i == 0 || i >= 6 {
                    out.push_str(&format!(":{}|", "-".repeat(w + 1)));
                } else {
                    out.push_str(&format!("{}:|", "-".repeat(w + 1)));
                }
            }
            out.push('\n');
        }
    }
    out
}

/// Bytes as KB (1 KB = 1024 bytes) with one decimal.
pub fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

pub fn ms(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

pub fn ratio(a: f64, b: f64) -> String {
    if a.is_nan() || b.is_nan() || b == 0.0 { "–".into() } else { format!("{:.2}×", a / b) }
}

pub fn mb(bytes: f64) -> String {
    if bytes.is_nan() { "–".into() } else { format!("{:.1} MB", bytes / (1024.0 * 1024.0)) }
}
