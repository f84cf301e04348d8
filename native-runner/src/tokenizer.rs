//! `--tokenizer cl100k`: the users report's tokens counted as the seed's
//! ETL-2 counted them, with OpenAI's `cl100k_base` (tiktoken). The
//! vocabulary is compiled into the binary; nothing is downloaded.

use std::sync::OnceLock;

use tally_core::users::Tokenizer;

/// The encoding, built once (about a tenth of a second) on first use.
fn cl100k() -> &'static tiktoken_rs::CoreBPE {
    static BPE: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    // The vocabulary ships inside the crate, so building it cannot fail on a good build.
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().expect("the cl100k_base vocabulary built into tiktoken-rs"))
}

/// Tokens of `text`; special-token text (`<|endoftext|>`) is counted as
/// ordinary text, as tiktoken's `encode(text, disallowed_special=())` does.
fn count(text: &str) -> u64 {
    cl100k().encode_ordinary(text).len() as u64
}

/// The `cl100k_base` counter.
pub const CL100K: Tokenizer = Tokenizer { name: "cl100k_base", count };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_as_tiktoken_does() {
        // tiktoken 0.14: len(get_encoding("cl100k_base").encode(text, disallowed_special=())).
        let cases = [
            ("", 0),
            ("hello world", 2),
            ("¿Cuál es el costo total?", 8),
            ("<|endoftext|>", 7),
            ("=cmd|' /C calc'!A0\n\"quoted\"", 15),
            ("   multiple   spaces\n\n\nand 12345678 digits 😀", 12),
        ];
        for (text, tokens) in cases {
            assert_eq!((CL100K.count)(text), tokens, "{text:?}");
        }
    }
}
