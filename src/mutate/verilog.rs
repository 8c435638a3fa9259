//! Where a Verilog source can be mutated: a small lexer (comments, strings and compiler
//! directives are never touched) and the mutation operators, each a rule over the tokens
//! that yields edits — a byte range of the file and its replacement.
//!
//! | operator | change |
//! |---|---|
//! | `arith` | a binary `+` ↔ `-` (not in a declaration's range) |
//! | `compare` | `<` ↔ `<=`, `>` ↔ `>=` (`<=` only inside parentheses, where it is no assignment) |
//! | `equality` | `==` ↔ `!=` |
//! | `logic` | `&&` ↔ `\|\|` |
//! | `shift` | `<<` ↔ `>>`, `>>>` ↔ `>>`, and a literal shift amount ±1 |
//! | `constant` | a numeric literal ±1 (width and base kept; not in a declaration's range, nor a `parameter`'s default, which each instance may override) |
//! | `slice` | the msb of `[msb:lsb]` − 1, where it is a literal |
//! | `signed` | the keyword `signed` dropped; `$signed(` → `$unsigned(` |
//! | `reset` | a literal assigned in a reset branch (an `if` whose condition names `rst` or `reset`): 0 → 1, else → 0 |
//! | `condition` | `if (c)` → `if (!(c))` |

/// One way to change a source: bytes `start..end` become `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub replacement: String,
    /// The operator's name (the table above).
    pub operator: &'static str,
    /// What changes, for people: ``"`+` → `-`"``.
    pub change: String,
}

impl Edit {
    /// The source with this edit applied.
    pub fn apply(&self, text: &str) -> String {
        format!("{}{}{}", &text[..self.start], self.replacement, &text[self.end..])
    }

    /// The 1-based line the edit starts on.
    pub fn line(&self, text: &str) -> usize {
        text[..self.start].bytes().filter(|&b| b == b'\n').count() + 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Number,
    /// `$signed`, `$display`, …
    System,
    Op,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Operators, longest first.
const OPS: &[&str] = &[
    "<<<=", ">>>=", "===", "!==", "<<<", ">>>", "<=", ">=", "==", "!=", "&&", "||", "<<", ">>",
    "+:", "-:", "**", "->", "~&", "~|", "~^", "^~",
];

/// The code tokens of `text`: comments, strings, whitespace and compiler directives (with
/// a `` `define ``'s whole line) left out.
fn lex(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
        } else if c == b'`' {
            let s = i;
            i += 1;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            // A macro definition's body is the macro's, not code here.
            if &text[s..i] == "`define" {
                while i < b.len() && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
        } else if c == b'$' || c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            let kind = if c == b'$' { Kind::System } else { Kind::Ident };
            toks.push(Tok { kind, start: s, end: i });
        } else if c.is_ascii_digit() || (c == b'\'' && i + 1 < b.len() && b[i + 1] != b'{') {
            // 12, 8'hff, 'd3, 4'b10_01, 1.5 (the last is never mutated)
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            if i < b.len() && b[i] == b'\'' {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'?')
                {
                    i += 1;
                }
            }
            toks.push(Tok { kind: Kind::Number, start: s, end: i.max(s + 1) });
            i = i.max(s + 1);
        } else {
            let len = OPS.iter().find(|o| b[i..].starts_with(o.as_bytes())).map_or(1, |o| o.len());
            // Stay on a character boundary for anything outside ASCII.
            let mut end = i + len;
            while !text.is_char_boundary(end) {
                end += 1;
            }
            toks.push(Tok { kind: Kind::Op, start: i, end });
            i = end;
        }
    }
    toks
}

/// A literal's value and how to write another value the same way (`8'hff` → `8'h`, base 16).
fn literal(s: &str) -> Option<(u128, String, u32)> {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    match clean.split_once('\'') {
        None => Some((clean.parse().ok()?, String::new(), 10)),
        Some((width, rest)) => {
            let rest = rest.trim_start_matches(['s', 'S']);
            let signed = clean.contains("'s") || clean.contains("'S");
            let (base, digits) = rest.split_at(1.min(rest.len()));
            let radix = match base {
                "d" | "D" => 10,
                "h" | "H" => 16,
                "b" | "B" => 2,
                "o" | "O" => 8,
                _ => return None,
            };
            let v = u128::from_str_radix(digits, radix).ok()?;
            let prefix = format!("{width}'{}{base}", if signed { "s" } else { "" });
            Some((v, prefix, radix))
        }
    }
}

/// `v` written as `prefix` says; None when it does not fit a sized literal's width.
fn write_literal(v: u128, prefix: &str, radix: u32) -> Option<String> {
    if let Some((w, _)) = prefix.split_once('\'') {
        if let Ok(w) = w.parse::<u32>() {
            if w < 128 && v >> w != 0 {
                return None;
            }
        }
    }
    let digits = match radix {
        16 => format!("{v:x}"),
        2 => format!("{v:b}"),
        8 => format!("{v:o}"),
        _ => v.to_string(),
    };
    Some(format!("{prefix}{digits}"))
}

/// Keywords a declaration's range follows: a range after one is a width, not an index.
const DECLARATIONS: &[&str] = &[
    "input",
    "output",
    "inout",
    "wire",
    "reg",
    "logic",
    "localparam",
    "parameter",
    "integer",
    "genvar",
    "signed",
    "unsigned",
];

/// Every mutation of `text`, in source order.
pub fn mutations(text: &str) -> Vec<Edit> {
    let t = lex(text);
    let s = |k: usize| &text[t[k].start..t[k].end];
    let mut out = Vec::new();
    let mut edit = |k: usize, rep: &str, operator: &'static str| {
        out.push(Edit {
            start: t[k].start,
            end: t[k].end,
            replacement: rep.to_string(),
            operator,
            change: format!("`{}` → `{rep}`", s(k)),
        });
    };
    let mut paren = 0i32;
    // Open brackets: whether each is a declared width (after a declaration keyword).
    let mut brackets: Vec<bool> = Vec::new();
    // Inside a `parameter`'s default (at this parenthesis depth): every instance may give
    // its own value, so a changed default is no bug of the design; `localparam`s are.
    let mut default_at: Option<i32> = None;
    for k in 0..t.len() {
        let tok = s(k);
        match (default_at, tok) {
            (_, "parameter") => default_at = Some(paren),
            (Some(d), "," | ";") if paren == d => default_at = None,
            (Some(d), ")") if paren == d => default_at = None,
            _ => {}
        }
        if default_at.is_some() {
            if tok == "(" {
                paren += 1;
            } else if tok == ")" {
                paren -= 1;
            }
            continue;
        }
        let operand_before = k > 0
            && (matches!(t[k - 1].kind, Kind::Ident | Kind::Number)
                || matches!(s(k - 1), ")" | "]" | "}"));
        let in_width = brackets.iter().any(|&w| w);
        match (t[k].kind, tok) {
            (Kind::Op, "(") => paren += 1,
            (Kind::Op, ")") => paren -= 1,
            (Kind::Op, "[") => {
                let after = if k > 0 { s(k - 1) } else { "" };
                brackets.push(DECLARATIONS.contains(&after));
            }
            (Kind::Op, "]") => {
                brackets.pop();
            }
            (Kind::Op, "+") if operand_before && !in_width => edit(k, "-", "arith"),
            (Kind::Op, "-") if operand_before && !in_width => edit(k, "+", "arith"),
            (Kind::Op, "<") => edit(k, "<=", "compare"),
            (Kind::Op, ">") => edit(k, ">=", "compare"),
            (Kind::Op, "<=") if paren > 0 => edit(k, "<", "compare"),
            (Kind::Op, ">=") => edit(k, ">", "compare"),
            (Kind::Op, "==") => edit(k, "!=", "equality"),
            (Kind::Op, "!=") => edit(k, "==", "equality"),
            (Kind::Op, "&&") => edit(k, "||", "logic"),
            (Kind::Op, "||") => edit(k, "&&", "logic"),
            (Kind::Op, "<<") => edit(k, ">>", "shift"),
            (Kind::Op, ">>") => {
                edit(k, "<<", "shift");
                edit(k, ">>>", "shift");
            }
            (Kind::Op, ">>>") => edit(k, ">>", "shift"),
            (Kind::Ident, "signed") => edit(k, "", "signed"),
            (Kind::System, "$signed") => edit(k, "$unsigned", "signed"),
            _ => {}
        }
        // A shift amount, a slice's msb, a constant.
        if t[k].kind == Kind::Number {
            let Some((v, prefix, radix)) = literal(tok) else { continue };
            let prev = if k > 0 { s(k - 1) } else { "" };
            let next = t.get(k + 1).map_or("", |n| &text[n.start..n.end]);
            let shift_amount = matches!(prev, "<<" | ">>" | ">>>" | "<<<");
            if prev == "[" && next == ":" {
                if v > 0 {
                    if let Some(r) = write_literal(v - 1, &prefix, radix) {
                        edit(k, &r, "slice");
                    }
                }
            } else if !in_width {
                let op = if shift_amount { "shift" } else { "constant" };
                if let Some(r) = write_literal(v + 1, &prefix, radix) {
                    edit(k, &r, op);
                }
                if v > 0 {
                    if let Some(r) = write_literal(v - 1, &prefix, radix) {
                        edit(k, &r, op);
                    }
                }
            }
        }
    }
    out.extend(conditions(text, &t));
    out.extend(reset_values(text, &t));
    out.sort_by_key(|e| (e.start, e.end));
    out
}

/// The module whose body holds byte `offset` of `text`: the last `module NAME` before it.
pub fn module_at(text: &str, offset: usize) -> Option<String> {
    let t = lex(text);
    let s = |k: usize| &text[t[k].start..t[k].end];
    (0..t.len().saturating_sub(1))
        .rfind(|&k| t[k].start < offset && s(k) == "module" && t[k + 1].kind == Kind::Ident)
        .map(|k| s(k + 1).to_string())
}

/// The index of the `)` that closes the `(` at token `open`.
fn closing(text: &str, t: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (k, tok) in t.iter().enumerate().skip(open) {
        match &text[tok.start..tok.end] {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// `if (c)` → `if (!(c))`.
fn conditions(text: &str, t: &[Tok]) -> Vec<Edit> {
    let mut out = Vec::new();
    for k in 0..t.len().saturating_sub(1) {
        if &text[t[k].start..t[k].end] != "if" || &text[t[k + 1].start..t[k + 1].end] != "(" {
            continue;
        }
        let Some(close) = closing(text, t, k + 1) else { continue };
        let cond = &text[t[k + 1].end..t[close].start];
        out.push(Edit {
            start: t[k + 1].start,
            end: t[close].end,
            replacement: format!("(!({cond}))"),
            operator: "condition",
            change: format!("`if ({})` → `if (!({}))`", cond.trim(), cond.trim()),
        });
    }
    out
}

/// A literal assigned in a reset branch: 0 → 1, anything else → 0.
fn reset_values(text: &str, t: &[Tok]) -> Vec<Edit> {
    let s = |k: usize| &text[t[k].start..t[k].end];
    let mut out = Vec::new();
    let mut k = 0;
    while k + 1 < t.len() {
        if s(k) != "if" || s(k + 1) != "(" {
            k += 1;
            continue;
        }
        let Some(close) = closing(text, t, k + 1) else { break };
        let names_reset = (k + 2..close).any(|j| {
            t[j].kind == Kind::Ident && {
                let n = s(j).to_ascii_lowercase();
                n.contains("rst") || n.contains("reset")
            }
        });
        if !names_reset {
            k += 1;
            continue;
        }
        // The branch: one statement, or a begin … end block.
        let mut j = close + 1;
        let mut depth = 0;
        while j < t.len() {
            match s(j) {
                "begin" => depth += 1,
                "end" => depth -= 1,
                ";" if depth == 0 => break,
                _ => {}
            }
            if depth == 0 && s(j) == "end" {
                break;
            }
            if s(j) == "<=" && j + 2 < t.len() && t[j + 1].kind == Kind::Number && s(j + 2) == ";" {
                if let Some((v, prefix, radix)) = literal(s(j + 1)) {
                    let new = if v == 0 { 1 } else { 0 };
                    if let Some(r) = write_literal(new, &prefix, radix) {
                        out.push(Edit {
                            start: t[j + 1].start,
                            end: t[j + 1].end,
                            replacement: r.clone(),
                            operator: "reset",
                            change: format!("reset value `{}` → `{r}`", s(j + 1)),
                        });
                    }
                }
            }
            j += 1;
        }
        k = close + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "\
// a comment with + and < in it
module m #(parameter integer W = 8) (
  input  wire clk_i, input wire rst_ni,
  input  wire signed [W-1:0] a_i,
  output reg  [W:0] q_o
);
  localparam [3:0] Max = 4'd12;
  wire [7:0] s = a_i[7:4] + 3;
  always @(posedge clk_i) begin
    if (!rst_ni) begin
      q_o <= 9'h0;
    end else if (a_i > Max && s <= 8'hff) q_o <= q_o - (a_i >>> 2);
  end
  initial $display(\"a + b < c\");
endmodule
";

    fn changes(op: &str) -> Vec<(usize, String)> {
        mutations(SRC)
            .into_iter()
            .filter(|e| e.operator == op)
            .map(|e| (e.line(SRC), e.change))
            .collect()
    }

    #[test]
    fn operators_find_their_places_and_only_code() {
        // Not in the comment, the string or the declaration widths `[W-1:0]`.
        assert_eq!(changes("arith"), [(8, "`+` → `-`".into()), (12, "`-` → `+`".into())]);
        // `<=` inside parentheses only: the assignments stay assignments.
        assert_eq!(changes("compare"), [(12, "`>` → `>=`".into()), (12, "`<=` → `<`".into())]);
        assert_eq!(changes("logic"), [(12, "`&&` → `||`".into())]);
        assert_eq!(
            changes("shift"),
            [(12, "`>>>` → `>>`".into()), (12, "`2` → `3`".into()), (12, "`2` → `1`".into())]
        );
        assert_eq!(
            changes("slice"),
            [(7, "`3` → `2`".into()), (8, "`7` → `6`".into()), (8, "`7` → `6`".into())]
        );
        assert_eq!(changes("signed"), [(4, "`signed` → ``".into())]);
        assert_eq!(changes("reset"), [(11, "reset value `9'h0` → `9'h1`".into())]);
        assert_eq!(
            changes("condition"),
            [
                (10, "`if (!rst_ni)` → `if (!(!rst_ni))`".into()),
                (12, "`if (a_i > Max && s <= 8'hff)` → `if (!(a_i > Max && s <= 8'hff))`".into())
            ]
        );
    }

    #[test]
    fn constants_keep_their_width_and_base() {
        let c = changes("constant");
        assert!(c.contains(&(7, "`4'd12` → `4'd13`".into())), "{c:?}");
        assert!(c.contains(&(7, "`4'd12` → `4'd11`".into())), "{c:?}");
        // 8'hff + 1 does not fit 8 bits: no such mutant.
        assert!(c.contains(&(12, "`8'hff` → `8'hfe`".into())), "{c:?}");
        assert!(!c.iter().any(|(_, ch)| ch.contains("8'h100")), "{c:?}");
        assert_eq!(write_literal(5, "4'b", 2).as_deref(), Some("4'b101"));
    }

    #[test]
    fn the_module_around_a_place() {
        let two = format!("{SRC}\nmodule n (input wire a);\n  wire b = a + 1;\nendmodule\n");
        let at = |needle: &str| module_at(&two, two.find(needle).unwrap());
        assert_eq!(at("a_i[7:4] + 3").as_deref(), Some("m"));
        assert_eq!(at("a + 1").as_deref(), Some("n"));
        assert_eq!(module_at(&two, 0), None);
    }

    #[test]
    fn an_edit_applies_where_it_says() {
        let e = mutations(SRC).into_iter().find(|e| e.operator == "arith").unwrap();
        let m = e.apply(SRC);
        assert!(m.contains("a_i[7:4] - 3"), "{m}");
        assert_eq!(m.len(), SRC.len());
    }
}
